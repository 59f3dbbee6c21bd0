"""Whether each client acknowledged the notices and supplements we sent it (45 CFR 164.410).

The rule asks the business associate to notify; the client's receipt is what shows it was done
(164.414(b): the burden of proof is ours). So every sent notice and supplement carries its own
acknowledgement, and one still unacknowledged `Organisation.client_ack_business_days` business
days (default 5, US federal holidays) after it was sent is due: the overview marks it overdue
and the reminder sweep tells the privacy officers (reminders/deadlines.py). Nothing here holds
PHI: a client's name, a notice's number and dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.client import Client
from incident_app.models.client import ClientNotice
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.rules.clients import BUSINESS_CALENDAR
from incident_app.rules.holiday_calendar import add_business_days
from incident_app.services.organisation import get_organisation
from incident_app.services.organisation import org_zone

CLOSED = (IncidentStatus.CLOSED, IncidentStatus.CLOSED_NOT_A_BREACH)


def due_on(sent_at: datetime, zone: ZoneInfo, days: int) -> date:
    """The day an acknowledgement is due: `days` business days after the local sent date."""
    return add_business_days(sent_at.astimezone(zone).date(), days, BUSINESS_CALENDAR)


@dataclass(frozen=True)
class Summary:
    """A client's notices on one incident as the overview shows them."""

    notices_sent: int
    unacknowledged: int
    overdue: int
    latest_label: str | None
    latest_sent_on: date | None
    latest_acknowledged_at: datetime | None

    @property
    def text(self) -> str:
        """ "Notice + 2 supplements, 1 unacknowledged" (or "—" before any was sent)."""
        if not self.notices_sent:
            return "—"
        supplements = self.notices_sent - 1
        words = "Notice" + (
            f" + {supplements} supplement{'s' if supplements != 1 else ''}" if supplements else ""
        )
        if not self.unacknowledged:
            return f"{words}, all acknowledged"
        return f"{words}, {self.unacknowledged} unacknowledged"


def summarise(
    notices: Iterable[ClientNotice], *, zone: ZoneInfo, days: int, today: date
) -> Summary:
    """Sent notices only (a draft is not the client's to acknowledge)."""
    sent = sorted((n for n in notices if n.sent_at is not None), key=lambda n: n.number)
    waiting = [n for n in sent if n.acknowledged_at is None]
    overdue = [
        n for n in waiting if n.sent_at is not None and due_on(n.sent_at, zone, days) < today
    ]
    latest = sent[-1] if sent else None
    return Summary(
        notices_sent=len(sent),
        unacknowledged=len(waiting),
        overdue=len(overdue),
        latest_label=latest.label if latest else None,
        latest_sent_on=latest.sent_at.astimezone(zone).date()
        if latest and latest.sent_at
        else None,
        latest_acknowledged_at=latest.acknowledged_at if latest else None,
    )


@dataclass(frozen=True)
class Awaiting:
    """A sent notice the client has not acknowledged: what the reminder sweep sees."""

    notice_id: int
    incident_id: int
    reference: str
    label: str  # "Elm Clinic: acknowledgement of Supplement 1 (45 CFR 164.410)": no PHI
    due_on: date


def awaiting(session: Session, *, incident_ids: sa.Select[int] | None = None) -> list[Awaiting]:
    """Every sent, unacknowledged client notice on an incident that is not closed."""
    days = get_organisation(session).client_ack_business_days
    zone = org_zone(session)
    query = (
        sa.select(ClientNotice, Client.name, Incident.reference)
        .join(Client, Client.id == ClientNotice.client_id)
        .join(Incident, Incident.id == ClientNotice.incident_id)
        .where(
            ClientNotice.sent_at.is_not(None),
            ClientNotice.acknowledged_at.is_(None),
            Incident.status.not_in(CLOSED),
        )
        .order_by(ClientNotice.id)
    )
    if incident_ids is not None:
        query = query.where(ClientNotice.incident_id.in_(incident_ids))
    return [
        Awaiting(
            notice.id,
            notice.incident_id,
            reference,
            f"{name}: acknowledgement of {notice.label} (45 CFR 164.410)",
            due_on(notice.sent_at, zone, days),
        )
        for notice, name, reference in session.execute(query)
        if notice.sent_at is not None  # always: the query asks for it; narrows the type
    ]


def still_awaiting(session: Session, *, notice_id: int, due: date | None = None) -> bool:
    """Re-read under a row lock: still sent and unacknowledged (and, given `due`, still due
    that day: the organisation's number of days may have changed)."""
    notice = session.get(ClientNotice, notice_id, with_for_update=True, populate_existing=True)
    if notice is None or notice.sent_at is None or notice.acknowledged_at is not None:
        return False
    if due is None:
        return True
    days = get_organisation(session).client_ack_business_days
    return due_on(notice.sent_at, org_zone(session), days) == due
