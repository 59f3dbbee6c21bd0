"""What a client contact (Role.CLIENT_CONTACT) may read: only its own client's slice of the
incidents that name that client — the notices, the individuals those notices identified, the
client's obligations and their status. Everything else answers NotFound and is audited
(`deny`), whether it is another client, another incident, or any other page of the app.

The confinement is enforced twice: a request hook lets a client contact reach only the portal
and the sign-in pages (web.py `_confine_client_contacts`), and every function here checks the
contact's client against the client in the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import NotFound
from incident_app.models.client import Client
from incident_app.models.client import ClientContact
from incident_app.models.client import ClientNotice
from incident_app.models.client import ClientNoticePerson
from incident_app.models.client import IncidentClient
from incident_app.models.incident import Incident
from incident_app.models.obligation import Obligation
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.clients import identities
from incident_app.services.obligations.recorded import client_key
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import people

NOT_FOUND = "Not found."


@dataclass
class PortalCase:
    """One incident as the client's contact sees it."""

    incident: Incident
    client: Client
    obligations: list[Obligation]
    notices: list[ClientNotice]
    people: int = 0
    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def due(self) -> date | None:
        days = [o.effective_due_on for o in self.obligations if o.effective_due_on is not None]
        return min(days) if days else None


def is_contact(actor: object) -> bool:
    """Whether `actor` (a user, or Flask-Login's anonymous user) is a client contact."""
    return getattr(actor, "role", None) is Role.CLIENT_CONTACT


def contact_of(session: Session, user_id: int) -> ClientContact | None:
    return session.scalar(sa.select(ClientContact).where(ClientContact.user_id == user_id))


def deny(session: Session, *, actor: User | None, path: str, now: datetime) -> NotFound:
    """Audit a client contact's reach outside its slice; the caller raises what this returns
    (NotFound: nothing is revealed, not even that the thing exists). Commits the audit event
    alone: whatever the request had done is rolled back first."""
    session.rollback()
    audit.record(
        session,
        actor=actor,
        action="access.denied",
        at=now,
        details={"path": path[:500], "role": Role.CLIENT_CONTACT.value},
    )
    session.commit()
    return NotFound(NOT_FOUND)


def own_client(session: Session, *, actor: User, client_id: int, now: datetime) -> Client:
    """The contact's client when `client_id` is it; NotFound (audited) otherwise."""
    link = contact_of(session, actor.id) if is_contact(actor) and actor.active else None
    if link is None or link.client_id != client_id:
        raise deny(session, actor=actor, path=f"client:{client_id}", now=now)
    return link.client


def home(session: Session, *, actor: User, now: datetime) -> tuple[Client, list[Incident]]:
    """The contact's client and the incidents that name it: those with a notice awaiting
    its acknowledgement first, then newest first."""
    link = contact_of(session, actor.id) if is_contact(actor) else None
    if link is None:
        raise deny(session, actor=actor, path="portal", now=now)
    incidents = session.scalars(
        sa.select(Incident)
        .join(IncidentClient, IncidentClient.incident_id == Incident.id)
        .where(IncidentClient.client_id == link.client_id)
        .order_by(Incident.id.desc())
    )
    waiting = awaiting_by_incident(session, link.client_id)
    return link.client, sorted(incidents, key=lambda i: not waiting.get(i.id))


def awaiting_by_incident(session: Session, client_id: int) -> dict[int, int]:
    """Sent notices the client has not acknowledged, counted per incident (the caller checked
    that `client_id` is the contact's own)."""
    rows = session.execute(
        sa.select(ClientNotice.incident_id, sa.func.count())
        .where(
            ClientNotice.client_id == client_id,
            ClientNotice.sent_at.is_not(None),
            ClientNotice.acknowledged_at.is_(None),
        )
        .group_by(ClientNotice.incident_id)
    )
    return {incident_id: number for incident_id, number in rows}


