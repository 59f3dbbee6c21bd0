"""Demo and load-test data: a few years of a health system's incidents, drawn from OCR's listing.

`seed` fills a database with what the app itself would have written had people used it for
three years: users per role, incidents with BD-YYYY-NNNN references, teams, estimates per
state, law-enforcement statements, checklist tasks, risk assessments, lifecycle moves, the
obligations and determination the rules engine computes, the timeline and a valid audit chain;
then rosters imported through the real import service (encrypted PHI, blind indexes, counts,
obligation re-sync).

Ten thousand incidents through the per-request services would take most of an hour (~200 ORM
round trips per incident), so the incident history is computed in Python with the services'
own building blocks (`incidents.validate_facts`, `obligations.evaluate_incident`,
`assessment.clean_answers`/`outcome`, `audit.event_hash`) and written with bulk inserts in one
transaction. tests/cli/test_demo.py proves the result equal to the services' own: a re-sync
changes nothing, the audit chain verifies, and an incident opened through `open_incident`
gives the same rows. Everything is drawn from one seeded RNG: the same seed and the same
`now` give the same data.
"""

from __future__ import annotations

import csv
import json
import math
import random
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import clock
from incident_app import rules
from incident_app.crypto import KeyRing
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Determination
from incident_app.models.audit import GENESIS_HASH
from incident_app.models.audit import AuditChainHead
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.incident import IncidentStatus
from incident_app.models.incident import LawEnforcementStatement
from incident_app.models.incident import ReferenceCounter
from incident_app.models.incident import StateCount
from incident_app.models.incident import StatementForm
from incident_app.models.obligation import Obligation
from incident_app.models.ocr import BreachFlag
from incident_app.models.ocr import OcrBreach
from incident_app.models.roster import ImportMode
from incident_app.models.task import ChecklistTemplate
from incident_app.models.task import Task
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import assessment
from incident_app.services import audit
from incident_app.services import obligations
from incident_app.services import options
from incident_app.services.accounts import users
from incident_app.services.incidents.core import IncidentFacts
from incident_app.services.incidents.core import StatementInput
from incident_app.services.incidents.core import validate_facts
from incident_app.services.incidents.core import validate_statement
from incident_app.services.organisation import get_organisation
from incident_app.services.peers import comparison as peers
from incident_app.services.roster import upload as roster_upload
from incident_app.services.roster import worker as roster_worker
from incident_app.storage import FileStore

S = IncidentStatus
ACTOR_LABEL = "system (demo seed)"
HISTORY_DAYS = 3 * 365
FLUSH_INCIDENTS = 500
# How many demo users of each role; their addresses are demo-<role>-<n>@example.org.
STAFF = {Role.PRIVACY_OFFICER: 3, Role.RESPONDER: 8, Role.LEGAL: 2, Role.AUDITOR: 1, Role.ADMIN: 1}
# One roster per 50,000 people, at most 20 rosters, on open notification-stage incidents.
ROSTER_CHUNK = 50_000
MAX_ROSTERS = 20

FIRST_NAMES = [
    "Maria",
    "James",
    "Aisha",
    "Wei",
    "Carlos",
    "Olivia",
    "Dmitri",
    "Priya",
    "Kwame",
    "Sofia",
    "Liam",
    "Mei",
    "Diego",
    "Hannah",
    "Omar",
    "Grace",
    "Tomás",
    "Nia",
]
LAST_NAMES = [
    "Alvarez",
    "Chen",
    "Okafor",
    "Murphy",
    "Patel",
    "Kowalski",
    "Haddad",
    "Brooks",
    "Nakamura",
    "Rossi",
    "Fischer",
    "Mensah",
    "Lindqvist",
    "O'Neill",
    "Reyes",
    "Shah",
]
BA_NAMES = [
    "Northwind Billing Services",
    "Cedar Transcription LLC",
    "Summit Claims Processing",
    "Bluebird Cloud Hosting",
    "Harbor Records Storage",
    "Pinnacle IT Support",
    "Lakeside Mailing Co.",
    "Keystone Collections",
]
AGENCIES = [
    ("Det. Laura Kim", "Springfield Police Department"),
    ("Special Agent R. Diaz", "FBI Cyber Division"),
    ("Sgt. Paul Ferris", "State Police Computer Crimes Unit"),
]
TITLES = {
    "hacking": [
        "Ransomware on {loc}",
        "Phishing compromise of {loc}",
        "Intrusion detected on {loc}",
    ],
    "unauthorized_access": [
        "Records viewed without a work reason ({loc})",
        "Patient details sent to the wrong recipient ({loc})",
        "Access by a former workforce member ({loc})",
    ],
    "theft": ["Stolen {loc}", "{Loc} taken in a vehicle break-in"],
    "loss": ["Lost {loc}", "{Loc} missing after a clinic move"],
    "improper_disposal": ["Improper disposal of {loc}", "{Loc} found in general waste"],
}
OTHER_TITLES = ["Privacy incident involving {loc}", "Possible exposure of {loc}"]
HOW_FOUND = [
    "Security monitoring alert",
    "Reported by a patient",
    "Internal audit of access logs",
    "Reported by a workforce member",
    "Notice from the business associate",
    "Found during a routine records review",
]
SYSTEMS = [
    "Epic EHR",
    "Microsoft 365 mail",
    "File server FS-02",
    "Billing system",
    "Radiology PACS",
    "Paper charts, Records room B",
    "Patient portal",
]

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


