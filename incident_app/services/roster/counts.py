"""The roster's figures: the counts that feed the rules engine, the roster tab's overview, and
an import's progress for the polling page.

Counts are recomputed in the transaction of every change (`recount`) and replace the typed-in
estimate: Incident.roster_total, Incident.insufficient_contact_living and
StateCount(source=roster).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import StateCount
from incident_app.models.roster import AddressStatus
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.roster import access as roster_access

MEDIA_THRESHOLD = 500  # 164.406: media notice for MORE than 500 residents of a State
UNREACHABLE = (NoticeStatus.RETURNED_MAIL, NoticeStatus.UNREACHABLE)


@dataclass
class RosterCounts:
    total: int = 0
    unknown_state: int = 0
    insufficient_contact_living: int = 0
    deceased_with_nok_address: int = 0
    deceased_without_nok_address: int = 0
    minors: int = 0
    merged_duplicates: int = 0
    by_state: dict[str, int] = field(default_factory=dict)

    def states_over_threshold(self) -> list[str]:
        return [s for s, n in self.by_state.items() if n > MEDIA_THRESHOLD]

    def __add__(self, other: RosterCounts) -> RosterCounts:
        """The counts of two disjoint sets of rows together (e.g. two imports)."""
        by_state = dict(self.by_state)
        for state, residents in other.by_state.items():
            by_state[state] = by_state.get(state, 0) + residents
        return RosterCounts(
            total=self.total + other.total,
            unknown_state=self.unknown_state + other.unknown_state,
            insufficient_contact_living=self.insufficient_contact_living
            + other.insufficient_contact_living,
            deceased_with_nok_address=self.deceased_with_nok_address
            + other.deceased_with_nok_address,
            deceased_without_nok_address=self.deceased_without_nok_address
            + other.deceased_without_nok_address,
            minors=self.minors + other.minors,
            merged_duplicates=self.merged_duplicates + other.merged_duplicates,
            by_state=dict(sorted(by_state.items())),
        )


def _insufficient_contact() -> sa.ColumnElement[bool]:
    # 164.404(d)(2): a LIVING person whose contact information precludes written notice —
    # no sufficient postal address (and no agreed email), or mail came back / unreachable.
    no_written_route = sa.and_(
        RosterPerson.address_status != AddressStatus.SUFFICIENT, sa.not_(RosterPerson.email_consent)
    )
    return sa.and_(
        sa.not_(RosterPerson.deceased),
        sa.or_(no_written_route, RosterPerson.notice_status.in_(UNREACHABLE)),
    )


def _sum(condition: sa.ColumnExpressionArgument[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def count(session: Session, incident_id: int) -> RosterCounts:
    """The roster's counts (merged duplicates excluded from everything but their own count)."""
    return _count(session, roster_access.visible(incident_id))


def count_imports(session: Session, import_ids: list[int]) -> RosterCounts:
    """The counts of these imports' rows, whatever their status: what `count` gives once they
    are the roster. The import worker counts its own rows before it takes the write lock."""
    if not import_ids:
        return RosterCounts()
    return _count(session, RosterPerson.import_id.in_(import_ids))


def _count(session: Session, rows: sa.ColumnElement[bool]) -> RosterCounts:
    counted = sa.and_(rows, RosterPerson.duplicate_of_id.is_(None))
    row = session.execute(
        sa.select(
            sa.func.count(),
            _sum(RosterPerson.state.is_(None)),
            _sum(_insufficient_contact()),
            _sum(sa.and_(RosterPerson.deceased, RosterPerson.nok_address)),
            _sum(sa.and_(RosterPerson.deceased, sa.not_(RosterPerson.nok_address))),
            _sum(RosterPerson.minor),
        ).where(counted)
    ).one()
    by_state: dict[str, int] = dict(
        session.execute(  # type: ignore[arg-type]
            sa.select(RosterPerson.state, sa.func.count())
            .where(counted, RosterPerson.state.is_not(None))
            .group_by(RosterPerson.state)
            .order_by(RosterPerson.state)
        ).all()
    )
    merged = (
        session.scalar(
            sa.select(sa.func.count()).where(rows, RosterPerson.duplicate_of_id.is_not(None))
        )
        or 0
    )
    total, unknown, insufficient, nok_address, no_nok_address, minors = (int(v) for v in row)
    return RosterCounts(
        total=total,
        unknown_state=unknown,
        insufficient_contact_living=insufficient,
        deceased_with_nok_address=nok_address,
        deceased_without_nok_address=no_nok_address,
        minors=minors,
        merged_duplicates=merged,
        by_state=by_state,
    )


