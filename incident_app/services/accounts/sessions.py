"""Server-side session records: list and revoke signed-in browsers (164.312(a)(2)(iii))."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from incident_app.errors import NotFound
from incident_app.models.security import UserSession
from incident_app.models.user import User
from incident_app.services import audit

TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session,
    *,
    user: User,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
    mfa_verified: bool,
) -> str:
    """Record a new signed-in session; return the token for the (signed) session cookie.
    No commit: the sign-in service commits it with its audit event."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id=_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip=(ip or "")[:64],
            user_agent=(user_agent or "")[:300],
            mfa_verified=mfa_verified,
        )
    )
    return token


def check(session: Session, *, user_id: int, token: str | None, now: datetime) -> bool:
    """True while the session is live; refreshes last-seen at most once a minute."""
    if not token:
        return False
    record = session.get(UserSession, _digest(token))
    if record is None or record.user_id != user_id or record.revoked_at is not None:
        return False
    if now - record.last_seen_at > TOUCH_EVERY:
        record.last_seen_at = now
        session.commit()
    return True


def list_active(session: Session, *, user: User) -> list[UserSession]:
    return list(
        session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            .order_by(UserSession.last_seen_at.desc())
        )
    )


def is_current(record: UserSession, token: str | None) -> bool:
    return token is not None and record.id == _digest(token)


def revoke(
    session: Session, *, actor: User, session_id: str, now: datetime, reason: str = "revoked"
) -> None:
    """Revoke one of the actor's own sessions (NotFound for anyone else's)."""
    record = session.get(UserSession, session_id)
    if record is None or record.user_id != actor.id or record.revoked_at is not None:
        raise NotFound("No such session.")
    record.revoked_at, record.revoked_reason = now, reason
    audit.record(
        session,
        actor=actor,
        action="auth.session_revoked",
        at=now,
        subject_type="session",
        subject_id=session_id[:12],
    )
    session.commit()


def revoke_all(
    session: Session, *, user_id: int, now: datetime, reason: str, keep: str | None = None
) -> int:
    """Revoke every live session of a user (no commit); `keep` spares the current one."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep:
        query = query.where(UserSession.id != _digest(keep))
    # An UPDATE gives a CursorResult (typed as a plain Result): it has the row count.
    statement = query.values(revoked_at=now, revoked_reason=reason)
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount or 0


def end(session: Session, *, token: str | None, now: datetime, reason: str) -> None:
    """Mark the current session ended (sign-out, timeout). No commit."""
    if token:
        record = session.get(UserSession, _digest(token))
        if record is not None and record.revoked_at is None:
            record.revoked_at, record.revoked_reason = now, reason
