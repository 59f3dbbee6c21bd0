"""What happens to each incident: its team, its lifecycle and its risk assessment, decided
before anything is written (a Plan), from the drawn facts and the caller's RNG."""

from __future__ import annotations

import random
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import time as dtime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from incident_app.demo import drawing
from incident_app.demo.staff import Staff
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentStatus
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.incidents.facts import IncidentFacts
from incident_app.services.incidents.statements import StatementInput

S = IncidentStatus

# Risk assessment answers (services.assessment): a documented breach, and a documented low
# probability of compromise that allows closing as not a breach.
BREACH_ANSWERS: dict[str, Any] = {
    "phi_involved": "yes",
    "use_permitted": "no",
    "safeguard": "none",
    "f1_identifiers": ["names", "date_of_birth", "medical_record_number"],
    "f1_sensitivity": "high",
    "f1_reidentification": "high",
    "f1_narrative": "Names, dates of birth and record numbers, with diagnoses for some.",
    "f2_recipient": "unknown",
    "f2_narrative": "Who obtained the data is not known.",
    "f3_acquired": "unknown",
    "f3_narrative": "Forensics could not rule out access.",
    "f4_mitigation": "partial",
    "f4_narrative": "Access cut off; copies may remain.",
    "conclusion": "breach",
    "rationale": "Unknown recipient and possible acquisition.",
}
LOW_RISK_ANSWERS: dict[str, Any] = {
    "phi_involved": "yes",
    "use_permitted": "no",
    "safeguard": "none",
    "f1_identifiers": ["names"],
    "f1_sensitivity": "low",
    "f1_reidentification": "low",
    "f1_narrative": "Names and appointment times only.",
    "f2_recipient": "covered_entity",
    "f2_narrative": "Received by another covered entity.",
    "f3_acquired": "no",
    "f3_narrative": "The recipient attests it was not opened.",
    "f4_mitigation": "returned_or_destroyed",
    "f4_narrative": "Destruction attested in writing.",
    "conclusion": "low_probability",
    "rationale": "All four factors show a low risk.",
}
DRAFT_ANSWERS: dict[str, Any] = {
    "phi_involved": "yes",
    "use_permitted": "no",
    "safeguard": "none",
    "f3_acquired": "unknown",
    "conclusion": "undecided",
}


@dataclass
class Plan:
    """Everything that happens to one incident, decided before anything is written."""

    facts: IncidentFacts
    opener: User
    opened_at: datetime
    statements: tuple[StatementInput, ...] = ()
    team: list[tuple[datetime, User, CaseRole]] = field(default_factory=list)
    moves: list[tuple[datetime, IncidentStatus]] = field(default_factory=list)
    # (saved at, answers, signed by or None for a draft)
    assessment: tuple[datetime, dict[str, Any], User | None] | None = None


def plan_incident(
    rng: random.Random,
    draw: drawing.OcrDraw,
    staff: Staff,
    *,
    now: datetime,
    zone: ZoneInfo,
    allow_closed: bool,
) -> Plan:
    today = now.astimezone(zone).date()
    discovered = today - timedelta(days=rng.randint(1, drawing.HISTORY_DAYS))
    local_open = datetime.combine(
        discovered + timedelta(days=rng.choice((0, 0, 0, 1, 2))), dtime(8), zone
    ) + timedelta(minutes=rng.randint(0, 9 * 60))
    opened_at = min(local_open.astimezone(UTC), now - timedelta(minutes=rng.randint(5, 600)))
    opened_at = opened_at.replace(microsecond=0)
    opener = staff.pick(rng, rng.choice((Role.PRIVACY_OFFICER, Role.RESPONDER, Role.RESPONDER)))
    facts = drawing.incident_facts(rng, draw, discovered, zone)
    plan = Plan(
        facts=facts,
        opener=opener,
        opened_at=opened_at,
        statements=drawing.law_enforcement_statements(
            rng, discovered, opened_at.astimezone(zone).date()
        ),
    )
    _plan_team(rng, plan, staff, now)
    _plan_lifecycle(rng, plan, staff, now, allow_closed=allow_closed)
    return plan


def _plan_team(rng: random.Random, plan: Plan, staff: Staff, now: datetime) -> None:
    joining = [(staff.pick(rng, Role.RESPONDER), CaseRole.RESPONDER)]
    if rng.random() < 0.5:
        joining.append((staff.pick(rng, Role.LEGAL), CaseRole.LEGAL))
    at = plan.opened_at
    for user, role in joining:
        at += timedelta(minutes=rng.randint(10, 600))
        if at < now and user.id != plan.opener.id and all(u.id != user.id for _, u, _ in plan.team):
            plan.team.append((at, user, role))


# Days after discovery each stage is typically reached (low, high).
STAGE_DAYS = {
    S.CONTAINMENT: (0, 2),
    S.INVESTIGATION: (1, 7),
    S.RISK_ASSESSMENT: (5, 20),
    S.NOTIFICATION: (5, 25),
    S.MONITORING: (10, 40),
    S.CLOSED: (30, 150),
    S.CLOSED_NOT_A_BREACH: (3, 20),
}
BREACH_PATH = (
    S.CONTAINMENT,
    S.INVESTIGATION,
    S.RISK_ASSESSMENT,
    S.NOTIFICATION,
    S.MONITORING,
    S.CLOSED,
)
NOT_A_BREACH_PATH = (S.CONTAINMENT, S.INVESTIGATION, S.RISK_ASSESSMENT, S.CLOSED_NOT_A_BREACH)


def _plan_lifecycle(
    rng: random.Random, plan: Plan, staff: Staff, now: datetime, *, allow_closed: bool
) -> None:
    """Walk the lifecycle as far as the incident's age allows. The assessment is saved and
    signed just before notification (a breach) or closing as not a breach (low probability);
    an incident still in risk assessment may hold an unsigned draft."""
    small = plan.facts.affected_estimate < 500
    not_a_breach = rng.random() < (0.45 if small else 0.1)
    path: tuple[IncidentStatus, ...] = NOT_A_BREACH_PATH if not_a_breach else BREACH_PATH
    if not allow_closed:
        path = tuple(s for s in path if s is not S.CLOSED)
    if rng.random() < 0.08:  # some cases stall (a long investigation, a slow vendor)
        path = path[: rng.randint(0, len(path) - 1)]
    at = plan.opened_at
    for status in path:
        low, high = STAGE_DAYS[status]
        at += timedelta(days=rng.randint(low, high), minutes=rng.randint(5, 480))
        if at >= now:
            break
        if status in (S.NOTIFICATION, S.CLOSED_NOT_A_BREACH):
            answers = LOW_RISK_ANSWERS if status is S.CLOSED_NOT_A_BREACH else BREACH_ANSWERS
            plan.assessment = (
                at - timedelta(minutes=30),
                answers,
                staff.pick(rng, Role.PRIVACY_OFFICER),
            )
        plan.moves.append((at, status))
    if plan.moves and plan.moves[-1][1] is S.RISK_ASSESSMENT and rng.random() < 0.5:
        draft_at = plan.moves[-1][0] + timedelta(hours=rng.randint(1, 48))
        if draft_at < now:
            plan.assessment = (draft_at, DRAFT_ANSWERS, None)
