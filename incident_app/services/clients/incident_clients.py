"""The covered-entity clients an incident touched: naming them, per-client counts and the
per-client deadlines (45 CFR 164.410(b) and the BAA's), and the overview tables.

Naming or removing a client re-syncs the obligations in the same transaction. A client whose
notice was already sent cannot be removed: the notice exists and the record must say to whom
it went (164.414(b), burden of proof); the refusal itself is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.models.client import Client
from incident_app.models.client import ClientNotice
from incident_app.models.client import IncidentClient
from incident_app.models.incident import Incident
from incident_app.models.letter import NoticeSent
from incident_app.models.obligation import Obligation
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.clients import acknowledgements
from incident_app.services.incidents.access import get_editable
from incident_app.services.incidents.access import get_visible
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.obligations.recorded import client_key
from incident_app.services.organisation import get_organisation
from incident_app.services.organisation import local_today
from incident_app.services.organisation import org_zone
from incident_app.services.roster import access as roster_access

CLIENT_KINDS = ("ba_to_ce_notice", "ba_to_ce_contract")


@dataclass
class ClientLine:
    """One row of an incident's client table."""

    client: Client
    people: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    statutory_due: date | None = None
    contract_due: date | None = None
    notice_sent_on: date | None = None
    # The client notices (164.410) drafted in the app: the latest one's state.
    notices: int = 0
    supplements_sent: int = 0
    acknowledged_at: datetime | None = None
    draft_waiting: bool = False
    overdue: bool = False
    # Every sent notice and supplement with its own acknowledgement (acknowledgements.py).
    acks: acknowledgements.Summary | None = None

    @property
    def due(self) -> date | None:
        """The date to meet: the earlier of the statutory and the contractual one."""
        days = [day for day in (self.statutory_due, self.contract_due) if day is not None]
        return min(days) if days else None


def incident_clients(session: Session, incident_id: int) -> list[Client]:
    """The clients the incident names, by name (no access check: callers have done it)."""
    return list(
        session.scalars(
            sa.select(Client)
            .join(IncidentClient, IncidentClient.client_id == Client.id)
            .where(IncidentClient.incident_id == incident_id)
            .order_by(Client.name)
        )
    )


def set_clients(
    session: Session, *, actor: User, incident_id: int, client_ids: Sequence[int], now: datetime
) -> list[Client]:
    """Make the incident name exactly `client_ids`. Raises NotFound/NotAllowed (access),
    ValidationFailed (an unknown or inactive client), InvalidTransition (removing a client
    whose notice was sent: refused and audited, nothing else changes). Commits once."""
    incident = get_editable(session, actor=actor, incident_id=incident_id)
    wanted = set(client_ids)
    known = {c.id: c for c in session.scalars(sa.select(Client).where(Client.id.in_(wanted)))}
    unknown = wanted - {cid for cid, c in known.items() if c.active}
    if unknown:
        raise ValidationFailed("Choose clients from the registry.", field="client_ids")
    links = {
        link.client_id: link
        for link in session.scalars(
            sa.select(IncidentClient).where(IncidentClient.incident_id == incident.id)
        )
    }
    removed = sorted(set(links) - wanted)
    _refuse_if_notified(session, actor=actor, incident=incident, removed=removed, now=now)
    for client_id in removed:
        session.delete(links[client_id])
    added = sorted(wanted - set(links))
    for client_id in added:
        session.add(
            IncidentClient(
                incident_id=incident.id, client_id=client_id, added_at=now, added_by_id=actor.id
            )
        )
    if not (added or removed):
        return incident_clients(session, incident.id)
    _unassign_rows(session, incident.id, removed)
    audit.record(
        session,
        actor=actor,
        action="incident.clients_changed",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details={"added": added, "removed": removed},
    )
    obligation_sync.sync_or_roll_back(
        session, incident=incident, now=now, actor=actor, notice_field="client_ids"
    )
    session.commit()
    return incident_clients(session, incident.id)


def _refuse_if_notified(
    session: Session, *, actor: User, incident: Incident, removed: list[int], now: datetime
) -> None:
    if not removed:
        return
    notified = _notified_clients(session, incident.id, removed)
    if not notified:
        return
    names = sorted(session.scalars(sa.select(Client.name).where(Client.id.in_(notified))))
    session.rollback()
    audit.record(
        session,
        actor=actor,
        action="incident.client_removal_refused",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details={"clients": names, "reason": "notice already sent"},
    )
    session.commit()
    raise InvalidTransition(
        f"{', '.join(names)} cannot be removed from this incident: the notice to "
        f"{'it' if len(names) == 1 else 'them'} has already been sent (45 CFR 164.410). "
        "Record a supplement instead if the client was named in error."
    )


