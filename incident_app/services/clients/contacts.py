"""Inviting a client's contact: an account with the client_contact role, tied to one client.

By default the contact gets an email with a one-time link to set their own password
(services/accounts/invitations.py); an organisation that prefers it may instead set a first
password and pass it on out of band (`password` given). The contact must enrol an
authenticator before it can reach anything (services/accounts/mfa.py `required_for`), and
then reads only its client's slice (services/clients/portal.py). Holders of MANAGE_CLIENTS
invite; each invitation is audited with the client it speaks for.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.client import ClientContact
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.accounts import invitations
from incident_app.services.accounts import users
from incident_app.services.clients import registry


def invite_contact(
    session: Session,
    *,
    actor: User,
    client_id: int,
    email: str,
    name: str,
    password: str | None,
    now: datetime,
    delivery: invitations.Delivery | None = None,
) -> ClientContact:
    """Create the contact's account for the client: with `password` None, an invitation is
    emailed through `delivery`. Raises NotAllowed, NotFound (client), ValidationFailed (email
    taken or invalid, short password, no mail server for an invitation). Commits once."""
    client = registry.get_client(session, actor=actor, client_id=client_id)
    user = users.new_account(
        session, email=email, name=name, role=Role.CLIENT_CONTACT, password=password, now=now
    )
    link = ClientContact(
        user_id=user.id, client_id=client.id, invited_at=now, invited_by_id=actor.id
    )
    session.add(link)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="client.contact_invited",
        at=now,
        subject_type="user",
        subject_id=user.id,
        details={
            "email": user.email,
            "client_id": client.id,
            "client": client.name,
            "by": "password" if password is not None else "invitation",
        },
    )
    if password is None:
        if delivery is None:
            raise ValidationFailed(invitations.NO_MAIL, field="how")
        invitations.invite(session, actor=actor, user=user, delivery=delivery, now=now)
    session.commit()
    return link


def resend_invitation(
    session: Session,
    *,
    actor: User,
    client_id: int,
    user_id: int,
    delivery: invitations.Delivery,
    now: datetime,
) -> ClientContact:
    """A fresh invitation link for the client's contact (its older links stop working).
    Raises NotAllowed, NotFound (client, or not its contact), ValidationFailed (password
    already set, disabled, no mail server). Commits once."""
    registry.get_client(session, actor=actor, client_id=client_id)
    link = session.scalar(
        sa.select(ClientContact).where(
            ClientContact.client_id == client_id, ClientContact.user_id == user_id
        )
    )
    if link is None:
        raise NotFound("No such contact of this client.")
    invitations.invite(session, actor=actor, user=link.user, delivery=delivery, now=now)
    session.commit()
    return link


def list_contacts(session: Session, *, actor: User, client_id: int) -> list[ClientContact]:
    registry.get_client(session, actor=actor, client_id=client_id)
    return list(
        session.scalars(
            sa.select(ClientContact)
            .where(ClientContact.client_id == client_id)
            .order_by(ClientContact.invited_at)
        )
    )
