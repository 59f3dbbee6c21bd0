"""Incident use cases: intake, fact edits, law-enforcement statements, team, lifecycle.

Every service that changes a fact ends in `_facts_changed`, which re-syncs the obligations in
the same transaction: a page never shows deadlines that disagree with the facts. Fact edits
are audited and put on the timeline as old → new values.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from datetime import date
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from incident_app.access import Capability
from incident_app.access import can
from incident_app.access import require
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.incident import IncidentStatus
from incident_app.models.incident import LawEnforcementStatement
from incident_app.models.incident import ReferenceCounter
from incident_app.models.incident import StateCount
from incident_app.models.incident import StatementForm
from incident_app.models.incident import as_jsonable
from incident_app.models.task import OPEN_TASK_STATUSES
from incident_app.models.task import Task
from incident_app.models.timeline import EntryKind
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import assessment
from incident_app.services import audit
from incident_app.services import options
from incident_app.services import review
from incident_app.services.incidents import tasks
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import can_work_on
from incident_app.services.incidents.access import case_role
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.organisation import get_organisation

S = IncidentStatus
# The lifecycle. Stepping back one stage is allowed where new facts can send a case back.
ALLOWED: dict[IncidentStatus, tuple[IncidentStatus, ...]] = {
    S.REPORTED: (S.CONTAINMENT, S.INVESTIGATION, S.CLOSED_NOT_A_BREACH),
    S.CONTAINMENT: (S.INVESTIGATION, S.CLOSED_NOT_A_BREACH),
    S.INVESTIGATION: (S.RISK_ASSESSMENT, S.CONTAINMENT, S.CLOSED_NOT_A_BREACH),
    S.RISK_ASSESSMENT: (S.NOTIFICATION, S.INVESTIGATION, S.CLOSED_NOT_A_BREACH),
    S.NOTIFICATION: (S.MONITORING, S.CLOSED),
    S.MONITORING: (S.CLOSED, S.NOTIFICATION),
    # Reopening (privacy officers only, with a reason) goes back to investigation.
    S.CLOSED: (S.INVESTIGATION,),
    S.CLOSED_NOT_A_BREACH: (S.INVESTIGATION,),
}
TEAM_ROLES = (Role.PRIVACY_OFFICER, Role.RESPONDER, Role.LEGAL)


@dataclass(frozen=True)
class StatementInput:
    """One law-enforcement statement as typed in (164.412)."""

    form: StatementForm
    official_name: str
    agency: str
    stated_on: date
    contact: str = ""
    delay_until: date | None = None
    written_received_on: date | None = None
    notes: str = ""


@dataclass(frozen=True)
class IncidentFacts:
    """The intake facts of an incident, as the intake and edit forms produce them."""

    title: str
    discovered_on: date | None
    description: str = ""
    how_found: str = ""
    reported_by: str = ""
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    discovered_by: str = ""
    diligence_known_on: date | None = None
    diligence_justification: str = ""
    breach_types: tuple[str, ...] = ()
    breach_type_other: str = ""
    locations: tuple[str, ...] = ()
    location_other: str = ""
    phi_types: tuple[str, ...] = ()
    safeguards: tuple[str, ...] = ()
    systems_involved: str = ""
    affected_estimate: int = 0
    ba_involved: bool = False
    ba_name: str = ""
    ba_contact: str = ""
    ba_discovered_on: date | None = None
    ba_notified_on: date | None = None
    ba_is_agent: bool | None = None
    # Typed-in estimates per USPS state code (StateCount rows with source "estimate").
    state_estimates: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, incident: Incident) -> IncidentFacts:
        """The stored facts of `incident` (the edit form starts from these)."""
        values = {
            f.name: getattr(incident, f.name) for f in fields(cls) if f.name != "state_estimates"
        }
        for name in ("breach_types", "locations", "phi_types", "safeguards"):
            values[name] = tuple(values[name] or ())
        estimates = {
            c.state: c.residents for c in incident.state_counts if c.source == CountSource.ESTIMATE
        }
        return cls(**values, state_estimates=estimates)


COLUMN_FACTS = tuple(f.name for f in fields(IncidentFacts) if f.name != "state_estimates")
FACT_LABELS = {
    "title": "Title",
    "description": "What happened",
    "how_found": "How it was found",
    "reported_by": "Reported by",
    "occurred_from": "Occurred from",
    "occurred_to": "Occurred to",
    "discovered_on": "Discovered on",
    "discovered_by": "Discovered by",
    "diligence_known_on": "Would have been known on",
    "diligence_justification": "Reasonable-diligence justification",
    "breach_types": "Type of breach",
    "breach_type_other": "Type of breach (other)",
    "locations": "Location of the information",
    "location_other": "Location (other)",
    "phi_types": "PHI involved",
    "safeguards": "Safeguards in place",
    "systems_involved": "Systems involved",
    "affected_estimate": "Estimated individuals affected",
    "ba_involved": "Business associate involved",
    "ba_name": "Business associate",
    "ba_contact": "Business associate contact",
    "ba_discovered_on": "Business associate discovered on",
    "ba_notified_on": "Business associate notified us on",
    "ba_is_agent": "Business associate is our agent",
    "state_estimates": "Estimated per state",
}
BA_FACTS = ("ba_name", "ba_contact", "ba_discovered_on", "ba_notified_on", "ba_is_agent")


# --- time zone -----------------------------------------------------------------------------


def org_zone(session: Session) -> ZoneInfo:
    """The organisation's time zone: times are shown and "today" is judged in it."""
    return ZoneInfo(get_organisation(session).timezone)