@dataclass(frozen=True)
class SeedOptions:
    incidents: int
    roster: int
    seed: int = 42
    force_append: bool = False
    password: str = ""
    roster_workers: int = 0  # helper processes per import (the job: ROSTER_IMPORT_WORKERS)


@dataclass
class SeedReport:
    password: str
    users: list[tuple[str, str]] = field(default_factory=list)  # (email, role) created
    incidents: int = 0
    obligations: int = 0
    audit_events: int = 0
    rosters: int = 0
    roster_people: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


Progress = Callable[[str], None]


# --- the entry point ---------------------------------------------------------------------


def seed(
    session: Session,
    *,
    options_: SeedOptions,
    now: datetime,
    keyring: KeyRing,
    store: FileStore,
    progress: Progress = lambda message: None,
) -> SeedReport:
    """Fill the database with demo data. Refuses (ValidationFailed) a database that already
    holds incidents unless `force_append`. Commits: users one by one, the incident history
    once, then each roster import as the import service does."""
    _check_options(session, options_)
    report = SeedReport(password=options_.password)
    rng = random.Random(options_.seed)
    with _timed(report, "reference data"):
        draws = ocr_draws(session, now=now, progress=progress)
    with _timed(report, "users"):
        staff = _ensure_staff(session, rng, options_.password, now, report)
    with _timed(report, "incidents"):
        written = _write_history(session, rng, draws, staff, options_.incidents, now, progress)
    report.incidents, report.obligations, report.audit_events = written
    if options_.roster:
        with _timed(report, "rosters"):
            _import_rosters(session, rng, staff, options_, keyring, store, report, progress)
    _analyze(session)
    return report