def recount(
    session: Session,
    *,
    incident: Incident,
    now: datetime,
    actor: User | None,
    counted: RosterCounts | None = None,
) -> RosterCounts:
    """Store the roster's counts on the incident and re-sync its obligations (no commit).

    With no committed import left the roster figures are cleared and the estimate applies
    again. A rules-engine refusal (ValidationFailed, e.g. no discovery date yet) does not
    undo the roster: the obligations are re-synced when that fact is entered. `counted`: the
    roster's counts when the caller already has them (the import worker, see count_imports).
    """
    has_roster = bool(roster_access.committed_import_ids(session, incident.id))
    if not has_roster:
        counts = RosterCounts()
    else:
        counts = counted if counted is not None else count(session, incident.id)
    session.execute(
        sa.delete(StateCount).where(
            StateCount.incident_id == incident.id, StateCount.source == CountSource.ROSTER
        )
    )
    for state, residents in counts.by_state.items():
        session.add(
            StateCount(
                incident_id=incident.id, source=CountSource.ROSTER, state=state, residents=residents
            )
        )
    incident.roster_total = counts.total if has_roster else None
    incident.insufficient_contact_living = (
        counts.insufficient_contact_living if has_roster else None
    )
    incident.updated_at = now
    try:
        obligation_sync.sync(session, incident=incident, now=now, actor=actor)
    except ValidationFailed:
        pass
    return counts


@dataclass
class Overview:
    incident: Incident
    counts: RosterCounts
    has_roster: bool
    estimates: dict[str, int]
    imports: list[RosterImport]
    can_change: bool


def overview(session: Session, *, actor: User, incident_id: int) -> Overview:
    """What the roster tab shows: counts, per-state table, estimates (history), imports."""
    incident = roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    estimates = {
        row.state: row.residents
        for row in incident.state_counts
        if row.source == CountSource.ESTIMATE
    }
    imports = list(
        session.scalars(
            sa.select(RosterImport)
            .where(RosterImport.incident_id == incident_id)
            .order_by(RosterImport.id.desc())
            .limit(20)
        )
    )
    return Overview(
        incident,
        count(session, incident_id),
        bool(roster_access.committed_import_ids(session, incident_id)),
        estimates,
        imports,
        roster_access.can_change(session, actor=actor, incident=incident),
    )


def progress(session: Session, *, actor: User, incident_id: int, import_id: int) -> ImportProgress:
    """Progress of an import for the polling page: rows, rate, ETA (from bytes read)."""
    record = roster_access.get_import(
        session, actor=actor, incident_id=incident_id, import_id=import_id
    )
    seconds = 0.0
    if record.started_at and record.heartbeat_at:
        seconds = (record.heartbeat_at - record.started_at).total_seconds()
    rate = record.rows_read / seconds if seconds > 0 else 0.0
    fraction = min(record.bytes_read / record.size_bytes, 1.0) if record.size_bytes else 0.0
    eta = seconds * (1 - fraction) / fraction if 0 < fraction < 1 else None
    if record.status is ImportStatus.COMMITTED:
        fraction = 1.0
    return {
        "status": record.status.value,
        "status_label": record.status.label,
        "rows_read": record.rows_read,
        "accepted": record.rows_accepted,
        "rejected": record.rows_rejected,
        "merged": record.rows_merged,
        "warnings": record.warnings,
        "percent": round(fraction * 100, 1),
        "rows_per_second": round(rate),
        "eta_seconds": None if eta is None else round(eta),
        "message": record.message,
        "done": not record.status.is_active and record.status is not ImportStatus.NEEDS_MAPPING,
    }


class ImportProgress(TypedDict):
    """What the progress page polls (sent as JSON)."""

    status: str
    status_label: str
    rows_read: int
    accepted: int
    rejected: int
    merged: int
    warnings: int
    percent: float
    rows_per_second: int
    eta_seconds: int | None
    message: str
    done: bool
