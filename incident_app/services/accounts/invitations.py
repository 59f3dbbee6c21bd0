"""Invitations: a new person sets their own first password through a one-time emailed link.

The link carries `<invitation id>.<secret>`; only the SHA-256 of the secret is stored. A link
works once, for INVITATION_HOURS, for an active account that has not set a password yet; a
new invitation of the same account voids the older ones. Wrong secrets count against the
account like wrong passwords at sign-in (signin.register_failure), so a link cannot be
guessed faster than a password. Every issue, use and refusal is audited, never the secret.
The email leaves through the outbox (outbox.deliver_email) with its body sealed: the link is a
credential until it is used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import passwords
from incident_app.access import Capability
from incident_app.access import require
from incident_app.crypto import KeyRing
from incident_app.errors import DomainError
from incident_app.errors import ValidationFailed
from incident_app.models.invitation import AccountInvitation
from incident_app.models.notification import EmailMessage
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.accounts import signin
from incident_app.services.accounts import users
from incident_app.services.reminders import notifications

LINK_PATH = "/invitation/"  # the public set-password page (blueprints/auth)
NO_MAIL = (
    "Email is not configured (SMTP_HOST is empty), so an invitation cannot be sent: "
    "set a first password instead and give it to them out of band."
)
REFUSALS = {
    "wrong_token": "This invitation link is not valid. Copy the whole link from the email, "
    "or ask whoever invited you to send a new one.",
    "locked": "Too many attempts with this link. Wait a few minutes and try again.",
    "used": "This invitation link was already used. Sign in with the password you set.",
    "replaced": "A newer invitation was sent to you: use the link in the latest email.",
    "expired": "This invitation link has expired. Ask whoever invited you to send a new one.",
    "inactive": "This account is disabled. Ask your BreachDesk administrator.",
}


class InvitationRefused(DomainError):
    """The link cannot be used; `reason` is a key of REFUSALS (audited), the text is its
    message."""

    status_code = 400

    def __init__(self, reason: str) -> None:
        super().__init__(REFUSALS[reason])
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """How invitations are sent: links under `base_url` (None: no mail server, so none can
    be sent), bodies sealed with `keyring`, links valid for `hours`."""

    base_url: str | None
    keyring: KeyRing
    hours: int


def has_password(user: User) -> bool:
    return user.password_hash != passwords.UNUSABLE


def invited_ids(session: Session, *, actor: User) -> set[int]:
    """Accounts still waiting on their emailed invitation: no password set yet and an invitation
    not used. One query for the admin user list (MANAGE_USERS)."""
    require(actor, Capability.MANAGE_USERS)
    return set(
        session.scalars(
            sa.select(AccountInvitation.user_id)
            .join(User, User.id == AccountInvitation.user_id)
            .where(User.password_hash == passwords.UNUSABLE, AccountInvitation.used_at.is_(None))
            .distinct()
        )
    )


def create_user(
    session: Session,
    *,
    actor: User,
    email: str,
    name: str,
    role: Role,
    delivery: Delivery,
    now: datetime,
) -> User:
    """users.create_user, but the person sets the password through an emailed link.
    Raises NotAllowed, ValidationFailed (as create_user; no mail server). Commits once."""
    require(actor, Capability.MANAGE_USERS)
    user = users.new_account(session, email=email, name=name, role=role, password=None, now=now)
    users.record_created(session, actor=actor, user=user, now=now, invited=True)
    invite(session, actor=actor, user=user, delivery=delivery, now=now)
    session.commit()
    return user


def resend(
    session: Session, *, actor: User, user_id: int, delivery: Delivery, now: datetime
) -> AccountInvitation:
    """A new link for an account that has not set its password; the older links stop working.
    Client contacts are re-invited by MANAGE_CLIENTS holders, other accounts by MANAGE_USERS.
    Raises NotAllowed, NotFound, ValidationFailed. Commits once."""
    user = users.get_user(session, user_id)
    client_contact = user.role is Role.CLIENT_CONTACT
    require(actor, Capability.MANAGE_CLIENTS if client_contact else Capability.MANAGE_USERS)
    invitation = invite(session, actor=actor, user=user, delivery=delivery, now=now)
    session.commit()
    return invitation


def invite(
    session: Session, *, actor: User | None, user: User, delivery: Delivery, now: datetime
) -> AccountInvitation:
    """Void the account's open invitations, add a new one, its sealed email and the audit
    event. Raises ValidationFailed (no mail server, disabled account, password already set).
    No commit: the caller's transaction creates the account (or re-sends) with it."""
    if delivery.base_url is None:
        raise ValidationFailed(NO_MAIL, field="how")
    if not user.active:
        raise ValidationFailed(f"{user.email} is disabled: reactivate it first.", field="how")
    if has_password(user):
        raise ValidationFailed(
            f"{user.email} has already set a password and signs in with it.", field="how"
        )
    voided = _void_open(session, user_id=user.id, now=now)
    secret = secrets.token_urlsafe(32)
    invitation = AccountInvitation(
        user_id=user.id,
        token_hash=_digest(secret),
        created_at=now,
        created_by_id=actor.id if actor is not None else None,
        expires_at=now + timedelta(hours=delivery.hours),
    )
    session.add(invitation)
    session.flush()
    link = f"{delivery.base_url}{LINK_PATH}{invitation.id}.{secret}"
    body = _email_body(user, actor, link, delivery)
    session.add(
        EmailMessage(
            to_address=user.email,
            subject="[BreachDesk] Set your password",
            body=notifications.seal_body(delivery.keyring, body),
            created_at=now,
            next_attempt_at=now,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="account.invitation_sent",
        at=now,
        subject_type="user",
        subject_id=user.id,
        details={
            "email": user.email,
            "invitation_id": invitation.id,
            "expires_at": invitation.expires_at.isoformat(),
            "voided": voided,
        },
    )
    return invitation


def _void_open(session: Session, *, user_id: int, now: datetime) -> list[int]:
    open_ones = list(
        session.scalars(
            sa.select(AccountInvitation).where(
                AccountInvitation.user_id == user_id,
                AccountInvitation.used_at.is_(None),
                AccountInvitation.voided_at.is_(None),
            )
        )
    )
    for old in open_ones:
        old.voided_at = now
    return [old.id for old in open_ones]


def _email_body(user: User, actor: User | None, link: str, delivery: Delivery) -> str:
    who = f"{actor.name} created" if actor is not None else "An administrator created"
    then = (
        "Then sign in with your email address and that password; you will be asked to set up "
        "an authenticator app before you can read anything."
        if user.role is Role.CLIENT_CONTACT
        else "Then sign in with your email address and that password."
    )
    return "\n".join(
        [
            f"Hello {user.name},",
            "",
            f"{who} a BreachDesk account for you ({user.email}).",
            f"Choose your own password with this link. It works once, within {delivery.hours} "
            "hours:",
            "",
            link,
            "",
            then,
            "",
            "If you did not expect this email, ignore it: without the link nobody can set the "
            "password.",
        ]
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _parse(token: str) -> tuple[int, str] | None:
    head, dot, secret = token.partition(".")
    if not dot or not head.isdigit() or not secret or len(head) > 18:
        return None
    return int(head), secret


def _matching(session: Session, token: str) -> tuple[AccountInvitation | None, bool]:
    """The invitation the token names (if any) and whether its secret matches."""
    parsed = _parse(token)
    if parsed is None:
        return None, False
    invitation = session.get(AccountInvitation, parsed[0])
    if invitation is None:
        return None, False
    return invitation, hmac.compare_digest(invitation.token_hash, _digest(parsed[1]))


def _refusal(invitation: AccountInvitation, now: datetime) -> str | None:
    user = invitation.user
    if user.locked_until is not None and user.locked_until > now:
        return "locked"
    if invitation.used_at is not None:
        return "used"
    if invitation.voided_at is not None:
        return "replaced"
    if invitation.expires_at <= now:
        return "expired"
    if not user.active:
        return "inactive"
    return None


def check_link(session: Session, *, token: str, now: datetime) -> User:
    """Read-only: the account the link would set a password for now (the page shows the
    form only then). Raises InvitationRefused; nothing is written or counted (accept does)."""
    invitation, matches = _matching(session, token)
    if invitation is None or not matches:
        raise InvitationRefused("wrong_token")
    reason = _refusal(invitation, now)
    if reason is not None:
        raise InvitationRefused(reason)
    return invitation.user


def accept(
    session: Session,
    *,
    token: str,
    password: str,
    now: datetime,
    max_failures: int,
    lock_minutes: int,
    remote_addr: str | None = None,
) -> User:
    """Set the account's first password with the link. Raises InvitationRefused (audited,
    committed; a wrong secret counts as a failed sign-in of the account) or ValidationFailed
    (the password policy: nothing written, the link still works). Commits once."""
    invitation, matches = _matching(session, token)
    reason = "wrong_token" if invitation is None or not matches else _refusal(invitation, now)
    if reason is not None or invitation is None:
        limits = (max_failures, lock_minutes)
        _refuse(session, invitation, reason or "wrong_token", now, remote_addr, limits)
    passwords.check_password_policy(password)
    user = invitation.user
    invitation.used_at = now
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now
    user.session_version += 1
    user.failed_logins, user.locked_until = 0, None
    audit.record(
        session,
        actor=user,
        action="account.invitation_used",
        at=now,
        subject_type="user",
        subject_id=user.id,
        details={"email": user.email, "invitation_id": invitation.id, "ip": remote_addr},
    )
    session.commit()
    return user


def _refuse(
    session: Session,
    invitation: AccountInvitation | None,
    reason: str,
    now: datetime,
    remote_addr: str | None,
    limits: tuple[int, int],
) -> NoReturn:
    user = invitation.user if invitation is not None else None
    audit.record(
        session,
        actor=user,
        actor_label=None if user is not None else "anonymous (invitation link)",
        action="account.invitation_refused",
        at=now,
        subject_type="user" if user is not None else None,
        subject_id=user.id if user is not None else None,
        details={
            "reason": reason,
            "invitation_id": invitation.id if invitation is not None else None,
            "ip": remote_addr,
        },
    )
    if user is not None and reason == "wrong_token":
        signin.register_failure(
            session,
            user,
            "wrong_invitation_token",
            now,
            max_failures=limits[0],
            lock_minutes=limits[1],
            audit_it=False,
        )
    session.commit()
    raise InvitationRefused(reason)