def _analyze(session: Session) -> None:
    """Fresh planner statistics after a bulk load. Without them PostgreSQL answered the incident
    list's min(due_on) per incident from the (active, due_on) index: 93 s instead of 77 ms."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("ANALYZE"))
        session.commit()


class _timed:
    def __init__(self, report: SeedReport, name: str) -> None:
        self.report, self.name = report, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.report.seconds[self.name] = time.perf_counter() - self.started


def _check_options(session: Session, opts: SeedOptions) -> None:
    if opts.incidents < 1:
        raise ValidationFailed("Seed at least one incident.", field="incidents")
    if opts.roster < 0:
        raise ValidationFailed("The roster size cannot be negative.", field="roster")
    if len(opts.password) < users.PASSWORD_MIN_LENGTH:
        raise ValidationFailed(
            f"The demo password must be at least {users.PASSWORD_MIN_LENGTH} characters.",
            field="password",
        )
    existing = session.scalar(sa.select(sa.func.count()).select_from(Incident)) or 0
    if existing and not opts.force_append:
        raise ValidationFailed(
            f"This database already holds {existing:,} incident(s); the demo seed only fills "
            "an empty one. Use a fresh database, or pass --force-append to add demo incidents "
            "beside the existing ones.",
            field="force_append",
        )


# --- OCR reference data ------------------------------------------------------------------


@dataclass(frozen=True)
class OcrDraw:
    """What one OCR listing row contributes to a demo incident."""

    breach_types: tuple[str, ...]
    locations: tuple[str, ...]
    entity_type: str
    affected: int
    state: str | None
    ba_present: bool


def ocr_draws(session: Session, *, now: datetime, progress: Progress) -> list[OcrDraw]:
    """OCR's listing as draws (imported from the shipped file first when the table is
    empty), in a stable order so the same seed draws the same rows."""
    if not peers.breach_count(session):
        progress("Importing OCR's breach listing (reference data for the draws and peers)…")
        peers.import_file(
            session, path=peers.SHIPPED_CSV, actor=None, actor_label=ACTOR_LABEL, now=now
        )
    by_label = {
        name: {o.label: o.code for o in options.ocr_options(name)}
        for name in ("breach_types", "locations")
    }
    states = options.state_names()
    draws = []
    for row in session.scalars(sa.select(OcrBreach).order_by(OcrBreach.row_key)):
        if BreachFlag.OCR_DUPLICATE.value in (row.flags or []):
            continue
        draws.append(
            OcrDraw(
                breach_types=_codes(row.breach_types, by_label["breach_types"]),
                locations=_codes(row.locations, by_label["locations"]),
                entity_type=row.entity_type or "Healthcare Provider",
                affected=row.individuals_affected or peers.PLACEHOLDER_COUNT,
                state=row.state if row.state in states else None,
                ba_present=row.business_associate_present,
            )
        )
    return draws


def _codes(labels: list[str], by_label: dict[str, str]) -> tuple[str, ...]:
    """OCR labels → our option codes; an unlisted or empty value becomes "other"."""
    return tuple(dict.fromkeys(by_label.get(label, "other") for label in labels)) or ("other",)


# --- users -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    by_role: dict[Role, list[User]]

    def pick(self, rng: random.Random, role: Role) -> User:
        return rng.choice(self.by_role[role])


def _ensure_staff(
    session: Session, rng: random.Random, password: str, now: datetime, report: SeedReport
) -> Staff:
    """The demo users (reused when they exist, e.g. with --force-append). They are dated at
    the start of the seeded history, before the incidents they work on."""
    since = now - timedelta(days=HISTORY_DAYS + 7)
    by_role: dict[Role, list[User]] = {}
    for role, count in STAFF.items():
        for number in range(1, count + 1):
            email = f"demo-{role.value.replace('_', '-')}-{number}@example.org"
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            user = session.scalar(sa.select(User).where(User.email == email))
            if user is None:
                user = users.create_user(
                    session,
                    actor=None,
                    actor_label=ACTOR_LABEL,
                    email=email,
                    name=name,
                    role=role,
                    password=password,
                    now=since,
                )
                report.users.append((email, role.value))
            by_role.setdefault(role, []).append(user)
    return Staff(by_role)


# --- planning one incident ---------------------------------------------------------------


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
    draw: OcrDraw,
    staff: Staff,
    *,
    now: datetime,
    zone: ZoneInfo,
    allow_closed: bool,
) -> Plan:
    today = now.astimezone(zone).date()
    discovered = today - timedelta(days=rng.randint(1, HISTORY_DAYS))
    local_open = datetime.combine(
        discovered + timedelta(days=rng.choice((0, 0, 0, 1, 2))), dtime(8), zone
    ) + timedelta(minutes=rng.randint(0, 9 * 60))
    opened_at = min(local_open.astimezone(UTC), now - timedelta(minutes=rng.randint(5, 600)))
    opened_at = opened_at.replace(microsecond=0)
    opener = staff.pick(rng, rng.choice((Role.PRIVACY_OFFICER, Role.RESPONDER, Role.RESPONDER)))
    facts = _facts(rng, draw, discovered, zone)
    plan = Plan(
        facts=facts,
        opener=opener,
        opened_at=opened_at,
        statements=_statements(rng, discovered, opened_at.astimezone(zone).date()),
    )
    _plan_team(rng, plan, staff, now)
    _plan_lifecycle(rng, plan, staff, now, allow_closed=allow_closed)
    return plan


def _facts(rng: random.Random, draw: OcrDraw, discovered: date, zone: ZoneInfo) -> IncidentFacts:
    affected = _affected(rng, draw)
    loc_label = options.labels("locations", list(draw.locations[:1]))[0].lower()
    kind = draw.breach_types[0]
    title = rng.choice(TITLES.get(kind, OTHER_TITLES))
    started = datetime.combine(discovered - timedelta(days=rng.randint(0, 90)), dtime(12), zone)
    ended = min(
        started + timedelta(days=rng.randint(0, 30)), datetime.combine(discovered, dtime(0), zone)
    )
    ba = draw.ba_present or draw.entity_type == "Business Associate"
    return IncidentFacts(
        title=title.format(loc=loc_label, Loc=loc_label.capitalize()),
        discovered_on=discovered,
        description=(
            f"Drawn from OCR's listing ({draw.entity_type.lower()}, "
            f"{', '.join(options.labels('breach_types', list(draw.breach_types)))}); "
            "demo data."
        ),
        how_found=rng.choice(HOW_FOUND),
        reported_by=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        occurred_from=started.astimezone(UTC),
        occurred_to=max(started, ended).astimezone(UTC),
        discovered_by=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        breach_types=draw.breach_types,
        breach_type_other="Described in the notes" if "other" in draw.breach_types else "",
        locations=draw.locations,
        location_other="Described in the notes" if "other" in draw.locations else "",
        phi_types=tuple(sorted(rng.sample(sorted(options.codes("phi_types")), rng.randint(2, 5)))),
        safeguards=tuple(
            sorted(rng.sample(sorted(options.codes("safeguards") - {"none"}), rng.randint(1, 3)))
        ),
        systems_involved=rng.choice(SYSTEMS),
        affected_estimate=affected,
        state_estimates=_state_estimates(rng, draw, affected),
        **_ba_facts(rng, ba, discovered),
    )


def _affected(rng: random.Random, draw: OcrDraw) -> int:
    """Most incidents are small: OCR lists only breaches of 500 or more, so six in ten demo
    incidents get a size under 500 (log-uniform); the rest take the OCR row's count."""
    if rng.random() < 0.6:
        return int(math.exp(rng.uniform(0, math.log(499))))
    return draw.affected


