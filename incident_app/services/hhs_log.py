"""The HHS annual log: breaches of fewer than 500 individuals, by calendar year of discovery,
with what the OCR portal asks for each, when it is due, and whether it was filed.

45 CFR 164.408(c). Which breaches belong to a year, and their due date, come from the
`hhs_annual_log` obligations that services.obligations.sync stores (never recomputed here);
the reminder sweep reminds people of the same rows. Filings are appended to `hhs_filing`:
an initial report with OCR's transaction number, then addenda (new count, new facts) that
quote it. Reading the log is for privacy officers, auditors and admins; recording a filing
for privacy officers. Tabletop exercises (issue 23) are never in the log, and filing one is
refused: the Secretary is told of breaches, not of drills.

The CSV and PDF exports are in services/hhs_log_exports.py. Slightly over 400 lines: reading
the log, the portal's fields and recording filings share LogEntry and the filing rules, and
splitting them further would scatter one 164.408(c) use case over three modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.hhs_filing import HhsFiling
from incident_app.models.hhs_filing import ReportType
from incident_app.models.incident import Incident
from incident_app.models.obligation import Obligation
from incident_app.models.organisation import Organisation
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import corrective_actions
from incident_app.services import options
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.organisation import get_organisation

KIND = "hhs_annual_log"
# OCR issues the transaction number; accept what it looks like without guessing its format.
TRANSACTION_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,63}")
CHANGES_MAX = 5000
NOT_RECORDED = "Not recorded"


class FilingStatus(StrEnum):
    NOT_FILED = "not_filed"
    FILED = "filed"
    AMENDED = "amended"  # filed, then at least one addendum

    @property
    def label(self) -> str:
        return {"not_filed": "Not filed", "filed": "Filed", "amended": "Filed, with addendum"}[
            self.value
        ]


@dataclass(frozen=True)
class LogEntry:
    """One breach in a year's log. `obligation` is None when the breach was filed for this
    year but no longer counts as a small breach (its count grew to 500 or more)."""

    incident: Incident
    obligation: Obligation | None
    fields: dict[str, str]  # the OCR portal's labels → today's answers
    filings: list[HhsFiling]  # oldest first

    @property
    def due_on(self) -> date | None:
        return self.obligation.due_on if self.obligation else None

    @property
    def effective_due_on(self) -> date | None:
        return self.obligation.effective_due_on if self.obligation else None

    @property
    def latest(self) -> HhsFiling | None:
        return self.filings[-1] if self.filings else None

    @property
    def status(self) -> FilingStatus:
        if not self.filings:
            return FilingStatus.NOT_FILED
        return FilingStatus.AMENDED if len(self.filings) > 1 else FilingStatus.FILED

    @property
    def count(self) -> int:
        return affected_count(self.incident)

    @property
    def count_changed(self) -> bool:
        """Filed with another count than today's: an addendum is probably needed."""
        return self.latest is not None and self.latest.affected_count != self.count

    def overdue(self, today: date) -> bool:
        due = self.effective_due_on
        return not self.filings and due is not None and due < today


@dataclass(frozen=True)
class AnnualLog:
    year: int
    entries: list[LogEntry]
    years: list[int]  # every year that has a log, newest first

    def due_dates(self) -> list[date]:
        return sorted({e.due_on for e in self.entries if e.due_on is not None})


def affected_count(incident: Incident) -> int:
    return (
        incident.roster_total if incident.roster_total is not None else incident.affected_estimate
    )


# ---- reading ---------------------------------------------------------------------------------


def annual_log(session: Session, *, actor: User, year: int) -> AnnualLog:
    """The breaches logged for `year` (calendar year of treated discovery), soonest due
    first. Raises NotAllowed. Writes nothing."""
    require(actor, Capability.VIEW_ALL_INCIDENTS)
    by_incident = {o.incident_id: o for o in _obligations(session) if _reporting_year(o) == year}
    filings = _filings(session, year=year, extra_incidents=by_incident.keys())
    ids = set(by_incident) | set(filings)
    loaded = session.scalars(
        sa.select(Incident).where(Incident.id.in_(ids)).options(selectinload(Incident.state_counts))
    )
    incidents = {i.id: i for i in loaded}
    org = get_organisation(session)
    entries = [
        LogEntry(
            incidents[i],
            by_incident.get(i),
            portal_fields(session, incidents[i], org),
            filings.get(i, []),
        )
        for i in ids
    ]
    entries.sort(key=lambda e: (e.due_on or date.max, e.incident.reference))
    return AnnualLog(year, entries, log_years(session))


def _obligations(session: Session) -> list[Obligation]:
    """The active annual-log obligations of real incidents (never of an exercise)."""
    return list(
        session.scalars(
            sa.select(Obligation)
            .join(Incident, Incident.id == Obligation.incident_id)
            .where(
                Obligation.kind == KIND,
                Obligation.active.is_(True),
                Incident.exercise.is_(False),
            )
        )
    )