def _notified_clients(session: Session, incident_id: int, client_ids: list[int]) -> set[int]:
    """Those of `client_ids` already sent a notice: a letter recorded as sent against their
    164.410 obligation, or a client notice (services/clients/notices.py) recorded as sent."""
    keys = [client_key(cid) for cid in client_ids]
    by_letter = session.scalars(
        sa.select(Obligation.source_key)
        .join(NoticeSent, NoticeSent.obligation_id == Obligation.id)
        .where(
            Obligation.incident_id == incident_id,
            Obligation.kind.in_(CLIENT_KINDS),
            Obligation.source_key.in_(keys),
        )
    )
    by_notice = session.scalars(
        sa.select(ClientNotice.client_id).where(
            ClientNotice.incident_id == incident_id,
            ClientNotice.client_id.in_(client_ids),
            ClientNotice.sent_at.is_not(None),
        )
    )
    return {int(key.split(":", 1)[1]) for key in by_letter} | set(by_notice)


def _unassign_rows(session: Session, incident_id: int, removed: list[int]) -> None:
    """Roster rows of a removed client stay (they are PHI on file) but lose the link."""
    if removed:
        session.execute(
            sa.update(RosterPerson)
            .where(RosterPerson.incident_id == incident_id, RosterPerson.client_id.in_(removed))
            .values(client_id=None)
        )


def overview(session: Session, *, actor: User, incident_id: int, now: datetime) -> list[ClientLine]:
    """Per client of a visible incident: people and people per state (current roster, merged
    duplicates excluded), the statutory and contractual due dates, the notice's sent date and
    whether it is overdue (judged in the organisation's time zone). NotFound otherwise."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    lines = {c.id: ClientLine(c) for c in incident_clients(session, incident.id)}
    _add_counts(session, incident.id, lines)
    _add_deadlines(session, incident.id, lines)
    today = local_today(session, now)
    _add_notices(session, incident.id, lines, org_zone(session), today)
    for line in lines.values():
        due = line.due
        line.overdue = line.notice_sent_on is None and due is not None and due < today
    return list(lines.values())


def _add_counts(session: Session, incident_id: int, lines: dict[int, ClientLine]) -> None:
    counted = sa.and_(roster_access.visible(incident_id), RosterPerson.duplicate_of_id.is_(None))
    rows = session.execute(
        sa.select(RosterPerson.client_id, RosterPerson.state, sa.func.count())
        .where(counted, RosterPerson.client_id.is_not(None))
        .group_by(RosterPerson.client_id, RosterPerson.state)
    ).all()
    for client_id, state, number in rows:
        line = lines.get(client_id) if client_id is not None else None
        if line is None:
            continue  # rows of a client no longer named (kept, not counted for anyone)
        line.people += number
        line.by_state[state or "unknown"] = number


def _add_deadlines(session: Session, incident_id: int, lines: dict[int, ClientLine]) -> None:
    keys = {client_key(cid): line for cid, line in lines.items()}
    rows = session.scalars(
        sa.select(Obligation).where(
            Obligation.incident_id == incident_id,
            Obligation.active,
            Obligation.kind.in_(CLIENT_KINDS),
            Obligation.source_key.in_(list(keys)),
        )
    )
    for row in rows:
        line = keys[row.source_key]
        if row.kind == "ba_to_ce_notice":
            line.statutory_due = row.effective_due_on
        else:
            line.contract_due = row.effective_due_on
    sent = session.execute(
        sa.select(Obligation.source_key, sa.func.min(NoticeSent.sent_on))
        .join(NoticeSent, NoticeSent.obligation_id == Obligation.id)
        .where(Obligation.incident_id == incident_id, Obligation.source_key.in_(list(keys)))
        .group_by(Obligation.source_key)
    ).all()
    for source_key, sent_on in sent:
        keys[source_key].notice_sent_on = sent_on


def _add_notices(
    session: Session, incident_id: int, lines: dict[int, ClientLine], zone: ZoneInfo, today: date
) -> None:
    notices = list(
        session.scalars(
            sa.select(ClientNotice)
            .where(ClientNotice.incident_id == incident_id)
            .order_by(ClientNotice.number)
        )
    )
    days = get_organisation(session).client_ack_business_days
    for client_id, client_line in lines.items():
        client_line.acks = acknowledgements.summarise(
            (n for n in notices if n.client_id == client_id), zone=zone, days=days, today=today
        )
    for notice in notices:
        line = lines.get(notice.client_id)
        if line is None:
            continue
        line.notices += 1
        line.draft_waiting = notice.sent_at is None
        if notice.sent_at is None:
            continue
        if notice.number == 1:
            sent_on = notice.sent_at.astimezone(zone).date()
            line.notice_sent_on = min(filter(None, (line.notice_sent_on, sent_on)))
            line.acknowledged_at = notice.acknowledged_at
        else:
            line.supplements_sent += 1


def client_incidents(session: Session, *, client_id: int) -> list[Incident]:
    """Every incident that touched the client (the caller checked MANAGE_CLIENTS)."""
    return list(
        session.scalars(
            sa.select(Incident)
            .join(IncidentClient, IncidentClient.incident_id == Incident.id)
            .where(IncidentClient.client_id == client_id)
            .order_by(Incident.id.desc())
        )
    )
