"""Personal access tokens: create (shown once), list, revoke, and authenticate an API call.

A token is `bdp_` + 43 URL-safe characters (256 random bits); only its SHA-256 is stored.
`authenticate` also counts the call against the token's fixed-window rate limit in the
database, so the limit holds across gunicorn workers and hosts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from incident_app.errors import DomainError
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.api_token import ApiRateWindow
from incident_app.models.api_token import ApiToken
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.organisation import get_organisation

TOKEN_PREFIX = "bdp_"
SHOWN_PREFIX = 12  # "bdp_" and the first 8 random characters, to tell tokens apart
NAME_MAX = 100
MAX_LIFETIME = timedelta(days=366)


class TokenRejected(DomainError):
    """No usable token: missing, unknown, expired, revoked, or its owner is deactivated."""

    status_code = 401


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ApiCaller:
    """Who an API call acts as: the token's owner, through the same services as the web."""

    user: User
    token: ApiToken


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(
    session: Session, *, actor: User, name: str, expires_on: date | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token for `actor`; returns the row and the token text, which is never stored and
    cannot be shown again. It expires at the end of `expires_on` in the organisation's time
    zone (None: never). Raises ValidationFailed. Commits once."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            "Name the token after what will use it, e.g. “SIEM intake”.", field="name"
        )
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"Keep the name under {NAME_MAX} characters.", field="name")
    expires_at = _end_of_day(session, expires_on, now) if expires_on else None
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=actor.id,
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[:SHOWN_PREFIX],
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_token.created",
        at=now,
        subject_type="api_token",
        subject_id=token.id,
        details={
            "token_id": token.id,
            "name": name,
            "prefix": token.prefix,
            "expires_at": expires_at,
        },
    )
    session.commit()
    return token, raw


def _end_of_day(session: Session, day: date, now: datetime) -> datetime:
    zone = ZoneInfo(get_organisation(session).timezone)
    today = now.astimezone(zone).date()
    if day < today:
        raise ValidationFailed(
            f"The expiry date {day} is in the past (today is {today}).", field="expires_on"
        )
    if day > today + MAX_LIFETIME:
        raise ValidationFailed(
            "A token may live at most a year: choose an earlier expiry date.", field="expires_on"
        )
    return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(now.tzinfo)


def list_tokens(session: Session, *, actor: User) -> list[ApiToken]:
    """The actor's own tokens, newest first (revoked and expired ones included)."""
    return list(
        session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == actor.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, *, actor: User, token_id: int, now: datetime) -> ApiToken:
    """Revoke one of the actor's tokens at once. Raises NotFound (not theirs),
    InvalidTransition (already revoked). Commits once."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound("No such token.")
    if token.revoked_at is not None:
        raise InvalidTransition("This token was already revoked.")
    token.revoked_at = now
    audit.record(
        session,
        actor=actor,
        action="api_token.revoked",
        at=now,
        subject_type="api_token",
        subject_id=token.id,
        details={"token_id": token.id, "name": token.name, "prefix": token.prefix},
    )
    session.commit()
    return token


def authenticate(
    session: Session, *, raw_token: str, now: datetime, limit: int, window_seconds: int
) -> ApiCaller:
    """The caller behind a bearer token, with this call counted against its rate limit.

    Raises TokenRejected (401) or RateLimited (429, with retry_after seconds). Commits once
    (the count must survive even when the call itself is refused).
    """
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(raw_token)))
    _check_usable(token, now)
    assert token is not None  # _check_usable raised otherwise
    window = int(now.timestamp()) // window_seconds * window_seconds
    count = _count_request(session, token.id, window)
    token.last_used_at = now
    session.commit()
    if count > limit:
        retry_after = max(1, window + window_seconds - int(now.timestamp()))
        raise RateLimited(
            f"This token made more than {limit} requests in {window_seconds} seconds. "
            f"Try again in {retry_after} seconds.",
            retry_after=retry_after,
        )
    return ApiCaller(token.user, token)


def record_call(
    session: Session, *, caller: ApiCaller, method: str, path: str, now: datetime
) -> None:
    """Audit an API write as its token owner, naming the token. No commit: call it just before
    the service that makes the change, whose single commit then writes both, or neither."""
    audit.record(
        session,
        actor=caller.user,
        action="api.write",
        at=now,
        subject_type="api_token",
        subject_id=caller.token.id,
        details={
            "token_id": caller.token.id,
            "token_prefix": caller.token.prefix,
            "method": method,
            "path": path,
        },
    )


def _check_usable(token: ApiToken | None, now: datetime) -> None:
    if token is None:
        raise TokenRejected("The access token is not valid.")
    if token.revoked_at is not None:
        raise TokenRejected("This access token was revoked.")
    if not token.usable_at(now):
        raise TokenRejected(
            "This access token has expired. Create a new one on your account's Access tokens page."
        )
    if not token.user.active:
        raise TokenRejected("The account this token belongs to is deactivated.")


def _count_request(session: Session, token_id: int, window: int) -> int:
    """Add one to the (token, window) counter with a single upsert; drop older windows."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(sa.Table, ApiRateWindow.__table__)  # declared with Mapped[], so a Table
    count: int = session.execute(
        insert(table)
        .values(token_id=token_id, window_start=window, requests=1)
        .on_conflict_do_update(
            index_elements=["token_id", "window_start"], set_={"requests": table.c.requests + 1}
        )
        .returning(table.c.requests)
    ).scalar_one()
    session.execute(
        sa.delete(table).where(table.c.token_id == token_id, table.c.window_start < window)
    )
    return count
