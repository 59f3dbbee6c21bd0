"""Two-step sign-in (TOTP + recovery codes) and revocable server-side sessions."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
import time_machine

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.organisation import Organisation
from incident_app.models.security import UserSession
from incident_app.models.user import Role
from incident_app.models.user import User
from tests.conftest import csrf_token
from tests.support.factories import PASSWORD
from tests.support.factories import make_user

START = "2026-03-02 10:00:00Z"


@pytest.fixture
def user(app):
    with app.app_context():
        return make_user(get_session(), role=Role.PRIVACY_OFFICER, email="po@example.org")


def _enrol(client) -> tuple[str, list[str]]:
    page = client.get("/account/mfa").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    token = csrf_token(client, "/account/mfa")
    done = client.post("/account/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.get_data(as_text=True))
    return secret, codes


def _password_step(client, email: str = "po@example.org"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})


def _second_step(client, code: str):
    token = csrf_token(client, "/login/mfa")
    return client.post("/login/mfa", data={"code": code, "csrf_token": token})


def _actions(app) -> list[str]:
    with app.app_context():
        return list(get_session().scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_enrolment_shows_a_local_qr_code_and_ten_recovery_codes(app, client, auth, user):
    auth.login(user.email)

    page = client.get("/account/mfa").get_data(as_text=True)
    secret, codes = _enrol(client)

    assert 'src="data:image/svg+xml;base64,' in page  # generated here, no network
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        stored = get_session().get(User, user.id)
        assert stored.mfa_enabled and secret.encode() not in stored.totp_secret
    assert "mfa.enabled" in _actions(app)


def test_sign_in_needs_the_current_code_and_refuses_a_replay(app, client, auth, user):
    with time_machine.travel(START, tick=False) as traveller:
        auth.login(user.email)
        secret, _codes = _enrol(client)
        auth.logout()
        traveller.shift(timedelta(seconds=30))  # the enrolment used this window's code
        code = pyotp.TOTP(secret).now()

        first = _password_step(client)
        assert first.headers["Location"] == "/login/mfa"
        assert client.get("/").status_code == 302  # not signed in yet
        assert _second_step(client, code).headers["Location"] == "/"
        auth.logout()

        _password_step(client)
        replay = _second_step(client, code)  # same code, same window

    assert b"That code is not valid" in replay.data
    assert _actions(app)[-1] == "auth.login_failed"


def test_a_recovery_code_works_once(app, client, auth, user):
    auth.login(user.email)
    _secret, codes = _enrol(client)
    auth.logout()

    _password_step(client)
    assert _second_step(client, codes[0]).headers["Location"] == "/"
    auth.logout()
    _password_step(client)

    assert b"That code is not valid" in _second_step(client, codes[0]).data


def test_wrong_codes_count_toward_the_lockout(app, client, auth, user):
    auth.login(user.email)
    _enrol(client)
    auth.logout()
    for _ in range(5):
        _password_step(client)
        _second_step(client, "000000")

    with app.app_context():
        assert get_session().get(User, user.id).locked_until is not None
    assert b"Invalid email or password." in _password_step(client).data


def test_organisation_can_require_mfa_for_a_role(app, client, auth, user):
    with app.app_context():
        session = get_session()
        session.add(Organisation(id=1, mfa_required_roles=["privacy_officer"]))
        session.commit()
    auth.login(user.email)

    response = client.get("/")

    assert response.status_code == 302 and response.headers["Location"] == "/account/mfa"
    _enrol(client)
    assert client.get("/").status_code == 200


def test_admin_resets_mfa_and_the_user_is_signed_out(app, client, auth, user):
    other = app.test_client()
    auth.login(user.email)
    _enrol(client)
    with app.app_context():
        admin = make_user(get_session(), role=Role.ADMIN, email="admin@example.org")
    token = csrf_token(other, "/login")
    other.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    token = csrf_token(other, f"/admin/users/{user.id}")

    other.post(f"/admin/users/{user.id}/reset-mfa", data={"csrf_token": token})

    assert client.get("/").status_code == 302
    with app.app_context():
        assert not get_session().get(User, user.id).mfa_enabled
    assert "mfa.reset" in _actions(app)


def test_sessions_are_listed_and_one_can_be_revoked(app, client, auth, user):
    phone = app.test_client()
    token = csrf_token(phone, "/login")
    phone.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    auth.login(user.email)

    page = client.get("/account/sessions").get_data(as_text=True)
    assert page.count("Sign out this session") == 1 and "This browser" in page
    target = re.search(r"/account/sessions/([0-9a-f]{64})/revoke", page).group(1)
    client.post(
        f"/account/sessions/{target}/revoke",
        data={"csrf_token": csrf_token(client, "/account/sessions")},
    )

    assert phone.get("/").status_code == 302  # revoked on the server
    assert client.get("/").status_code == 200
    assert "auth.revoked" in _actions(app)


def test_someone_elses_session_cannot_be_revoked(app, client, auth, user):
    with app.app_context():
        make_user(get_session(), email="other@example.org")
    other = app.test_client()
    token = csrf_token(other, "/login")
    other.post(
        "/login", data={"email": "other@example.org", "password": PASSWORD, "csrf_token": token}
    )
    with app.app_context():
        victim = get_session().scalars(sa.select(UserSession.id)).one()
    auth.login(user.email)

    response = client.post(
        f"/account/sessions/{victim}/revoke",
        data={"csrf_token": csrf_token(client, "/account/sessions")},
    )

    assert response.status_code == 404
    assert other.get("/").status_code == 200


def test_second_factor_page_expires(app, client, auth, user):
    with time_machine.travel(START, tick=False) as traveller:
        auth.login(user.email)
        secret, _ = _enrol(client)
        auth.logout()
        _password_step(client)
        token = csrf_token(client, "/login/mfa")
        traveller.shift(timedelta(minutes=6))

        response = client.post(
            "/login/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}
        )

    assert response.headers["Location"] == "/login"
