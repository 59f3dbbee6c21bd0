"""Administration pages: only admins, every change audited, bad input shown on the form."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.organisation import Organisation
from incident_app.models.user import Role
from incident_app.models.user import User
from tests.conftest import csrf_token
from tests.support.factories import make_user

PNG = base64.b64decode(  # a 1×1 grey pixel (the logo must be a readable image)
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def people(app):
    with app.app_context():
        session = get_session()
        return {
            "admin": make_user(session, role=Role.ADMIN, email="admin@example.org"),
            "responder": make_user(session, role=Role.RESPONDER, email="resp@example.org"),
        }


def _count_users(app) -> int:
    with app.app_context():
        return get_session().scalar(sa.select(sa.func.count()).select_from(User))


def _last_action(app) -> AuditEvent:
    with app.app_context():
        return (
            get_session()
            .scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
            .one()
        )


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/new", "/admin/settings"])
def test_a_responder_gets_the_403_page_and_it_is_audited(app, client, auth, people, path):
    auth.login(people["responder"].email)

    response = client.get(path)

    assert response.status_code == 403 and b"Not allowed" in response.data
    event = _last_action(app)
    assert (event.action, event.details["path"], event.actor_id) == (
        "access.denied",
        path,
        people["responder"].id,
    )


def test_admin_creates_a_user_through_the_form(app, client, auth, people) -> None:
    auth.login(people["admin"].email)
    token = csrf_token(client, "/admin/users/new")

    response = client.post(
        "/admin/users/new",
        data={
            "email": "legal@example.org",
            "name": "Lee Gal",
            "role": "legal",
            "how": "password",  # the creator sets it (an emailed invitation is the default)
            "password": "twelve chars ok",
            "csrf_token": token,
        },
        follow_redirects=True,
    )

    assert b"Account created for legal@example.org" in response.data
    assert _last_action(app).action == "user.created"


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("resp@example.org", "twelve chars ok", b"already exists"),
        ("new@example.org", "too short", b"at least 12 characters"),
    ],
)
def test_bad_user_input_is_shown_and_nothing_written(
    app, client, auth, people, email, password, message
) -> None:
    auth.login(people["admin"].email)
    token = csrf_token(client, "/admin/users/new")
    before = _count_users(app)

    response = client.post(
        "/admin/users/new",
        data={
            "email": email,
            "name": "Someone",
            "role": "responder",
            "how": "password",
            "password": password,
            "csrf_token": token,
        },
    )

    assert response.status_code == 200 and message in response.data
    assert _count_users(app) == before


def test_admin_changes_a_role_and_deactivates(app, client, auth, people) -> None:
    auth.login(people["admin"].email)
    target = people["responder"].id
    token = csrf_token(client, f"/admin/users/{target}")

    client.post(f"/admin/users/{target}", data={"role": "auditor", "csrf_token": token})
    client.post(f"/admin/users/{target}/active", data={"csrf_token": token})

    with app.app_context():
        user = get_session().get(User, target)
        assert (user.role, user.active) == (Role.AUDITOR, False)


def test_admin_edits_organisation_settings_with_a_logo(app, client, auth, people) -> None:
    auth.login(people["admin"].email)
    token = csrf_token(client, "/admin/settings")
    from io import BytesIO

    response = client.post(
        "/admin/settings",
        data={
            "legal_name": "Lakeside Health",
            "address_line1": "1 Main St",
            "city": "Chicago",
            "state": "il",
            "postal_code": "60601",
            "toll_free_number": "1-800-555-0100",
            "email": "privacy@lakeside.example",
            "website": "https://lakeside.example",
            "signatory_name": "Pat Doe",
            "signatory_title": "Privacy Officer",
            "timezone": "America/Chicago",
            "client_ack_business_days": "3",
            "logo": (BytesIO(PNG), "logo.png"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )

    assert b"Organisation settings saved." in response.data
    with app.app_context():
        org = get_session().get(Organisation, 1)
        assert (org.legal_name, org.state, org.timezone, org.logo_mime) == (
            "Lakeside Health",
            "IL",
            "America/Chicago",
            "image/png",
        )
        assert org.client_ack_business_days == 3
    assert client.get("/admin/settings/logo").data == PNG


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", b"IANA name"),
        ("toll_free_number", "312-555-1212", b"toll-free"),
        ("postal_code", "ABCDE", b"ZIP code"),
        ("client_ack_business_days", "0", b"between 1 and 30 business days"),
        ("client_ack_business_days", "31", b"between 1 and 30 business days"),
        ("client_ack_business_days", "five", b"Not a valid integer"),
    ],
)
def test_bad_settings_are_refused(app, client, auth, people, field, value, message) -> None:
    auth.login(people["admin"].email)
    token = csrf_token(client, "/admin/settings")
    data = {"legal_name": "X", "timezone": "America/Chicago", "csrf_token": token, field: value}

    response = client.post("/admin/settings", data=data)

    assert response.status_code == 422 and message in response.data
    with app.app_context():
        org = get_session().get(Organisation, 1)
        assert org is None or (org.legal_name, org.client_ack_business_days) == ("", 5)