def local_today(session: Session, now: datetime) -> date:
    return now.astimezone(org_zone(session)).date()


# --- validation ----------------------------------------------------------------------------


def validate_facts(facts: IncidentFacts, *, today: date, zone: ZoneInfo) -> None:
    """Raise ValidationFailed (field = the form field) for the first fact that breaks a rule."""
    if not facts.title.strip():
        raise ValidationFailed("Give the incident a short title.", field="title")
    _validate_dates(facts, today=today, zone=zone)
    _validate_choices(facts)
    _validate_counts(facts)
    _validate_ba(facts, today=today)


def _validate_dates(facts: IncidentFacts, *, today: date, zone: ZoneInfo) -> None:
    if facts.discovered_on is None:
        raise ValidationFailed("Enter the date the incident was discovered.", field="discovered_on")
    if facts.discovered_on > today:
        raise ValidationFailed(
            f"The discovery date {facts.discovered_on} is in the future (today is {today}).",
            field="discovered_on",
        )
    start, end = facts.occurred_from, facts.occurred_to
    if start is not None and end is not None and end < start:
        raise ValidationFailed(
            "The end of the occurrence is before its start.", field="occurred_to"
        )
    if start is not None and facts.discovered_on < start.astimezone(zone).date():
        raise ValidationFailed(
            f"The discovery date {facts.discovered_on} is before the incident started "
            f"({start.astimezone(zone):%Y-%m-%d}): it cannot be found before it happened.",
            field="discovered_on",
        )
    if facts.diligence_known_on is not None:
        if facts.diligence_known_on > today:
            raise ValidationFailed(
                "The reasonable-diligence date cannot be in the future.", field="diligence_known_on"
            )
        if not facts.diligence_justification.strip():
            raise ValidationFailed(
                "Say why the breach would have been known on that date with reasonable diligence.",
                field="diligence_justification",
            )


def _validate_choices(facts: IncidentFacts) -> None:
    for name in options.OCR_LISTS:
        unknown = sorted(set(getattr(facts, name)) - options.codes(name))
        if unknown:
            raise ValidationFailed(
                f"Unknown choice(s) for {FACT_LABELS[name].lower()}: {', '.join(unknown)}.",
                field=name,
            )
    if "other" in facts.breach_types and not facts.breach_type_other.strip():
        raise ValidationFailed("Describe the other type of breach.", field="breach_type_other")
    if "other" in facts.locations and not facts.location_other.strip():
        raise ValidationFailed("Describe the other location.", field="location_other")


