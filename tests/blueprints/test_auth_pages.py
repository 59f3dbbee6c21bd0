"""Sign-in pages through the real forms: messages, lockout, CSRF, timeouts, redirects."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.user import Role
from incident_app.models.user import User
from tests.conftest import csrf_token
from tests.support.factories import PASSWORD
from tests.support.factories import make_user

GENERIC = b"Invalid email or password."


@pytest.fixture
def user(app):
    with app.app_context():
        return make_user(get_session(), role=Role.RESPONDER, email="r@example.org")


def _actions(app) -> list[str]:
    with app.app_context():
        return list(get_session().scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_sign_in_lands_on_the_dashboard_and_sign_out_ends_it(app, client, auth, user) -> None:
    response = auth.login(user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert b"Dashboard" in client.get("/").data

    auth.logout()

    assert client.get("/").headers["Location"].startswith("/login")
    assert _actions(app) == ["auth.login", "auth.logout"]


@pytest.mark.parametrize(
    ("email", "password"), [("r@example.org", "wrong password!"), ("nobody@example.org", PASSWORD)]
)
def test_wrong_password_and_unknown_email_look_the_same(
    client, auth, user, email, password
) -> None:
    response = auth.login(email, password)

    assert response.status_code == 200 and GENERIC in response.data
    assert b"nobody" not in response.data.replace(b'value="nobody@example.org"', b"")


def test_locked_account_sees_the_generic_message(client, auth, user) -> None:
    for _ in range(5):
        auth.login(user.email, "wrong password!")

    response = auth.login(user.email, PASSWORD)

    assert GENERIC in response.data and client.get("/").status_code == 302


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, user) -> None:
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})

    assert response.status_code == 400 and b"security token" in response.data
    assert _actions(app) == []


def test_idle_session_expires_on_the_server(app, client, auth, user) -> None:
    with time_machine.travel("2026-03-02 10:00:00Z", tick=False) as traveller:
        auth.login(user.email)
        assert client.get("/").status_code == 200
        traveller.shift(timedelta(minutes=31))

        response = client.get("/")

    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _actions(app)[-1] == "auth.idle_timeout"


def test_activity_keeps_the_session_alive(client, auth, user) -> None:
    with time_machine.travel("2026-03-02 10:00:00Z", tick=False) as traveller:
        auth.login(user.email)
        for _ in range(4):
            traveller.shift(timedelta(minutes=20))
            assert client.get("/").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_next_never_redirects_off_site(client, user, target) -> None:
    token = csrf_token(client, "/login")
    response = client.post(
        f"/login?next={target}",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )

    assert response.headers["Location"] == "/"


def test_next_keeps_a_local_path(client, user) -> None:
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=/account/password",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )

    assert response.headers["Location"] == "/account/password"


def test_changing_password_signs_out_other_sessions(app, client, auth, user) -> None:
    other = app.test_client()
    token = csrf_token(other, "/login")
    other.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    auth.login(user.email)
    token = csrf_token(client, "/account/password")

    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
            "csrf_token": token,
        },
    )

    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session continues
    assert other.get("/").status_code == 302  # the other one is gone


def test_password_change_with_mismatch_shows_the_error(client, auth, user) -> None:
    auth.login(user.email)
    token = csrf_token(client, "/account/password")

    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "something else entirely",
            "csrf_token": token,
        },
    )

    assert b"The two new passwords differ." in response.data


def test_deactivated_user_is_signed_out_on_next_request(app, client, auth, user) -> None:
    auth.login(user.email)
    with app.app_context():
        session = get_session()
        row = session.get(User, user.id)
        row.active = False
        row.session_version += 1
        session.commit()

    assert client.get("/").status_code == 302
