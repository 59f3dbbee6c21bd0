"""User accounts: create, change role, deactivate, change password, the first admin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from email_validator import EmailNotValidError
from email_validator import validate_email
from sqlalchemy.orm import Session

from incident_app import passwords
from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.passwords import check_password_policy
from incident_app.services import audit
from incident_app.services.accounts import sessions


def normalise_email(raw: str) -> str:
    """Lower-cased, syntax-checked address; raises ValidationFailed(field="email")."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationFailed(f"Enter a valid email address ({error}).", field="email") from error
    return result.normalized.lower()


def create_user(
    session: Session,
    *,
    actor: User | None,
    email: str,
    name: str,
    role: Role,
    password: str,
    now: datetime,
    actor_label: str | None = None,
) -> User:
    """Create an account. `actor` None means the command line (audited as such).

    Raises NotAllowed, ValidationFailed (duplicate email, short password, bad role).
    """
    if actor is not None:
        require(actor, Capability.MANAGE_USERS)
    user = new_account(session, email=email, name=name, role=role, password=password, now=now)
    record_created(session, actor=actor, user=user, now=now, actor_label=actor_label)
    session.commit()
    return user


def record_created(
    session: Session,
    *,
    actor: User | None,
    user: User,
    now: datetime,
    actor_label: str | None = None,
    invited: bool = False,
) -> None:
    """The `user.created` audit event (no commit). `invited`: the person sets the password
    through an emailed link (services/accounts/invitations.py)."""
    details: dict[str, object] = {"email": user.email, "role": user.role.value}
    if invited:
        details["invited"] = True
    audit.record(
        session,
        actor=actor,
        actor_label=actor_label,
        action="user.created",
        at=now,
        subject_type="user",
        subject_id=user.id,
        details=details,
    )


def new_account(
    session: Session, *, email: str, name: str, role: Role, password: str | None, now: datetime
) -> User:
    """The account row, checked and flushed; no audit, no commit (the caller does both).
    `password` None: nobody can sign in until the person sets one through an invitation."""
    address = normalise_email(email)
    if not name.strip():
        raise ValidationFailed("Enter the person's name.", field="name")
    try:
        role = Role(role)
    except ValueError as error:
        raise ValidationFailed(f"Unknown role {role!r}.", field="role") from error
    if password is not None:
        check_password_policy(password)
    if session.scalar(sa.select(User.id).where(User.email == address)) is not None:
        raise ValidationFailed("A user with this email address already exists.", field="email")
    user = User(
        email=address,
        name=name.strip(),
        role=role,
        password_hash=passwords.UNUSABLE if password is None else passwords.hash_password(password),
        password_changed_at=None if password is None else now,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def list_users(session: Session, *, actor: User) -> list[User]:
    require(actor, Capability.MANAGE_USERS)
    return list(session.scalars(sa.select(User).order_by(User.active.desc(), User.email)))


def change_role(session: Session, *, actor: User, user_id: int, role: Role, now: datetime) -> User:
    require(actor, Capability.MANAGE_USERS)
    user = get_user(session, user_id)
    try:
        role = Role(role)
    except ValueError as error:
        raise ValidationFailed(f"Unknown role {role!r}.", field="role") from error
    if user.id == actor.id and role is not Role.ADMIN:
        raise ValidationFailed("You cannot remove your own admin role.", field="role")
    if user.role is role:
        return user
    old = user.role
    user.role = role
    audit.record(
        session,
        actor=actor,
        action="user.role_changed",
        at=now,
        subject_type="user",
        subject_id=user.id,
        details={"email": user.email, "from": old.value, "to": role.value},
    )
    session.commit()
    return user


def set_active(session: Session, *, actor: User, user_id: int, active: bool, now: datetime) -> User:
    """Deactivate (never delete) or reactivate an account. Deactivation ends its sessions."""
    require(actor, Capability.MANAGE_USERS)
    user = get_user(session, user_id)
    if user.id == actor.id and not active:
        raise ValidationFailed("You cannot deactivate your own account.", field="active")
    if user.active == active:
        return user
    user.active = active
    user.session_version += 1
    if not active:
        sessions.revoke_all(session, user_id=user.id, now=now, reason="deactivated")
    if active:
        user.failed_logins, user.locked_until = 0, None
    audit.record(
        session,
        actor=actor,
        action="user.reactivated" if active else "user.deactivated",
        at=now,
        subject_type="user",
        subject_id=user.id,
        details={"email": user.email},
    )
    session.commit()
    return user


def change_password(
    session: Session,
    *,
    actor: User,
    current_password: str,
    new_password: str,
    now: datetime,
    keep_session: str | None = None,
) -> User:
    """Change one's own password; every other session of this user stops working."""
    user = get_user(session, actor.id)
    if not passwords.verify_password(user.password_hash, current_password):
        raise ValidationFailed("Your current password is not correct.", field="current_password")
    check_password_policy(new_password, field="new_password")
    if new_password == current_password:
        raise ValidationFailed(
            "The new password must differ from the current one.", field="new_password"
        )
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = now
    user.session_version += 1
    sessions.revoke_all(
        session, user_id=user.id, now=now, reason="password_changed", keep=keep_session
    )
    audit.record(
        session,
        actor=user,
        action="user.password_changed",
        at=now,
        subject_type="user",
        subject_id=user.id,
    )
    session.commit()
    return user


@dataclass(frozen=True)
class BootstrapResult:
    created: bool
    email: str
    generated_password: str | None = None


def ensure_admin(
    session: Session, *, email: str, password: str | None, now: datetime
) -> BootstrapResult:
    """Create the first admin on first run; do nothing when any admin exists."""
    existing = session.scalar(sa.select(User).where(User.role == Role.ADMIN).limit(1))
    if existing is not None:
        return BootstrapResult(created=False, email=existing.email)
    generated = None if password else secrets.token_urlsafe(18)
    user = create_user(
        session,
        actor=None,
        actor_label="system (first run)",
        email=email,
        name="Administrator",
        role=Role.ADMIN,
        password=password or generated or "",
        now=now,
    )
    return BootstrapResult(created=True, email=user.email, generated_password=generated)