def _validate_counts(facts: IncidentFacts) -> None:
    if facts.affected_estimate < 0:
        raise ValidationFailed("The number affected cannot be negative.", field="affected_estimate")
    known = options.state_names()
    for state, count in facts.state_estimates.items():
        if state not in known:
            raise ValidationFailed(
                f"Unknown state code {state!r}: use a two-letter USPS code such as TX, DC or PR.",
                field="state_estimates",
            )
        if count < 0:
            raise ValidationFailed(
                f"The count for {state} cannot be negative.", field="state_estimates"
            )
    total = sum(facts.state_estimates.values())
    if total > facts.affected_estimate:
        raise ValidationFailed(
            f"The per-state counts add up to {total:,}, more than the {facts.affected_estimate:,} "
            "individuals affected. Raise the total or correct the states.",
            field="state_estimates",
        )


def _validate_ba(facts: IncidentFacts, *, today: date) -> None:
    if not facts.ba_involved:
        return
    if not facts.ba_name.strip():
        raise ValidationFailed("Name the business associate.", field="ba_name")
    for name in ("ba_discovered_on", "ba_notified_on"):
        day = getattr(facts, name)
        if day is not None and day > today:
            raise ValidationFailed(f"{FACT_LABELS[name]} cannot be in the future.", field=name)
    if (
        facts.ba_discovered_on
        and facts.ba_notified_on
        and facts.ba_notified_on < facts.ba_discovered_on
    ):
        raise ValidationFailed(
            "The business associate cannot have notified us before it discovered the breach.",
            field="ba_notified_on",
        )


def validate_statement(statement: StatementInput, *, today: date) -> None:
    if not statement.official_name.strip():
        raise ValidationFailed("Name the law-enforcement official.", field="le_official_name")
    if not statement.agency.strip():
        raise ValidationFailed("Name the agency.", field="le_agency")
    if statement.stated_on > today:
        raise ValidationFailed("The statement date cannot be in the future.", field="le_stated_on")
    if statement.form is StatementForm.WRITTEN and statement.delay_until is None:
        raise ValidationFailed(
            "A written statement specifies how long to delay (164.412(a)): enter the end date.",
            field="le_delay_until",
        )
    if statement.delay_until is not None and statement.delay_until < statement.stated_on:
        raise ValidationFailed(
            "The delay cannot end before the statement was made.", field="le_delay_until"
        )
    received = statement.written_received_on
    if received is not None and received < statement.stated_on:
        raise ValidationFailed(
            "The written confirmation cannot precede the oral statement.",
            field="le_written_received_on",
        )


# --- intake --------------------------------------------------------------------------------


def open_incident(
    session: Session,
    *,
    actor: User,
    facts: IncidentFacts,
    now: datetime,
    statements: Sequence[StatementInput] = (),
    checklist_ids: Sequence[int] | None = None,
) -> Incident:
    """Open an incident with its facts, give it a BD-YYYY-NNNN reference, make the opener the
    case lead and seed tasks from checklists (those chosen, else those for its breach types).

    Raises NotAllowed, ValidationFailed. Commits once.
    """
    require(actor, Capability.OPEN_INCIDENTS)
    zone, today = org_zone(session), local_today(session, now)
    validate_facts(facts, today=today, zone=zone)
    for statement in statements:
        validate_statement(statement, today=today)
    incident = Incident(
        reference=next_reference(session, year=now.astimezone(zone).year),
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    _apply_columns(incident, facts)
    session.add(incident)
    session.flush()
    _replace_estimates(session, incident, facts.state_estimates)
    for statement in statements:
        _add_statement(session, incident, statement, actor, now)
    session.add(
        IncidentMember(
            incident_id=incident.id,
            user_id=actor.id,
            case_role=CaseRole.LEAD,
            added_at=now,
            added_by_id=actor.id,
        )
    )
    seeded = tasks.seed_from_checklists(
        session, incident=incident, actor=actor, now=now, today=today, template_ids=checklist_ids
    )
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.STATUS,
        at=now,
        actor=actor,
        text=f"Incident {incident.reference} opened ({incident.status.label}); "
        f"{seeded} task(s) from checklists.",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.opened",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details={"reference": incident.reference, "title": incident.title},
    )
    _facts_changed(session, incident, actor, now)
    session.commit()
    return incident


