"""`flask demo seed`: fill a database with what the app itself would have written had people used
it for three years.

Users per role, incidents with BD-YYYY-NNNN references, teams, estimates per state,
law-enforcement statements, checklist tasks, risk assessments, lifecycle moves, the obligations
and determination the rules engine computes, the timeline and a valid audit chain; then rosters
imported through the real import service (encrypted PHI, blind indexes, counts, obligation
re-sync). This module is the orchestration: options, the order of the steps, the rosters and
the report; the incident history is planned by `drawing`/`planning` and written by `history`.
Everything is drawn from one seeded RNG: the same seed and the same `now` give the same data.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import clock
from incident_app import passwords
from incident_app.crypto import KeyRing
from incident_app.demo.drawing import OcrDraw
from incident_app.demo.drawing import ocr_draws
from incident_app.demo.history import Progress
from incident_app.demo.history import Written
from incident_app.demo.history import write_incidents
from incident_app.demo.planning import plan_incident
from incident_app.demo.roster_files import write_roster
from incident_app.demo.staff import ACTOR_LABEL
from incident_app.demo.staff import Staff
from incident_app.demo.staff import ensure_staff
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.models.roster import ImportMode
from incident_app.models.user import Role
from incident_app.services.organisation import get_organisation
from incident_app.services.peers import importing as ocr_import
from incident_app.services.roster import upload as roster_upload
from incident_app.services.roster import worker as roster_worker
from incident_app.storage import FileStore

S = IncidentStatus
# One roster per 50,000 people, at most 20 rosters, on open notification-stage incidents.
ROSTER_CHUNK = 50_000
MAX_ROSTERS = 20


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
        draws = _ocr_draws(session, now=now, progress=progress)
    with _timed(report, "users"):
        staff, report.users = ensure_staff(session, rng, options_.password, now)
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
    if len(opts.password) < passwords.PASSWORD_MIN_LENGTH:
        raise ValidationFailed(
            f"The demo password must be at least {passwords.PASSWORD_MIN_LENGTH} characters.",
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


def _ocr_draws(session: Session, *, now: datetime, progress: Progress) -> list[OcrDraw]:
    """OCR's listing as draws, imported from the shipped file first when the table is empty
    (reference data for the draws and for the peers page)."""
    if not ocr_import.breach_count(session):
        progress("Importing OCR's breach listing (reference data for the draws and peers)…")
        ocr_import.import_file(
            session, path=ocr_import.SHIPPED_CSV, actor=None, actor_label=ACTOR_LABEL, now=now
        )
    return ocr_draws(session)


def _write_history(
    session: Session,
    rng: random.Random,
    draws: list[OcrDraw],
    staff: Staff,
    count: int,
    now: datetime,
    progress: Progress,
) -> Written:
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


# --- rosters -----------------------------------------------------------------------------


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