def _reporting_year(obligation: Obligation) -> int | None:
    """The year the rules engine logged the breach under (the treated discovery year)."""
    year = (obligation.detail or {}).get("reporting_year")
    return int(year) if year and str(year).isdigit() else None


def _filings(
    session: Session, *, year: int, extra_incidents: Iterable[int]
) -> dict[int, list[HhsFiling]]:
    """Every filing of the breaches in this year's log, plus breaches filed for this year."""
    filed_this_year = sa.select(HhsFiling.incident_id).where(HhsFiling.reporting_year == year)
    exercises = sa.select(Incident.id).where(Incident.exercise.is_(True))
    rows = session.scalars(
        sa.select(HhsFiling)
        .where(
            sa.or_(
                HhsFiling.incident_id.in_(filed_this_year),
                HhsFiling.incident_id.in_(list(extra_incidents)),
            ),
            HhsFiling.incident_id.not_in(exercises),
        )
        .options(selectinload(HhsFiling.filed_by))
        .order_by(HhsFiling.sequence)
    )
    grouped: dict[int, list[HhsFiling]] = {}
    for row in rows:
        grouped.setdefault(row.incident_id, []).append(row)
    return grouped


def log_years(session: Session) -> list[int]:
    years = {_reporting_year(o) for o in _obligations(session)}
    years |= set(session.scalars(sa.select(HhsFiling.reporting_year).distinct()))
    return sorted((y for y in years if y is not None), reverse=True)


def entry_for(session: Session, *, actor: User, incident_id: int) -> LogEntry:
    """One breach's log entry (the filing forms start from it). Raises NotFound, and
    InvalidTransition for a tabletop exercise (never logged, never filed)."""
    require(actor, Capability.VIEW_ALL_INCIDENTS)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("No such incident.")
    if incident.exercise:
        raise InvalidTransition(
            f"{incident.reference} is a tabletop exercise: it is kept out of the HHS annual "
            "log and its exports, and is never filed with HHS (45 CFR 164.408 concerns real "
            "breaches). Nothing was recorded."
        )
    obligation = next((o for o in _obligations(session) if o.incident_id == incident_id), None)
    filings = list(
        session.scalars(
            sa.select(HhsFiling)
            .where(HhsFiling.incident_id == incident_id)
            .order_by(HhsFiling.sequence)
        )
    )
    fields = portal_fields(session, incident, get_organisation(session))
    return LogEntry(incident, obligation, fields, filings)


# ---- the portal's fields ---------------------------------------------------------------------


def portal_fields(session: Session, incident: Incident, org: Organisation) -> dict[str, str]:
    """The OCR portal's questions (REGULATORY.md §2.1, labels as on the form) answered from
    the case; Section 4's actions come from the corrective action plan."""
    zone = ZoneInfo(org.timezone)
    actions, other_actions = corrective_actions.hhs_actions(session, incident)
    return {
        "Breach Affecting": "Fewer Than 500 Individuals",
        "Name of Covered Entity": org.legal_name or NOT_RECORDED,
        "Breach Start Date": _local_day(incident.occurred_from, zone),
        "Breach End Date": _local_day(incident.occurred_to, zone),
        "Discovery Start Date": day_text(incident.treated_known_on),
        "Discovery End Date": day_text(incident.discovered_on),
        "Approximate Number of Individuals Affected by the Breach": str(affected_count(incident)),
        "Type of Breach": _choices(
            "breach_types", incident.breach_types, incident.breach_type_other
        ),
        "Location of Breached Information": _choices(
            "locations", incident.locations, incident.location_other
        ),
        "Type of Protected Health Information Involved in Breach": "; ".join(
            options.phi_categories(list(incident.phi_types or []))
        )
        or NOT_RECORDED,
        "Safeguards in Place Prior to Breach": _choices("safeguards", incident.safeguards, ""),
        "Business Associate Involved": f"Yes: {incident.ba_name}" if incident.ba_involved else "No",
        "Brief Description of the Breach": incident.description.strip() or NOT_RECORDED,
        "Actions Taken in Response to Breach": "; ".join(actions) or NOT_RECORDED,
        "Describe other actions taken": other_actions or NOT_RECORDED,
    }


def day_text(value: date | None) -> str:
    return value.isoformat() if value else NOT_RECORDED


def _local_day(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).date().isoformat() if value else NOT_RECORDED


def _choices(list_name: str, codes: list[str] | None, other: str) -> str:
    names = {option.code: option.full_label for option in options.ocr_options(list_name)}
    labels = [
        f"{names.get(code, code)}: {other.strip()}"
        if code == "other" and other.strip()
        else names.get(code, code)
        for code in codes or []
    ]
    return "; ".join(labels) or NOT_RECORDED


# ---- recording filings -----------------------------------------------------------------------


@dataclass(frozen=True)
class FilingInput:
    filed_on: date
    transaction_number: str = ""  # the initial report's; ignored for an addendum
    affected_count: int | None = None  # an addendum's new count (None: today's count)
    changes: str = ""  # an addendum: what changed since the last report