def case(
    session: Session, *, actor: User, client_id: int, incident_id: int, now: datetime
) -> PortalCase:
    """The incident's slice for the client: its obligations (164.410 and the BAA's), the sent
    notices, and its people counted per state. NotFound (audited) for anything not its own."""
    client = own_client(session, actor=actor, client_id=client_id, now=now)
    incident = _named_incident(session, actor, client.id, incident_id, now)
    obligations = session.scalars(
        sa.select(Obligation)
        .where(
            Obligation.incident_id == incident.id,
            Obligation.active,
            sa.or_(
                Obligation.source_key == client_key(client.id),
                Obligation.source_key.startswith(f"{client_key(client.id)} "),  # its state notices
            ),
        )
        .order_by(Obligation.kind)
    )
    # What still needs the contact's acknowledgement comes first, then by number.
    sent = sorted(
        _sent_notices(session, incident.id, client.id),
        key=lambda n: (n.acknowledged_at is not None, n.number),
    )
    found = PortalCase(incident, client, list(obligations), sent)
    counted = sa.and_(
        roster_access.visible(incident.id),
        RosterPerson.duplicate_of_id.is_(None),
        RosterPerson.client_id == client.id,
    )
    for state, number in session.execute(
        sa.select(RosterPerson.state, sa.func.count()).where(counted).group_by(RosterPerson.state)
    ):
        found.people += number
        found.by_state[state or "unknown"] = number
    return found


def as_json(found: PortalCase) -> dict[str, Any]:
    """The case as the portal's JSON resource: status, deadlines, notices, counts (no PHI)."""
    return {
        "client": found.client.name,
        "incident": {"reference": found.incident.reference, "status": found.incident.status.value},
        "individuals": found.people,
        "individuals_by_state": found.by_state,
        "obligations": [
            {
                "kind": o.kind,
                "citation": o.citation,
                "due_on": o.effective_due_on.isoformat() if o.effective_due_on else None,
            }
            for o in found.obligations
        ],
        "notices": [
            {
                "number": n.number,
                "label": n.label,
                "identities": n.identities_count,
                "sent_at": n.sent_at.isoformat() if n.sent_at else None,
                "acknowledged_at": n.acknowledged_at.isoformat() if n.acknowledged_at else None,
            }
            for n in found.notices
        ],
    }


def _named_incident(
    session: Session, actor: User, client_id: int, incident_id: int, now: datetime
) -> Incident:
    incident = session.scalar(
        sa.select(Incident)
        .join(IncidentClient, IncidentClient.incident_id == Incident.id)
        .where(Incident.id == incident_id, IncidentClient.client_id == client_id)
    )
    if incident is None:
        raise deny(session, actor=actor, path=f"client:{client_id}/incident:{incident_id}", now=now)
    return incident


def _sent_notices(session: Session, incident_id: int, client_id: int) -> list[ClientNotice]:
    return list(
        session.scalars(
            sa.select(ClientNotice)
            .where(
                ClientNotice.incident_id == incident_id,
                ClientNotice.client_id == client_id,
                ClientNotice.sent_at.is_not(None),
            )
            .order_by(ClientNotice.number)
        )
    )


def contact_notice(
    session: Session,
    *,
    actor: User,
    client_id: int,
    incident_id: int,
    notice_id: int,
    now: datetime,
) -> ClientNotice:
    """A sent notice of the contact's own client on that incident; NotFound (audited) for a
    draft, another client's notice or another incident's."""
    client = own_client(session, actor=actor, client_id=client_id, now=now)
    notice = session.get(ClientNotice, notice_id)
    if (
        notice is None
        or notice.client_id != client.id
        or notice.incident_id != incident_id
        or notice.sent_at is None
    ):
        raise deny(session, actor=actor, path=f"client_notice:{notice_id}", now=now)
    return notice


def individuals(
    session: Session,
    *,
    actor: User,
    client_id: int,
    incident_id: int,
    keyring: KeyRing,
    now: datetime,
) -> list[dict[str, Any]]:
    """The client's individuals identified to it by sent notices: name, date of birth, state
    (decrypted for the contact; the read is audited). NotFound (audited) otherwise."""
    found = case(session, actor=actor, client_id=client_id, incident_id=incident_id, now=now)
    given = set(
        session.scalars(
            sa.select(ClientNoticePerson.person_key).where(
                ClientNoticePerson.notice_id.in_([n.id for n in found.notices])
            )
        )
    )
    rows = []
    for person in identities.client_people(session, incident_id, client_id):
        if identities.person_key(person) not in given:
            continue
        phi = people.decrypt(keyring, person)
        rows.append(
            {
                "name": f"{phi.get('fn', '')} {phi.get('ln', '')}".strip(),
                "date_of_birth": phi.get("dob", ""),
                "state": person.state or "",
            }
        )
    audit.record(
        session,
        actor=actor,
        action="portal.individuals_viewed",
        at=now,
        subject_type="client",
        subject_id=client_id,
        incident_id=incident_id,
        details={"count": len(rows)},
    )
    session.commit()
    return rows