def next_reference(session: Session, *, year: int) -> str:
    """The next BD-YYYY-NNNN. The counter row is created if missing (ON CONFLICT DO NOTHING)
    and incremented with one UPDATE … RETURNING, which holds the row lock until commit, so
    concurrent intakes queue and never share a number (PostgreSQL and SQLite alike)."""
    dialect_insert = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    session.execute(
        dialect_insert(ReferenceCounter)
        .values(year=year, last_number=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    number = session.execute(
        sa.update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + 1)
        .returning(ReferenceCounter.last_number)
    ).scalar_one()
    return f"BD-{year}-{number:04d}"


def _apply_columns(incident: Incident, facts: IncidentFacts) -> None:
    for name in COLUMN_FACTS:
        value = getattr(facts, name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, str):
            value = value.strip()
        if name in BA_FACTS and not facts.ba_involved:
            value = None if name in ("ba_discovered_on", "ba_notified_on", "ba_is_agent") else ""
        setattr(incident, name, value)


def _replace_estimates(session: Session, incident: Incident, estimates: Mapping[str, int]) -> None:
    for row in list(incident.state_counts):
        if row.source == CountSource.ESTIMATE:
            incident.state_counts.remove(row)
    session.flush()
    for state, residents in sorted(estimates.items()):
        incident.state_counts.append(
            StateCount(source=CountSource.ESTIMATE, state=state, residents=residents)
        )


def _add_statement(
    session: Session, incident: Incident, statement: StatementInput, actor: User, now: datetime
) -> LawEnforcementStatement:
    row = LawEnforcementStatement(
        incident_id=incident.id,
        form=statement.form,
        official_name=statement.official_name.strip(),
        agency=statement.agency.strip(),
        contact=statement.contact.strip(),
        stated_on=statement.stated_on,
        delay_until=statement.delay_until,
        written_received_on=statement.written_received_on,
        notes=statement.notes.strip(),
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(row)
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.FACT,
        at=now,
        actor=actor,
        text=f"Law-enforcement statement recorded: {statement.form.value} statement "
        f"by {row.official_name} ({row.agency}) on {row.stated_on}"
        + (f", delay until {row.delay_until}" if row.delay_until else "")
        + ".",
    )
    return row


def _facts_changed(session: Session, incident: Incident, actor: User, now: datetime) -> None:
    """Every fact change ends here: obligations are recomputed in the same transaction."""
    incident.updated_at = now
    obligation_sync.sync(session, incident=incident, now=now, actor=actor)


# --- fact edits ----------------------------------------------------------------------------


def update_facts(
    session: Session, *, actor: User, incident_id: int, facts: IncidentFacts, now: datetime
) -> dict[str, list[Any]]:
    """Store changed facts; each change is audited and put on the timeline (old → new).

    Returns the changes. Raises NotFound, NotAllowed, InvalidTransition (closed incident),
    ValidationFailed. Commits once.
    """
    incident = _get_editable(session, actor=actor, incident_id=incident_id)
    validate_facts(facts, today=local_today(session, now), zone=org_zone(session))
    before = IncidentFacts.of(incident)
    _apply_columns(incident, facts)
    after = IncidentFacts.of(incident)
    changes = {
        name: [_jsonable(getattr(before, name)), _jsonable(getattr(after, name))]
        for name in COLUMN_FACTS
        if getattr(before, name) != getattr(after, name)
    }
    if dict(before.state_estimates) != dict(facts.state_estimates):
        changes["state_estimates"] = [
            _states_text(before.state_estimates),
            _states_text(facts.state_estimates),
        ]
        _replace_estimates(session, incident, facts.state_estimates)
    for name, (old, new) in changes.items():
        timeline.add(
            session,
            incident_id=incident.id,
            kind=EntryKind.FACT,
            at=now,
            actor=actor,
            text=f"{FACT_LABELS[name]}: {_shown(old)} → {_shown(new)}",
            details={"field": name, "old": old, "new": new},
        )
    if changes:
        audit.record(
            session,
            actor=actor,
            action="incident.facts_updated",
            at=now,
            subject_type="incident",
            subject_id=incident.id,
            incident_id=incident.id,
            details=changes,
        )
        _facts_changed(session, incident, actor, now)
    session.commit()
    return changes


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else as_jsonable(value)


def _states_text(estimates: Mapping[str, int]) -> str:
    return ", ".join(f"{state} {count}" for state, count in sorted(estimates.items()))


def _shown(value: Any) -> str:
    if value in (None, "", []):
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _get_editable(session: Session, *, actor: User, incident_id: int) -> Incident:
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    if incident.status.is_closed:
        raise InvalidTransition("This incident is closed. Reopen it to change its facts.")
    return incident


def add_statement(
    session: Session, *, actor: User, incident_id: int, statement: StatementInput, now: datetime
) -> LawEnforcementStatement:
    """Record another law-enforcement statement; deadlines are recomputed. Commits once."""
    incident = _get_editable(session, actor=actor, incident_id=incident_id)
    validate_statement(statement, today=local_today(session, now))
    row = _add_statement(session, incident, statement, actor, now)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="incident.le_statement_added",
        at=now,
        subject_type="law_enforcement_statement",
        subject_id=row.id,
        incident_id=incident.id,
        details={
            "form": row.form.value,
            "official": row.official_name,
            "agency": row.agency,
            "stated_on": row.stated_on,
            "delay_until": row.delay_until,
        },
    )
    _facts_changed(session, incident, actor, now)
    session.commit()
    return row