def record_filing(
    session: Session, *, actor: User, incident_id: int, filing: FilingInput, now: datetime
) -> HhsFiling:
    """Record the initial report of a small breach, with OCR's transaction number, and re-sync
    the obligations in the same transaction (clocks counted from the notice to HHS move).

    Raises NotAllowed, NotFound, InvalidTransition (already filed: file an addendum; or not in
    any annual log), ValidationFailed (also for a filing dated before the discovery). Commits
    once.
    """
    require(actor, Capability.SIGN_DETERMINATIONS)
    entry = entry_for(session, actor=actor, incident_id=incident_id)
    if entry.filings:
        raise InvalidTransition(
            f"{entry.incident.reference} was already filed (transaction "
            f"{entry.filings[0].transaction_number}). Record an addendum instead."
        )
    if entry.obligation is None:
        raise InvalidTransition(
            f"{entry.incident.reference} is not a breach of fewer than 500 "
            "individuals in any annual log."
        )
    number = _transaction_number(filing.transaction_number)
    _check_filed_on(filing.filed_on, session, now)
    row = _append(
        session,
        entry,
        actor=actor,
        now=now,
        filing=filing,
        sequence=0,
        report_type=ReportType.INITIAL,
        number=number,
        year=_reporting_year(entry.obligation) or filing.filed_on.year,
        original=None,
    )
    # The initial report is the notice to the Secretary (164.408(c)): state clocks counted
    # from it move. Addenda never predate it, so they change no clock.
    obligation_sync.sync_or_roll_back(
        session, incident=entry.incident, now=now, actor=actor, notice_field="filed_on"
    )
    session.commit()
    return row


def record_addendum(
    session: Session, *, actor: User, incident_id: int, filing: FilingInput, now: datetime
) -> HhsFiling:
    """Record an addendum to a filed breach: the new count and today's facts, under the
    initial report's transaction number. Raises NotAllowed, NotFound, InvalidTransition (not
    filed yet), ValidationFailed. Commits once."""
    require(actor, Capability.SIGN_DETERMINATIONS)
    entry = entry_for(session, actor=actor, incident_id=incident_id)
    if not entry.filings:
        raise InvalidTransition(
            f"{entry.incident.reference} has no initial report yet: record "
            "the initial filing first."
        )
    changes = filing.changes.strip()
    if not changes:
        raise ValidationFailed("Say what changed since the last report.", field="changes")
    if len(changes) > CHANGES_MAX:
        raise ValidationFailed(f"Keep it under {CHANGES_MAX:,} characters.", field="changes")
    _check_filed_on(filing.filed_on, session, now)
    if filing.filed_on < entry.filings[-1].filed_on:
        raise ValidationFailed(
            f"The addendum cannot predate the last report ({entry.filings[-1].filed_on}).",
            field="filed_on",
        )
    initial = entry.filings[0]
    row = _append(
        session,
        entry,
        actor=actor,
        now=now,
        filing=filing,
        sequence=entry.filings[-1].sequence + 1,
        report_type=ReportType.ADDENDUM,
        number=initial.transaction_number,
        year=initial.reporting_year,
        original=initial,
    )
    session.commit()
    return row


def _transaction_number(raw: str) -> str:
    number = (raw or "").strip()
    if not TRANSACTION_NUMBER.fullmatch(number):
        raise ValidationFailed(
            "Enter the transaction number the OCR portal gave: 3 to 64 letters, digits or dashes.",
            field="transaction_number",
        )
    return number


def _check_filed_on(filed_on: date, session: Session, now: datetime) -> None:
    today = now.astimezone(ZoneInfo(get_organisation(session).timezone)).date()
    if filed_on > today:
        raise ValidationFailed(
            f"The filing date {filed_on} is in the future (today is {today}).", field="filed_on"
        )


def _append(
    session: Session,
    entry: LogEntry,
    *,
    actor: User,
    now: datetime,
    filing: FilingInput,
    sequence: int,
    report_type: ReportType,
    number: str,
    year: int,
    original: HhsFiling | None,
) -> HhsFiling:
    count = entry.count if filing.affected_count is None else filing.affected_count
    if count < 0:
        raise ValidationFailed("The number affected cannot be negative.", field="affected_count")
    fields = {
        **entry.fields,
        "Report Type": report_type.label,
        "Approximate Number of Individuals Affected by the Breach": str(count),
    }
    row = HhsFiling(
        incident_id=entry.incident.id,
        sequence=sequence,
        report_type=report_type,
        reporting_year=year,
        filed_on=filing.filed_on,
        transaction_number=number,
        original_id=original.id if original else None,
        affected_count=count,
        portal_fields=fields,
        changes=filing.changes.strip(),
        filed_by_id=actor.id,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"hhs_log.{report_type.value}_recorded",
        at=now,
        subject_type="hhs_filing",
        subject_id=row.id,
        incident_id=entry.incident.id,
        details={
            "transaction_number": number,
            "filed_on": filing.filed_on,
            "affected_count": count,
            "reporting_year": year,
            "sequence": sequence,
        },
    )
    return row