def _state_estimates(rng: random.Random, draw: OcrDraw, affected: int) -> dict[str, int]:
    states = sorted(options.state_names())
    home = draw.state or rng.choice(states)
    if affected < 10 or rng.random() < 0.5:
        return {home: affected}
    others = rng.sample([s for s in states if s != home], rng.randint(1, 3))
    estimates = {home: affected}
    for state in others:
        share = rng.randint(1, max(1, estimates[home] // 4))
        estimates[home] -= share
        estimates[state] = share
    return estimates


def _ba_facts(rng: random.Random, involved: bool, discovered: date) -> dict[str, Any]:
    if not involved:
        return {}
    ba_discovered = discovered - timedelta(days=rng.randint(5, 50))
    return {
        "ba_involved": True,
        "ba_name": rng.choice(BA_NAMES),
        "ba_contact": "privacy@vendor.example.org",
        "ba_discovered_on": ba_discovered,
        "ba_notified_on": ba_discovered + timedelta(days=rng.randint(1, 5)),
        "ba_is_agent": False,
    }


def _statements(rng: random.Random, discovered: date, today: date) -> tuple[StatementInput, ...]:
    if rng.random() >= 0.02:
        return ()
    official, agency = rng.choice(AGENCIES)
    stated = min(discovered + timedelta(days=rng.randint(0, 3)), today)
    return (
        StatementInput(
            form=StatementForm.WRITTEN,
            official_name=official,
            agency=agency,
            stated_on=stated,
            delay_until=stated + timedelta(days=rng.randint(20, 90)),
        ),
    )


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
    path = NOT_A_BREACH_PATH if rng.random() < (0.45 if small else 0.1) else BREACH_PATH
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


# --- writing the history -----------------------------------------------------------------

# Parents before children: the order the buffered rows are inserted in.
TABLES = (
    Incident,
    LawEnforcementStatement,
    IncidentMember,
    StateCount,
    Task,
    AssessmentVersion,
    Obligation,
    Determination,
    TimelineEntry,
)
ObligationKey = tuple[str, str, str]


class _Writer:
    """Buffers rows per table with ids handed out here (so audit events can name them), and
    collects audit events to chain in time order at the end."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.next_id = {
            model: (session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
            for model in (*TABLES, AuditEvent)
        }
        self.rows: dict[type, list[dict[str, Any]]] = {model: [] for model in TABLES}
        self.events: list[tuple[datetime, int, int, dict[str, Any]]] = []

    def add(self, model: type, **values: Any) -> int:
        values["id"] = self.next_id[model]
        self.next_id[model] += 1
        self.rows[model].append(values)
        return values["id"]

    def timeline(
        self,
        incident_id: int,
        kind: EntryKind,
        at: datetime,
        actor: User,
        text: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        # As services.timeline.add stores it.
        self.add(
            TimelineEntry,
            incident_id=incident_id,
            kind=kind,
            category=None,
            text=text,
            occurred_at=at,
            recorded_at=at,
            actor_id=actor.id,
            corrects_id=None,
            details=json.loads(json.dumps(details or {}, default=str)),
        )

    def audit(
        self,
        at: datetime,
        actor: User,
        action: str,
        *,
        subject_type: str,
        subject_id: int,
        incident_id: int,
        details: dict[str, Any],
    ) -> None:
        self.events.append(
            (
                at,
                incident_id,
                len(self.events),
                {
                    "at": at.astimezone(UTC),
                    "actor_id": actor.id,
                    "actor_label": actor.email,
                    "action": action,
                    "subject_type": subject_type,
                    "subject_id": str(subject_id),
                    "incident_id": incident_id,
                    "details": json.loads(json.dumps(details, default=str, sort_keys=True)),
                },
            )
        )

    def flush(self) -> None:
        for model in TABLES:
            if self.rows[model]:
                self.session.execute(sa.insert(model), self.rows[model])
                self.rows[model] = []

    def chain_audit(self) -> int:
        """Append the collected events to the audit chain in time order (audit.record's
        hashing), under the chain head's lock; returns how many."""
        head = self.session.scalars(
            sa.select(AuditChainHead).where(AuditChainHead.id == audit.HEAD_ID).with_for_update()
        ).one_or_none()
        if head is None:
            head = AuditChainHead(id=audit.HEAD_ID, seq=0, last_hash=GENESIS_HASH)
            self.session.add(head)
        batch: list[dict[str, Any]] = []
        for _, _, _, values in sorted(self.events, key=lambda e: e[:3]):
            event = AuditEvent(seq=head.seq + 1, prev_hash=head.last_hash, **values)
            event.hash = audit.event_hash(event)
            head.seq, head.last_hash = event.seq, event.hash
            batch.append(
                {
                    **values,
                    "id": self.next_id[AuditEvent],
                    "seq": event.seq,
                    "prev_hash": event.prev_hash,
                    "hash": event.hash,
                }
            )
            self.next_id[AuditEvent] += 1
            if len(batch) >= 5000:
                self.session.execute(sa.insert(AuditEvent), batch)
                batch = []
        if batch:
            self.session.execute(sa.insert(AuditEvent), batch)
        return len(self.events)


def _write_history(
    session: Session,
    rng: random.Random,
    draws: list[OcrDraw],
    staff: Staff,
    count: int,
    now: datetime,
    progress: Progress,
) -> tuple[int, int, int]:
    org = get_organisation(session)
    zone = ZoneInfo(org.timezone)
    plans = [
        plan_incident(
            rng,
            rng.choice(draws),
            staff,
            now=now,
            zone=zone,
            allow_closed=not org.require_signed_review_to_close,
        )
        for _ in range(count)
    ]
    return write_incidents(session, plans, progress=progress)


def write_incidents(
    session: Session, plans: list[Plan], *, progress: Progress = lambda message: None
) -> tuple[int, int, int]:
    """Write the planned incidents (in the order they were opened) in one transaction, as
    the services would have; returns (incidents, active obligations, audit events).
    Raises ValidationFailed if a plan holds facts the intake form would refuse. Commits once.
    """
    plans = sorted(plans, key=lambda plan: plan.opened_at)  # stable: ties keep their order
    writer = _Writer(session)
    history = _History(session, writer, ZoneInfo(get_organisation(session).timezone))
    try:
        for done, plan in enumerate(plans, start=1):
            history.write(plan)
            if done % FLUSH_INCIDENTS == 0 or done == len(plans):
                writer.flush()
                progress(f"  incidents: {done:,}/{len(plans):,}")
    except ValidationFailed:
        session.rollback()  # nothing half-written
        raise
    events = writer.chain_audit()
    history.save_counters()
    _reset_sequences(session, (*TABLES, AuditEvent))
    session.commit()
    return len(plans), history.active_obligations, events


class _History:
    """Turns plans into the rows the services would have written for them."""

    def __init__(self, session: Session, writer: _Writer, zone: ZoneInfo) -> None:
        self.writer, self.zone = writer, zone
        self.counters = {
            row.year: row.last_number for row in session.scalars(sa.select(ReferenceCounter))
        }
        self.known_years = set(self.counters)
        self.session = session
        self.templates = [
            (t.name, set(t.breach_types), [(i.title, i.due_days) for i in t.items])
            for t in session.scalars(
                sa.select(ChecklistTemplate)
                .where(ChecklistTemplate.active.is_(True))
                .order_by(ChecklistTemplate.name)
            )
        ]
        self.active_obligations = 0

    def write(self, plan: Plan) -> None:
        case = _Case(self, plan)
        case.open()
        steps: list[tuple[datetime, int, Callable[[], None]]] = []
        for at, user, role in plan.team:
            steps.append(
                (at, 1, lambda at=at, user=user, role=role: case.add_member(at, user, role))
            )
        if plan.assessment is not None:
            steps.append((plan.assessment[0], 2, case.assess))
        for at, status in plan.moves:
            steps.append((at, 3, lambda at=at, status=status: case.move(at, status)))
        for _, _, step in sorted(steps, key=lambda s: s[:2]):
            step()
        case.finish()
        self.active_obligations += sum(1 for row in case.obligations.values() if row["active"])

    def next_reference(self, at: datetime) -> str:
        year = at.astimezone(self.zone).year
        self.counters[year] = self.counters.get(year, 0) + 1
        return f"BD-{year}-{self.counters[year]:04d}"

    def save_counters(self) -> None:
        for year, number in sorted(self.counters.items()):
            if year in self.known_years:
                self.session.execute(
                    sa.update(ReferenceCounter)
                    .where(ReferenceCounter.year == year)
                    .values(last_number=number)
                )
            else:
                self.session.execute(
                    sa.insert(ReferenceCounter), [{"year": year, "last_number": number}]
                )


class _Case:
    """One incident's rows, step by step, as the services write them."""

    def __init__(self, history: _History, plan: Plan) -> None:
        self.history, self.plan, self.w = history, plan, history.writer
        self.lead = plan.opener
        self.status = S.REPORTED
        self.updated_at = plan.opened_at
        self.closed_at: datetime | None = None
        self.version: AssessmentVersion | None = None
        self.obligations: dict[ObligationKey, dict[str, Any]] = {}
        self.determination: dict[str, Any] = {}
        self.incident = self._transient()

    def _transient(self) -> Incident:
        """An unsaved Incident holding the facts, for the rules engine."""
        facts = self.plan.facts
        incident = Incident(**self._columns(), roster_total=None, insufficient_contact_living=None)
        incident.state_counts = [
            StateCount(source=CountSource.ESTIMATE, state=state, residents=residents)
            for state, residents in sorted(facts.state_estimates.items())
        ]
        incident.law_enforcement_statements = [
            LawEnforcementStatement(**_statement_columns(s)) for s in self.plan.statements
        ]
        return incident

    def _columns(self) -> dict[str, Any]:
        facts = self.plan.facts
        return {
            f.name: list(getattr(facts, f.name))
            if isinstance(getattr(facts, f.name), tuple)
            else getattr(facts, f.name)
            for f in fields(IncidentFacts)
            if f.name != "state_estimates"
        }

    def open(self) -> None:
        """incidents.open_incident: facts, estimates, statements, lead, tasks, timeline, audit,
        obligations."""
        plan, at, lead = self.plan, self.plan.opened_at, self.lead
        today = at.astimezone(self.history.zone).date()
        validate_facts(plan.facts, today=today, zone=self.history.zone)
        for statement in plan.statements:
            validate_statement(statement, today=today)
        self.reference = self.history.next_reference(at)
        self.id = self.w.next_id[Incident]
        self.w.add(
            Incident,
            **self._columns(),
            reference=self.reference,
            status=S.REPORTED,
            created_by_id=lead.id,
            created_at=at,
            updated_at=at,
            closed_at=None,
            roster_total=None,
            insufficient_contact_living=None,
        )
        self.row = self.w.rows[Incident][-1]
        for row in self.incident.state_counts:
            self.w.add(
                StateCount,
                incident_id=self.id,
                source=row.source,
                state=row.state,
                residents=row.residents,
            )
        for statement in plan.statements:
            self._add_statement(statement, at)
        self.w.add(
            IncidentMember,
            incident_id=self.id,
            user_id=lead.id,
            case_role=CaseRole.LEAD,
            added_at=at,
            added_by_id=lead.id,
        )
        seeded = self._seed_tasks(at, today)
        self.w.timeline(
            self.id,
            EntryKind.STATUS,
            at,
            lead,
            f"Incident {self.reference} opened ({S.REPORTED.label}); "
            f"{seeded} task(s) from checklists.",
        )
        self.w.audit(
            at,
            lead,
            "incident.opened",
            subject_type="incident",
            subject_id=self.id,
            incident_id=self.id,
            details={"reference": self.reference, "title": plan.facts.title},
        )
        self._sync(at, lead)

    def _add_statement(self, statement: StatementInput, at: datetime) -> None:
        self.w.add(
            LawEnforcementStatement,
            incident_id=self.id,
            created_by_id=self.lead.id,
            created_at=at,
            **_statement_columns(statement),
        )
        self.w.timeline(
            self.id,
            EntryKind.FACT,
            at,
            self.lead,
            f"Law-enforcement statement recorded: {statement.form.value} statement by "
            f"{statement.official_name} ({statement.agency}) on {statement.stated_on}"
            + (f", delay until {statement.delay_until}" if statement.delay_until else "")
            + ".",
        )

    def _seed_tasks(self, at: datetime, today: date) -> int:
        """tasks.seed_from_checklists: the active templates for the incident's breach types."""
        seeded = 0
        for name, breach_types, items in self.history.templates:
            if not breach_types & set(self.plan.facts.breach_types):
                continue
            for title, due_days in items:
                self.w.add(
                    Task,
                    incident_id=self.id,
                    title=title,
                    assignee_id=None,
                    due_on=None if due_days is None else today + timedelta(days=due_days),
                    checklist_name=name,
                    created_by_id=self.lead.id,
                    created_at=at,
                    completed_at=None,
                )
                seeded += 1
        return seeded

    def add_member(self, at: datetime, user: User, role: CaseRole) -> None:
        """incidents.add_member, by the case lead."""
        member_id = self.w.add(
            IncidentMember,
            incident_id=self.id,
            user_id=user.id,
            case_role=role,
            added_at=at,
            added_by_id=self.lead.id,
        )
        self.w.timeline(
            self.id,
            EntryKind.TEAM,
            at,
            self.lead,
            f"{user.name} joined the team as {role.label.lower()}.",
        )
        self.w.audit(
            at,
            self.lead,
            "incident.member_added",
            subject_type="incident_member",
            subject_id=member_id,
            incident_id=self.id,
            details={"user": user.email, "case_role": role.value},
        )

    def assess(self) -> None:
        """assessment.save_assessment (signed by a privacy officer, or a draft by the lead)."""
        at, answers, signer = self.plan.assessment  # type: ignore[misc]
        actor = signer or self.lead
        cleaned = assessment.clean_answers(answers)
        result = assessment.outcome(cleaned, actor=actor)
        version = AssessmentVersion(
            incident_id=self.id,
            number=1,
            answers=cleaned,
            changes={k: [None, v] for k, v in cleaned.items() if v not in ("", False, [], None)},
            not_phi_or_permitted=result.not_phi_or_permitted,
            phi_secured=result.phi_secured,
            exception=result.exception,
            conclusion=result.conclusion,
            rationale=cleaned["rationale"],
            created_by_id=actor.id,
            created_at=at,
            signed_by_id=signer.id if signer else None,
            signed_at=at if signer else None,
        )
        version.id = self.w.add(
            AssessmentVersion,
            **{
                c.key: getattr(version, c.key)
                for c in AssessmentVersion.__table__.columns
                if c.key != "id"
            },
        )
        self.w.audit(
            at,
            actor,
            "assessment.saved",
            subject_type="assessment_version",
            subject_id=version.id,
            incident_id=self.id,
            details={"version": 1, "changed": sorted(version.changes)},
        )
        if signer is None:
            return
        self.version = version
        self.w.audit(
            at,
            signer,
            "assessment.signed",
            subject_type="assessment_version",
            subject_id=version.id,
            incident_id=self.id,
            details={
                "version": 1,
                "conclusion": version.conclusion.value,
                "phi_secured": version.phi_secured,
                "exception": version.exception,
            },
        )
        self._sync(at, signer)

    def move(self, at: datetime, to: IncidentStatus) -> None:
        """incidents.transition, by the case lead."""
        current = self.status
        details: dict[str, Any] = {"from": current.value, "to": to.value}
        if to is S.CLOSED_NOT_A_BREACH:
            details["basis"] = self._closure_basis()
        self.status, self.updated_at = to, at
        self.closed_at = at if to.is_closed else None
        self.w.timeline(
            self.id,
            EntryKind.STATUS,
            at,
            self.lead,
            f"Status moved: {current.label} → {to.label}.",
            details,
        )
        self.w.audit(
            at,
            self.lead,
            "incident.status_changed",
            subject_type="incident",
            subject_id=self.id,
            incident_id=self.id,
            details=details,
        )

    def _closure_basis(self) -> str:
        # assessment.closure_basis for the low-probability version the plan signs.
        version = self.version
        assert version is not None and version.signed_at is not None  # planned before closing
        return (
            "Low probability of compromise, four-factor assessment (164.402(2)) "
            f"(assessment version {version.number}, signed "
            f"{version.signed_at.astimezone(UTC):%Y-%m-%d})."
        )

    def _sync(self, at: datetime, actor: User) -> None:
        """obligations.sync: the engine's result, stored as the difference (audited)."""
        determination = obligations.evaluate_incident(self.incident, self.version)
        changes = _store_obligations(self.obligations, determination.obligations, at)
        self.determination = {
            "reportable": determination.reportable,
            "reason": determination.reason,
            "treated_discovery_on": determination.treated_discovery_on,
            "warnings": list(determination.warnings),
            "assessment_version_id": self.version.id if self.version else None,
            "computed_at": at,
        }
        if changes:
            self.w.audit(
                at,
                actor,
                "obligations.recomputed",
                subject_type="incident",
                subject_id=self.id,
                incident_id=self.id,
                details=changes,
            )

    def finish(self) -> None:
        """Store the end state: the incident's status, its obligations and determination."""
        self.row.update(status=self.status, updated_at=self.updated_at, closed_at=self.closed_at)
        for (kind, jurisdiction, source_key), row in self.obligations.items():
            self.w.add(
                Obligation,
                incident_id=self.id,
                kind=kind,
                jurisdiction=jurisdiction,
                source_key=source_key,
                override_due_on=None,
                override_reason="",
                override_by_id=None,
                override_at=None,
                **row,
            )
        self.w.add(
            Determination,
            incident_id=self.id,
            override_reportable=None,
            override_reason="",
            override_by_id=None,
            override_at=None,
            **self.determination,
        )


def _statement_columns(statement: StatementInput) -> dict[str, Any]:
    return {
        "form": statement.form,
        "official_name": statement.official_name,
        "agency": statement.agency,
        "contact": statement.contact,
        "stated_on": statement.stated_on,
        "delay_until": statement.delay_until,
        "written_received_on": statement.written_received_on,
        "notes": statement.notes,
    }


def _store_obligations(
    rows: dict[ObligationKey, dict[str, Any]],
    computed: tuple[rules.Obligation, ...],
    now: datetime,
) -> dict[str, Any]:
    """The in-memory twin of obligations._store_obligations: upsert, deactivate, summarise."""
    wanted = {_key(o): o for o in computed}
    due_changes: dict[str, list[str | None]] = {}
    added, removed = [], []
    for key, item in wanted.items():
        row = rows.get(key)
        if row is None or not row["active"]:
            added.append(_label(key))
        elif row["due_on"] != item.due_on:
            due_changes[_label(key)] = [_iso(row["due_on"]), _iso(item.due_on)]
        if row is None:
            row = rows[key] = {"created_at": now, "updated_at": now}
        values = {
            "due_on": item.due_on,
            "citation": item.citation,
            "reason": item.reason,
            "detail": dict(item.detail),
            "active": True,
        }
        if any(row.get(name) != value for name, value in values.items()):
            row.update(values, updated_at=now)
    for key, row in sorted(rows.items()):  # the order of the (incident, kind, ...) index
        if key not in wanted and row["active"]:
            row.update(active=False, updated_at=now)
            removed.append(_label(key))
    summary = {"due_dates": due_changes, "added": added, "removed": removed}
    return {name: value for name, value in summary.items() if value}


def _key(item: rules.Obligation) -> ObligationKey:
    # As obligations.sync keys its rows: HIPAA kinds have no source key, state ones the statute.
    kind, jurisdiction = item.kind, item.jurisdiction
    return (kind, jurisdiction, "" if kind in obligations.HIPAA_KINDS else item.citation)


def _label(key: ObligationKey) -> str:
    return " ".join(part for part in key if part)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _reset_sequences(session: Session, models: tuple[type, ...]) -> None:
    """Ids were handed out here; move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


# --- rosters -----------------------------------------------------------------------------

ROSTER_HEADER = [
    "external_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "country",
    "email",
    "phone",
    "email_consent",
    "deceased",
    "nok_name",
    "nok_address_line1",
    "nok_city",
    "nok_state",
    "nok_zip",
    "minor",
    "guardian_name",
    "language",
]
ROSTER_FIRST = [
    "Zoë",
    "José",
    "Mary-Ann",
    "D'Angelo",
    "François",
    "Siobhán",
    "Nguyễn",
    "Ana",
    "Li",
    "Björn",
    "Chloé",
    "Renée",
    "Mohammed",
    "Aoife",
    "Łukasz",
    "Ingrid",
]
ROSTER_LAST = [
    "O'Brien",
    "García",
    "Núñez",
    "Smith",
    "Müller",
    "D'Souza",
    "Van der Berg",
    "Kowalski",
    "Øster",
    "Peña",
    "Johnson",
    "Hernández",
    "McCarthy",
    "Lefèvre",
    "Żak",
    "Brown",
]
ROSTER_STATES = [
    ("NY", "New York", "122"),
    ("CA", "California", "941"),
    ("TX", "Texas", "733"),
    ("FL", "Florida", "331"),
    ("MA", "Massachusetts", "021"),
    ("DC", "D.C.", "200"),
    ("PR", "Puerto Rico", "009"),
    ("VT", "Vermont", "054"),
    ("IL", "Illinois", "606"),
]
ROSTER_STREETS = ["Main St", "Elm Street", "Rue de l'Église", "Calle Peña", "O'Connell Ave"]
ROSTER_LANGUAGES = ["", "", "", "es", "Spanish", "zh", "vi"]


def write_roster(
    path: Path, rows: int, seed: int, *, flawed: bool = True, first_number: int = 0
) -> None:
    """Stream a synthetic roster CSV to `path` (nothing held in memory): accents,
    apostrophes, both date formats, deceased people with next of kin; with `flawed`, ~2 %
    bad rows of five kinds and ~0.25 % repeated ids (what bench/roster_import.py imports)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ROSTER_HEADER)
        for n in range(first_number, first_number + rows):
            writer.writerow(_roster_row(rng, n, flawed))


def _roster_row(rng: random.Random, n: int, flawed: bool) -> list[str]:
    code, name, zip3 = rng.choice(ROSTER_STATES)
    deceased = rng.random() < 0.02
    born = date(rng.randint(1930, 2020), rng.randint(1, 12), rng.randint(1, 28))
    row = [
        f"MRN{n:09d}",
        rng.choice(ROSTER_FIRST),
        rng.choice(ROSTER_LAST),
        born.isoformat() if n % 3 else born.strftime("%m/%d/%Y"),
        f"{rng.randint(1, 9999)} {rng.choice(ROSTER_STREETS)}",
        "Apt 4B" if n % 5 == 0 else "",
        "Springfield",
        code if n % 2 else name,
        f"{zip3}{rng.randint(0, 99):02d}",
        "",
        f"person{n}@example.org" if n % 4 else "",
        f"555-{n % 10000:04d}",
        "Y" if n % 4 == 1 else "N",
        "Y" if deceased else "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        rng.choice(ROSTER_LANGUAGES),
    ]
    if deceased:
        row[14:19] = ["Rosa Peña", "1 Calle Luna", "San Juan", "PR", "00901"]
    if flawed and n % 50 == 7:  # ~2 % bad rows, of five kinds
        _spoil(row, n)
    elif flawed and n % 400 == 11:  # ~0.25 % repeat an earlier person's external id
        row[0] = f"MRN{n - 1:09d}"
    return row


def _spoil(row: list[str], n: int) -> None:
    kind = (n // 50) % 5
    if kind == 0:
        row[7] = "Atlantis"
    elif kind == 1:
        row[3] = "2099-01-01"
    elif kind == 2:
        row[1] = row[2] = ""
    elif kind == 3:
        row[3] = "31/31/99"
    else:
        row.append("an extra field")


def roster_sizes(total: int, weights: list[int]) -> list[int]:
    """Split `total` people over incidents in proportion to their estimates (each ≥ 1)."""
    if not weights:
        return []
    whole = sum(weights)
    sizes = [max(1, total * w // whole) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def _roster_targets(session: Session, wanted: int) -> list[Incident]:
    """The largest incidents at the notification stage, where a roster is imported to send
    the notices (then the largest others, when a small seed has too few of those)."""
    notifying = sa.case((Incident.status.in_((S.NOTIFICATION, S.MONITORING)), 0), else_=1)
    return list(
        session.scalars(
            sa.select(Incident)
            .where(Incident.roster_total.is_(None))
            .order_by(notifying, Incident.affected_estimate.desc(), Incident.id)
            .limit(wanted)
        )
    )


def _import_rosters(
    session: Session,
    rng: random.Random,
    staff: Staff,
    opts: SeedOptions,
    keyring: KeyRing,
    store: FileStore,
    report: SeedReport,
    progress: Progress,
) -> None:
    """Upload one CSV per target incident and run the import worker on each, as the roster
    page and the worker do. The last (smallest) roster keeps the generator's flawed rows so
    the reject report has something to show."""
    targets = _roster_targets(session, min(MAX_ROSTERS, max(1, opts.roster // ROSTER_CHUNK)))
    sizes = roster_sizes(opts.roster, [max(1, t.affected_estimate) for t in targets])
    officer = staff.by_role[Role.PRIVACY_OFFICER][0]
    first_number = 0
    with tempfile.TemporaryDirectory(prefix="demo-roster-") as folder:
        for number, (incident, size) in enumerate(zip(targets, sizes, strict=True), start=1):
            path = Path(folder) / f"{incident.reference}-roster.csv"
            flawed = number == len(targets) and number > 1
            write_roster(path, size, rng.randrange(2**32), flawed=flawed, first_number=first_number)
            first_number += size
            with path.open("rb") as upload:
                roster_upload.create_import(
                    session,
                    actor=officer,
                    now=clock.utcnow(),
                    incident_id=incident.id,
                    upload=upload,
                    filename=path.name,
                    mode=ImportMode.REPLACE,
                    store=store,
                    max_bytes=1 << 40,
                )
            path.unlink()
            record = roster_worker.run_next(
                session,
                keyring=keyring,
                store=store,
                clock=clock.utcnow,
                workers=opts.roster_workers,
            )
            report.rosters += 1
            report.roster_people += (
                session.scalar(sa.select(Incident.roster_total).where(Incident.id == incident.id))
                or 0
            )
            progress(
                f"  roster {number}/{len(targets)} for {incident.reference}: "
                f"{record.message if record else 'nothing queued'}"
            )


def summary_lines(report: SeedReport) -> Iterator[str]:
    """The summary the command prints."""
    yield (
        f"Seeded {report.incidents:,} incidents ({report.obligations:,} active obligations, "
        f"{report.audit_events:,} audit events) and {report.roster_people:,} roster people "
        f"in {report.rosters} roster(s)."
    )
    for name, seconds in report.seconds.items():
        yield f"  {name}: {seconds:.1f} s"
