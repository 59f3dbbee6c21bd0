"""Sign-in with database-kept lockout (shared by every gunicorn worker), sign-out, timeouts."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import passwords
from incident_app.errors import ValidationFailed
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.users import normalise_email

GENERIC_FAILURE = "Invalid email or password."


class LoginFailed(Exception):
    """Always carries the one generic message: no account enumeration."""

    def __init__(self) -> None:
        super().__init__(GENERIC_FAILURE)


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    now: datetime,
    max_failures: int,
    lock_minutes: int,
    remote_addr: str | None = None,
) -> User:
    """Return the user, or record the failure (and maybe a lockout) and raise LoginFailed.

    Every path runs exactly one argon2 verification, so timing does not tell whether the
    email exists. Commits once either way.
    """
    user = _find_user(session, email)
    password_ok = passwords.verify_password(user.password_hash if user else None, password)
    reason = _refusal(user, password_ok, now)
    context = {"email": email.strip().lower()[:254], "ip": remote_addr}
    if reason is None and user is not None:
        user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
        audit.record(session, actor=user, action="auth.login", at=now, details=context)
        session.commit()
        return user
    _record_failure(session, user, reason or "wrong_password", now, context,
                    max_failures=max_failures, lock_minutes=lock_minutes)
    session.commit()
    raise LoginFailed()


def _find_user(session: Session, email: str) -> User | None:
    try:
        address = normalise_email(email)
    except ValidationFailed:
        return None
    return session.scalar(sa.select(User).where(User.email == address))


def _refusal(user: User | None, password_ok: bool, now: datetime) -> str | None:
    if user is None:
        return "unknown_email"
    if not user.active:
        return "inactive"
    if user.locked_until is not None and user.locked_until > now:
        return "locked"
    if not password_ok:
        return "wrong_password"
    return None


def _record_failure(
    session: Session, user: User | None, reason: str, now: datetime, context: dict,
    *, max_failures: int, lock_minutes: int,
) -> None:
    details = {**context, "reason": reason}
    audit.record(session, actor=user, action="auth.login_failed", at=now, details=details,
                 actor_label=None if user else context["email"] or "anonymous")
    if user is None or reason != "wrong_password":
        return
    user.failed_logins += 1
    if user.failed_logins >= max_failures:
        user.locked_until = now + timedelta(minutes=lock_minutes)
        user.failed_logins = 0
        audit.record(session, actor=user, action="auth.locked", at=now,
                     details={**context, "until": user.locked_until.isoformat()})


def record_logout(session: Session, *, actor: User, now: datetime, reason: str = "logout") -> None:
    """Audit a sign-out: `reason` is logout, idle_timeout or absolute_timeout."""
    action = "auth.logout" if reason == "logout" else f"auth.{reason}"
    audit.record(session, actor=actor, action=action, at=now)
    session.commit()


def record_access_denied(
    session: Session, *, actor: User | None, path: str, now: datetime
) -> None:
    audit.record(session, actor=actor, action="access.denied", at=now, details={"path": path})
    session.commit()