# --- reading -------------------------------------------------------------------------------


def get_incident(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident with its team, counts and statements loaded; NotFound for non-members."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    session.scalars(
        sa.select(IncidentMember)
        .where(IncidentMember.incident_id == incident.id)
        .options(selectinload(IncidentMember.user))
    ).all()
    return incident


def may_work_on(session: Session, *, actor: User, incident: Incident) -> bool:
    return can_work_on(session, actor=actor, incident=incident)


# --- team ----------------------------------------------------------------------------------


def may_manage_team(session: Session, *, actor: User, incident: Incident) -> bool:
    """Privacy officers and the case lead manage the team."""
    if can(actor, Capability.MANAGE_ALL_INCIDENTS):
        return True
    return case_role(session, incident_id=incident.id, user_id=actor.id) is CaseRole.LEAD


def team(session: Session, *, actor: User, incident_id: int) -> list[IncidentMember]:
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(IncidentMember)
            .where(IncidentMember.incident_id == incident.id)
            .options(selectinload(IncidentMember.user))
            .order_by(IncidentMember.added_at)
        )
    )


def team_candidates(session: Session, *, actor: User, incident_id: int) -> list[User]:
    """Active people who could join: privacy officers, responders and legal reviewers."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    members = sa.select(IncidentMember.user_id).where(IncidentMember.incident_id == incident.id)
    return list(
        session.scalars(
            sa.select(User)
            .where(User.active.is_(True), User.role.in_(TEAM_ROLES), User.id.not_in(members))
            .order_by(User.name)
        )
    )


def add_member(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    user_id: int,
    case_role: CaseRole,
    now: datetime,
) -> IncidentMember:
    """Put a person on the team. Raises NotFound, NotAllowed, ValidationFailed. Commits once."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    if not may_manage_team(session, actor=actor, incident=incident):
        raise NotAllowed("Only a privacy officer or the case lead can change the team.")
    user = session.get(User, user_id)
    _check_new_member(session, incident, user, case_role)
    member = IncidentMember(
        incident_id=incident.id,
        user_id=user.id,
        case_role=case_role,
        added_at=now,
        added_by_id=actor.id,
    )
    session.add(member)
    session.flush()
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.TEAM,
        at=now,
        actor=actor,
        text=f"{user.name} joined the team as {case_role.label.lower()}.",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.member_added",
        at=now,
        subject_type="incident_member",
        subject_id=member.id,
        incident_id=incident.id,
        details={"user": user.email, "case_role": case_role.value},
    )
    session.commit()
    return member


def _check_new_member(
    session: Session, incident: Incident, user: User | None, role: CaseRole
) -> None:
    if user is None or not user.active:
        raise ValidationFailed("Choose an active user.", field="user_id")
    if user.role not in TEAM_ROLES:
        raise ValidationFailed(
            f"{user.name} is {user.role.label.lower()}: only privacy officers, responders and "
            "legal reviewers join a response team.",
            field="user_id",
        )
    if user.role is Role.LEGAL and role is not CaseRole.LEGAL:
        raise ValidationFailed(
            "A legal reviewer joins the team in the legal role.", field="case_role"
        )
    if case_role(session, incident_id=incident.id, user_id=user.id) is not None:
        raise ValidationFailed(f"{user.name} is already on the team.", field="user_id")


