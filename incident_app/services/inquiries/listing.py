"""An incident's inquiries as a list (filters: open, overdue, category), the inquiries-per-day
chart, the CSV export, and the follow-up dates the reminder sweep and calendar feed read.

The list shows initials and the letter code, never a summary; a privacy officer may reveal the
names, which is audited like every list view. The export (summaries and names) is for people who
may work on the roster, audited before the first line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import NotAllowed
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import InquiryCategory
from incident_app.models.inquiry import InquiryStatus
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.csv_export import csv_lines
from incident_app.services.inquiries.recording import decrypt
from incident_app.services.organisation import local_today
from incident_app.services.organisation import org_zone
from incident_app.services.roster import access as roster_access

LIST_LIMIT = 200
CHART_DAYS = 60
EXPORT_BATCH = 500


@dataclass(frozen=True)
class Filters:
    status: str = "open"  # open | closed | all
    overdue: bool = False
    category: InquiryCategory | None = None


@dataclass(frozen=True)
class Row:
    inquiry: Inquiry
    who: str  # initials, or the name once a privacy officer revealed it
    overdue: bool
    assignee: str


@dataclass(frozen=True)
class InquiryList:
    incident: Incident
    rows: list[Row]
    revealed: bool
    more: bool  # more than LIST_LIMIT matched


def list_inquiries(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    keyring: KeyRing,
    filters: Filters,
    reveal: bool = False,
) -> InquiryList:
    """The incident's inquiries, newest first. `reveal` shows names: privacy officers only
    (NotAllowed otherwise). Audited with the ids shown (commits)."""
    incident = roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    if reveal and actor.role is not Role.PRIVACY_OFFICER:
        raise NotAllowed("Only a privacy officer can reveal the names in the inquiry list.")
    today = local_today(session, now)
    query = sa.select(Inquiry).where(Inquiry.incident_id == incident_id)
    if filters.status in ("open", "closed"):
        query = query.where(Inquiry.status == InquiryStatus(filters.status))
    if filters.overdue:
        query = query.where(Inquiry.status == InquiryStatus.OPEN, Inquiry.follow_up_on < today)
    if filters.category is not None:
        query = query.where(Inquiry.category == filters.category)
    found = list(
        session.scalars(
            query.order_by(Inquiry.received_at.desc(), Inquiry.id.desc()).limit(LIST_LIMIT + 1)
        )
    )
    shown = found[:LIST_LIMIT]
    names = _user_names(session, {i.assignee_id for i in shown if i.assignee_id})
    rows = []
    for inquiry in shown:
        phi = decrypt(keyring, inquiry)
        rows.append(
            Row(
                inquiry,
                (phi.get("name") if reveal else phi.get("initials")) or "—",
                _overdue(inquiry, today),
                names.get(inquiry.assignee_id or 0, ""),
            )
        )
    audit.record(
        session,
        actor=actor,
        action="inquiry.names_revealed" if reveal else "inquiry.listed",
        at=now,
        subject_type="incident",
        subject_id=incident_id,
        incident_id=incident_id,
        details={"inquiries": [row.inquiry.id for row in rows]},
    )
    session.commit()
    return InquiryList(incident, rows, reveal, len(found) > LIST_LIMIT)


def _overdue(inquiry: Inquiry, today: date) -> bool:
    return (
        inquiry.status is InquiryStatus.OPEN
        and inquiry.follow_up_on is not None
        and inquiry.follow_up_on < today
    )


def _user_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted))).all())


# ---- the chart -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    day: date
    count: int
    x: int
    y: int
    height: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    width: int
    height: int
    total: int


BAR_WIDTH, GAP, PLOT_HEIGHT = 12, 3, 120


def per_day(session: Session, *, actor: User, now: datetime, incident_id: int) -> Chart:
    """Inquiries per day (the organisation's days) over the last CHART_DAYS days with any,
    as bars of an SVG chart; a table beside it carries the same numbers. No PHI, no audit."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    zone = org_zone(session)
    today = local_today(session, now)
    start = today - timedelta(days=CHART_DAYS - 1)
    times = session.scalars(
        sa.select(Inquiry.received_at).where(
            Inquiry.incident_id == incident_id,
            Inquiry.received_at >= datetime.combine(start, datetime.min.time(), zone),
        )
    )
    counts = Counter(at.astimezone(zone).date() for at in times)
    return chart(counts, start=min(counts, default=today), end=today)


def chart(counts: Counter[date], *, start: date, end: date) -> Chart:
    """Bars for every day from `start` to `end` (days without inquiries are 0)."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    peak = max(counts.values(), default=0)
    bars = []
    for index, day in enumerate(days):
        count = counts.get(day, 0)
        height = round(PLOT_HEIGHT * count / peak) if peak else 0
        bars.append(Bar(day, count, index * (BAR_WIDTH + GAP), PLOT_HEIGHT - height, height))
    width = max(len(days) * (BAR_WIDTH + GAP), BAR_WIDTH)
    return Chart(bars, peak, width, PLOT_HEIGHT, sum(counts.values()))


# ---- the export ------------------------------------------------------------------------------

EXPORT_HEADER = (
    "inquiry_id",
    "received_at_utc",
    "channel",
    "category",
    "found_by",
    "letter_code",
    "name",
    "caller_name",
    "caller_contact",
    "summary",
    "status",
    "follow_up_on",
    "assignee_id",
    "outcome",
    "closed_at_utc",
)


def export_inquiries(
    session: Session, *, actor: User, now: datetime, incident_id: int, keyring: KeyRing
) -> Iterator[str]:
    """Every inquiry of the incident decrypted, as CSV lines (formula-injection safe), read
    batch by batch. Roster workers only; audited (commits) before the first line."""
    roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    audit.record(
        session,
        actor=actor,
        action="inquiry.exported",
        at=now,
        subject_type="incident",
        subject_id=incident_id,
        incident_id=incident_id,
    )
    session.commit()
    return _export_lines(session, incident_id, keyring)


def _export_lines(session: Session, incident_id: int, keyring: KeyRing) -> Iterator[str]:
    return csv_lines(
        session,
        header=EXPORT_HEADER,
        query=sa.select(Inquiry).where(Inquiry.incident_id == incident_id),
        key=Inquiry.id,
        cells=lambda inquiry: _export_row(inquiry, decrypt(keyring, inquiry)),
        batch_size=EXPORT_BATCH,
    )


def _export_row(inquiry: Inquiry, phi: dict[str, Any]) -> list[object]:
    caller = phi.get("caller") or {}
    return [
        inquiry.id,
        inquiry.received_at.isoformat(),
        inquiry.channel.value,
        inquiry.category.value,
        inquiry.found_by.value,
        inquiry.letter_code or "",
        phi.get("name", ""),
        caller.get("name", ""),
        caller.get("contact", ""),
        phi.get("summary", ""),
        inquiry.status.value,
        inquiry.follow_up_on.isoformat() if inquiry.follow_up_on else "",
        inquiry.assignee_id or "",
        phi.get("outcome", ""),
        inquiry.closed_at.isoformat() if inquiry.closed_at else "",
    ]


# ---- follow-ups as deadlines -------------------------------------------------------------------


def open_follow_ups(
    session: Session,
    *,
    incident_ids: sa.Select[int] | None = None,
    closed: Sequence[IncidentStatus] = (),
) -> list[tuple[Inquiry, str]]:
    """Open inquiries with a follow-up date and their incident's reference, on incidents not
    in a `closed` status (the reminder sweep's and the calendar's deadlines)."""
    query = (
        sa.select(Inquiry, Incident.reference)
        .join(Incident, Incident.id == Inquiry.incident_id)
        .where(
            Inquiry.status == InquiryStatus.OPEN,
            Inquiry.follow_up_on.is_not(None),
            Incident.status.not_in(closed),
        )
    )
    if incident_ids is not None:
        query = query.where(Inquiry.incident_id.in_(incident_ids))
    return [(inquiry, reference) for inquiry, reference in session.execute(query)]


def follow_up_still_due(session: Session, *, inquiry_id: int, due_on: date) -> bool:
    """Re-read under a row lock: closed or moved since the sweep listed it → not due."""
    inquiry = session.get(Inquiry, inquiry_id, with_for_update=True, populate_existing=True)
    return (
        inquiry is not None
        and inquiry.status is InquiryStatus.OPEN
        and inquiry.follow_up_on == due_on
    )


def incident_of(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident for a page of its inquiries (roster access: PHI)."""
    return roster_access.get_readable(session, actor=actor, incident_id=incident_id)
