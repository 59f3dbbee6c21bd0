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
from incident_app.services.accounts import sessions
from incident_app.services.accounts.users import normalise_email

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
        # With MFA on, the sign-in is only complete (and failures forgiven) after the
        # second factor: otherwise guessing codes would be free between password entries.
        if not user.mfa_enabled:
            user.failed_logins, user.locked_until = 0, None
        user.last_login_at = now
        action = "auth.password_verified" if user.mfa_enabled else "auth.login"
        audit.record(session, actor=user, action=action, at=now, details=context)
        session.commit()
        return user
    audit.record(
        session,
        actor=user,
        action="auth.login_failed",
        at=now,
        details={**context, "reason": reason},
        actor_label=None if user else context["email"] or "anonymous",
    )
    if user is not None and reason == "wrong_password":
        register_failure(
            session,
            user,
            reason,
            now,
            max_failures=max_failures,
            lock_minutes=lock_minutes,
            audit_it=False,
        )
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


def register_failure(
    session: Session,
    user: User,
    reason: str,
    now: datetime,
    *,
    max_failures: int,
    lock_minutes: int,
    audit_it: bool = True,
) -> None:
    """Count a failed password or second-factor attempt; lock after `max_failures`. No commit."""
    if audit_it:
        audit.record(
            session, actor=user, action="auth.login_failed", at=now, details={"reason": reason}
        )
    user.failed_logins += 1
    if user.failed_logins >= max_failures:
        user.locked_until = now + timedelta(minutes=lock_minutes)
        user.failed_logins = 0
        audit.record(
            session,
            actor=user,
            action="auth.locked",
            at=now,
            details={"until": user.locked_until.isoformat()},
        )


def begin_session(
    session: Session,
    *,
    user: User,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
    mfa_verified: bool,
) -> str:
    """Record the signed-in browser (listable, revocable); returns its cookie token."""
    token = sessions.start(
        session, user=user, now=now, ip=ip, user_agent=user_agent, mfa_verified=mfa_verified
    )
    if mfa_verified:
        audit.record(
            session, actor=user, action="auth.login", at=now, details={"ip": ip, "mfa": True}
        )
    session.commit()
    return token


def record_logout(
    session: Session,
    *,
    actor: User,
    now: datetime,
    reason: str = "logout",
    token: str | None = None,
) -> None:
    """Audit a sign-out: `reason` is logout, idle_timeout, absolute_timeout or revoked."""
    action = "auth.logout" if reason == "logout" else f"auth.{reason}"
    sessions.end(session, token=token, now=now, reason=reason)
    audit.record(session, actor=actor, action=action, at=now)
    session.commit()


def record_access_denied(session: Session, *, actor: User | None, path: str, now: datetime) -> None:
    audit.record(session, actor=actor, action="access.denied", at=now, details={"path": path})
    session.commit()
