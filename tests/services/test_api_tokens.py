"""Personal access tokens: shown once, stored hashed, expiry, revocation, the rate limit."""

from __future__ import annotations

import hashlib
from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.api_token import ApiRateWindow
from incident_app.models.api_token import ApiToken
from incident_app.models.audit import AuditEvent
from incident_app.models.user import Role
from incident_app.services.accounts import api_tokens
from incident_app.services.accounts.api_tokens import RateLimited
from incident_app.services.accounts.api_tokens import TokenRejected
from tests.support.factories import NOW
from tests.support.factories import make_user

LIMIT = dict(limit=3, window_seconds=60)


def test_token_is_shown_once_and_only_its_sha256_is_stored(session):
    owner = make_user(session, role=Role.RESPONDER)

    token, raw = api_tokens.create_token(
        session, actor=owner, name="SIEM intake", expires_on=None, now=NOW
    )

    assert raw.startswith("bdp_") and len(raw) == 47
    stored = session.get(ApiToken, token.id)
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (stored.token_hash, stored.prefix)
    assert stored.prefix == raw[:12]
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "api_token.created")
    ).one()
    assert event.actor_id == owner.id and event.details["token_id"] == token.id
    assert raw not in str(event.details)


def test_two_tokens_differ(session):
    owner = make_user(session)
    _, first = api_tokens.create_token(session, actor=owner, name="a", expires_on=None, now=NOW)
    _, second = api_tokens.create_token(session, actor=owner, name="b", expires_on=None, now=NOW)
    assert first != second


def test_authenticate_returns_the_owner_and_records_use(session):
    owner = make_user(session)
    token, raw = api_tokens.create_token(session, actor=owner, name="t", expires_on=None, now=NOW)

    caller = api_tokens.authenticate(session, raw_token=raw, now=NOW + timedelta(hours=1), **LIMIT)

    assert caller.user.id == owner.id and caller.token.id == token.id
    assert session.get(ApiToken, token.id).last_used_at == NOW + timedelta(hours=1)


def test_unknown_token_is_rejected(session):
    with pytest.raises(TokenRejected, match="not valid"):
        api_tokens.authenticate(session, raw_token="bdp_guess", now=NOW, **LIMIT)


def test_token_expires_at_the_end_of_its_day_in_the_organisation_zone(session):
    owner = make_user(session)
    # NOW is 2026-03-02 15:30 UTC = 10:30 in New York; the token works through March 3 there.
    token, raw = api_tokens.create_token(
        session, actor=owner, name="t", expires_on=date(2026, 3, 3), now=NOW
    )
    assert token.expires_at.isoformat() == "2026-03-04T05:00:00+00:00"

    api_tokens.authenticate(
        session, raw_token=raw, now=token.expires_at - timedelta(seconds=1), **LIMIT
    )
    with pytest.raises(TokenRejected, match="expired"):
        api_tokens.authenticate(session, raw_token=raw, now=token.expires_at, **LIMIT)


@pytest.mark.parametrize(
    ("expires_on", "message"),
    [
        (date(2026, 3, 1), "in the past"),
        (date(2027, 3, 10), "at most a year"),
    ],
)
def test_bad_expiry_dates_are_refused_and_nothing_is_stored(session, expires_on, message):
    owner = make_user(session)
    with pytest.raises(ValidationFailed, match=message) as caught:
        api_tokens.create_token(session, actor=owner, name="t", expires_on=expires_on, now=NOW)
    assert caught.value.field == "expires_on"
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_token_needs_a_name(session):
    owner = make_user(session)
    with pytest.raises(ValidationFailed, match="Name the token") as caught:
        api_tokens.create_token(session, actor=owner, name="  ", expires_on=None, now=NOW)
    assert caught.value.field == "name"


def test_revoked_token_stops_working_and_revoking_is_audited(session):
    owner = make_user(session)
    token, raw = api_tokens.create_token(session, actor=owner, name="t", expires_on=None, now=NOW)

    api_tokens.revoke_token(session, actor=owner, token_id=token.id, now=NOW)

    with pytest.raises(TokenRejected, match="revoked"):
        api_tokens.authenticate(session, raw_token=raw, now=NOW, **LIMIT)
    with pytest.raises(InvalidTransition, match="already revoked"):
        api_tokens.revoke_token(session, actor=owner, token_id=token.id, now=NOW)
    assert (
        session.scalar(
            sa.select(AuditEvent.details).where(AuditEvent.action == "api_token.revoked")
        )["token_id"]
        == token.id
    )


def test_nobody_else_can_revoke_or_list_a_token(session):
    owner = make_user(session)
    other = make_user(session, role=Role.PRIVACY_OFFICER)
    token, _ = api_tokens.create_token(session, actor=owner, name="t", expires_on=None, now=NOW)

    with pytest.raises(NotFound):
        api_tokens.revoke_token(session, actor=other, token_id=token.id, now=NOW)
    assert api_tokens.list_tokens(session, actor=other) == []
    assert [t.id for t in api_tokens.list_tokens(session, actor=owner)] == [token.id]


def test_token_of_a_deactivated_user_is_rejected(session):
    owner = make_user(session)
    _, raw = api_tokens.create_token(session, actor=owner, name="t", expires_on=None, now=NOW)
    owner.active = False
    session.commit()

    with pytest.raises(TokenRejected, match="deactivated"):
        api_tokens.authenticate(session, raw_token=raw, now=NOW, **LIMIT)


def test_rate_limit_is_a_fixed_window_counted_in_the_database(session):
    owner = make_user(session)
    token, raw = api_tokens.create_token(session, actor=owner, name="t", expires_on=None, now=NOW)
    # NOW is 15:30:00, the start of a 60-second window.
    for second in (0, 10, 20):
        api_tokens.authenticate(
            session, raw_token=raw, now=NOW + timedelta(seconds=second), **LIMIT
        )

    with pytest.raises(RateLimited) as caught:
        api_tokens.authenticate(session, raw_token=raw, now=NOW + timedelta(seconds=45), **LIMIT)

    assert caught.value.retry_after == 15
    assert (
        session.scalar(sa.select(ApiRateWindow.requests).where(ApiRateWindow.token_id == token.id))
        == 4
    )
    # The next window starts from zero and the old window's row is removed.
    api_tokens.authenticate(session, raw_token=raw, now=NOW + timedelta(seconds=61), **LIMIT)
    rows = session.execute(
        sa.select(ApiRateWindow.window_start, ApiRateWindow.requests).where(
            ApiRateWindow.token_id == token.id
        )
    ).all()
    assert rows == [(int(NOW.timestamp()) + 60, 1)]


def test_each_token_has_its_own_limit(session):
    owner = make_user(session)
    _, first = api_tokens.create_token(session, actor=owner, name="a", expires_on=None, now=NOW)
    _, second = api_tokens.create_token(session, actor=owner, name="b", expires_on=None, now=NOW)
    for _ in range(3):
        api_tokens.authenticate(session, raw_token=first, now=NOW, **LIMIT)

    assert api_tokens.authenticate(session, raw_token=second, now=NOW, **LIMIT).token.name == "b"
