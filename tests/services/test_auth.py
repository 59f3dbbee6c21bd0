"""Sign-in: one generic failure, lockout kept in the database, everything audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app.models.audit import AuditEvent
from incident_app.services.accounts import signin as auth
from tests.support.factories import NOW
from tests.support.factories import PASSWORD
from tests.support.factories import make_user

LIMITS = {"max_failures": 5, "lock_minutes": 15}


def _login(session, email, password, now=NOW):
    return auth.authenticate(session, email=email, password=password, now=now, **LIMITS)


def _reasons(session) -> list[str]:
    rows = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))
    return [e.details.get("reason", e.action) for e in rows]


def test_success_resets_failures_and_is_audited(session) -> None:
    user = make_user(session)
    user.failed_logins = 3

    assert _login(session, user.email.upper(), PASSWORD) is user
    assert user.failed_logins == 0 and user.last_login_at == NOW
    assert _reasons(session) == ["auth.login"]


@pytest.mark.parametrize("email", ["nobody@example.org", "not an email"])
def test_unknown_email_gets_the_generic_message(session, email) -> None:
    with pytest.raises(auth.LoginFailed, match="^Invalid email or password.$"):
        _login(session, email, PASSWORD)
    assert _reasons(session) == ["unknown_email"]


def test_five_failures_lock_the_account_for_fifteen_minutes(session) -> None:
    user = make_user(session)
    for _ in range(5):
        with pytest.raises(auth.LoginFailed):
            _login(session, user.email, "wrong password")

    assert user.locked_until == NOW + timedelta(minutes=15)
    with pytest.raises(auth.LoginFailed, match="^Invalid email or password.$"):
        _login(session, user.email, PASSWORD, now=NOW + timedelta(minutes=14))
    assert _login(session, user.email, PASSWORD, now=NOW + timedelta(minutes=16)) is user
    assert _reasons(session).count("auth.locked") == 1
    assert "locked" in _reasons(session)


def test_deactivated_user_cannot_sign_in(session) -> None:
    user = make_user(session, active=False)

    with pytest.raises(auth.LoginFailed):
        _login(session, user.email, PASSWORD)
    assert _reasons(session) == ["inactive"]