def remove_member(
    session: Session, *, actor: User, incident_id: int, member_id: int, now: datetime
) -> None:
    """Take a person off the team; refused while they still have open tasks. Commits once."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    if not may_manage_team(session, actor=actor, incident=incident):
        raise NotAllowed("Only a privacy officer or the case lead can change the team.")
    member = session.get(IncidentMember, member_id)
    if member is None or member.incident_id != incident.id:
        raise NotFound("No such team member.")
    open_tasks = session.scalar(
        sa.select(sa.func.count())
        .select_from(Task)
        .where(
            Task.incident_id == incident.id,
            Task.assignee_id == member.user_id,
            Task.status.in_(OPEN_TASK_STATUSES),
        )
    )
    if open_tasks:
        raise ValidationFailed(
            f"{member.user.name} still has {open_tasks} open task(s) on this incident: "
            "reassign them first.",
            field="member",
        )
    name, email = member.user.name, member.user.email
    session.delete(member)
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.TEAM,
        at=now,
        actor=actor,
        text=f"{name} left the team.",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.member_removed",
        at=now,
        subject_type="incident_member",
        subject_id=member_id,
        incident_id=incident.id,
        details={"user": email},
    )
    session.commit()


# --- lifecycle -----------------------------------------------------------------------------


def allowed_transitions(incident: Incident) -> tuple[IncidentStatus, ...]:
    return ALLOWED[incident.status]


def transition(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    to: IncidentStatus,
    now: datetime,
    reason: str = "",
) -> Incident:
    """Move the incident along its lifecycle. Reopening needs a privacy officer and a reason;
    closing as not a breach needs a signed determination (see `_not_a_breach_basis`).

    Raises NotFound, NotAllowed, InvalidTransition (409: the message lists what is allowed),
    ValidationFailed (missing reason). Commits once.
    """
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    current, reason = incident.status, reason.strip()
    if to not in ALLOWED[current]:
        allowed = ", ".join(s.label for s in ALLOWED[current])
        raise InvalidTransition(
            f"An incident in “{current.label}” cannot move to “{to.label}”. "
            f"From here it can move to: {allowed}."
        )
    details: dict[str, Any] = {"from": current.value, "to": to.value}
    if current.is_closed:
        _check_reopen(actor, reason)
    if to is S.CLOSED_NOT_A_BREACH:
        details["basis"] = _not_a_breach_basis(session, actor, incident, reason)
    _check_closing_rules(session, incident, to)
    if reason:
        details["reason"] = reason
    incident.status = to
    incident.closed_at = now if to.is_closed else None
    incident.updated_at = now
    verb = "reopened" if current.is_closed else "moved"
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.STATUS,
        at=now,
        actor=actor,
        text=f"Status {verb}: {current.label} → {to.label}"
        + (f". Reason: {reason}" if reason else "."),
        details=details,
    )
    audit.record(
        session,
        actor=actor,
        action="incident.status_changed",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details=details,
    )
    session.commit()
    return incident


def _check_closing_rules(session: Session, incident: Incident, to: IncidentStatus) -> None:
    """Closing as a breach waits for what the organisation requires (a signed post-incident
    review, when that setting is on: services.review.closure_blockers)."""
    if to is S.CLOSED:
        blockers = review.closure_blockers(session, incident)
        if blockers:
            raise InvalidTransition(" ".join(blockers))


def _check_reopen(actor: User, reason: str) -> None:
    if not can(actor, Capability.MANAGE_ALL_INCIDENTS):
        raise NotAllowed("Only a privacy officer can reopen a closed incident.")
    if not reason:
        raise ValidationFailed("Say why the incident is reopened.", field="reason")


def _not_a_breach_basis(session: Session, actor: User, incident: Incident, reason: str) -> str:
    """Closing as "not a breach" needs the signed documentation 164.414(b) puts the burden
    of proof on: a low-probability conclusion, secured PHI or an exception (assessment)."""
    basis = assessment.closure_basis(session, incident)
    if basis is None:
        raise InvalidTransition(
            "This incident cannot be closed as not a breach yet: it needs a signed risk "
            "assessment that documents a low probability of compromise, secured PHI, an "
            "exception or that no breach of PHI occurred."
        )
    return basis
