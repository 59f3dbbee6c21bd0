"""The invitation pages: the officer's and the admin's forms (an emailed link by default, a
first password when chosen), the public set-password page (CSRF, bad links, weak passwords,
the lockout shared with sign-in) and re-sending an invitation."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app import passwords
from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.invitation import AccountInvitation
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.clients import registry
from tests.conftest import csrf_token
from tests.support.client_helpers import ELM
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.invitation_helpers import latest_token

NEW_PASSWORD = "my own long password"


@pytest.fixture
def people(app):
    app.config["SMTP_HOST"] = "127.0.0.1"  # invitations need a mail server to be sent
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        admin = make_user(session, role=Role.ADMIN, email="admin@example.org")
        client = registry.create_client(session, actor=officer, values=ELM, now=NOW)
        return {"officer": officer.email, "admin": admin.email, "elm": client.id}


def _invite_contact(client, elm: int, **extra: str):
    token = csrf_token(client, f"/clients/{elm}")
    data = {
        "csrf_token": token,
        "contact-name": "Dana Reyes",
        "contact-email": "dana@elm.example",
        **extra,
    }
    return client.post(f"/clients/{elm}/contacts", data=data, follow_redirects=True)


def _token(app, email: str = "dana@elm.example") -> str:
    with app.app_context():
        return latest_token(get_session(), app_store.current_keyring(), email)


def _user(app, email: str = "dana@elm.example") -> User | None:
    with app.app_context():
        return get_session().scalar(sa.select(User).where(User.email == email))


def _actions(app) -> list[str]:
    with app.app_context():
        return list(get_session().scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_the_form_offers_the_invitation_first(client, auth, people) -> None:
    auth.login(people["officer"])
    page = client.get(f"/clients/{people['elm']}").get_data(as_text=True)
    checked = re.search(r'<input[^>]*checked[^>]*name="contact-how"[^>]*>', page) or re.search(
        r'<input[^>]*name="contact-how"[^>]*checked[^>]*>', page
    )
    assert checked is not None and 'value="invite"' in checked.group(0)


def test_an_officer_invites_a_contact_who_sets_a_password_through_the_link(
    app, client, auth, people
) -> None:
    auth.login(people["officer"])
    done = _invite_contact(client, people["elm"], **{"contact-how": "invite"})
    assert b"one-time link" in done.data
    assert passwords.UNUSABLE == _user(app).password_hash
    path = f"/invitation/{_token(app)}"
    auth.logout()

    page = client.get(path)
    assert page.status_code == 200 and b"dana@elm.example" in page.data
    assert b"authenticator app" in page.data
    # CSRF: a post without the form's token is refused and writes nothing.
    forged = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert forged.status_code in (400, 422)
    assert _user(app).password_hash == passwords.UNUSABLE

    token = csrf_token(client, path)
    differ = client.post(
        path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": "something else"}
    )
    assert differ.status_code == 422 and b"The two passwords differ." in differ.data
    weak = client.post(path, data={"csrf_token": token, "password": "short", "confirm": "short"})
    assert weak.status_code == 422 and b"at least 12 characters" in weak.data
    assert _user(app).password_hash == passwords.UNUSABLE

    done = client.post(
        path,
        data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        follow_redirects=True,
    )
    assert b"Your password is set" in done.data and b"Sign in" in done.data
    signed = auth.login("dana@elm.example", NEW_PASSWORD)
    assert signed.headers["Location"].endswith("/")
    assert client.get("/").headers["Location"].endswith("/account/mfa")  # enrol first

    again = client.get(path)
    assert again.status_code == 400 and b"already used" in again.data
    assert "account.invitation_used" in _actions(app)


@pytest.mark.parametrize(
    "path", ["/invitation/1.not-the-secret", "/invitation/nonsense", "/invitation/99.x"]
)
def test_a_bad_link_says_so_and_shows_no_form(client, path) -> None:
    page = client.get(path)
    assert page.status_code == 400
    assert b"This invitation link is not valid" in page.data
    assert b'name="password"' not in page.data


def test_a_wrong_link_posted_is_refused_audited_and_counted(app, client, auth, people) -> None:
    auth.login(people["officer"])
    _invite_contact(client, people["elm"], **{"contact-how": "invite"})
    right = _token(app)
    auth.logout()
    token = csrf_token(client, f"/invitation/{right}")

    wrong = client.post(
        f"/invitation/{right[:-3]}abc",
        data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert wrong.status_code == 400 and b"not valid" in wrong.data
    assert _user(app).failed_logins == 1
    assert _user(app).password_hash == passwords.UNUSABLE
    assert _actions(app)[-1] == "account.invitation_refused"


def test_without_a_mail_server_the_invitation_is_refused_and_nothing_created(
    app, client, auth, people
) -> None:
    app.config["SMTP_HOST"] = ""
    auth.login(people["officer"])
    done = _invite_contact(client, people["elm"], **{"contact-how": "invite"})
    assert b"Email is not configured" in done.data
    assert _user(app) is None


def test_the_officer_may_still_set_a_first_password(app, client, auth, people) -> None:
    auth.login(people["officer"])
    done = _invite_contact(
        client,
        people["elm"],
        **{"contact-how": "password", "contact-password": "a long first password"},
    )
    assert b"dana@elm.example invited" in done.data
    assert passwords.verify_password(_user(app).password_hash, "a long first password")
    with app.app_context():
        assert get_session().scalars(sa.select(AccountInvitation)).all() == []


def test_re_sending_voids_the_earlier_link(app, client, auth, people) -> None:
    auth.login(people["officer"])
    page = _invite_contact(client, people["elm"], **{"contact-how": "invite"})
    first = _token(app)
    user_id = _user(app).id
    assert b"Send a new invitation" in page.data
    token = csrf_token(client, f"/clients/{people['elm']}")
    resent = client.post(
        f"/clients/{people['elm']}/contacts/{user_id}/invitation",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert b"A new invitation was emailed" in resent.data
    assert _token(app) != first
    assert b"A newer invitation" in client.get(f"/invitation/{first}").data


def test_an_admin_invites_a_user_and_can_re_send(app, client, auth, people) -> None:
    auth.login(people["admin"])
    token = csrf_token(client, "/admin/users/new")
    done = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "email": "lee@example.org",
            "name": "Lee Gal",
            "role": "legal",
            "how": "invite",
        },
        follow_redirects=True,
    )
    assert b"invitation emailed" in done.data
    user = _user(app, "lee@example.org")
    edit = client.get(f"/admin/users/{user.id}")
    assert b"Send a new invitation" in edit.data
    resent = client.post(
        f"/admin/users/{user.id}/invitation",
        data={"csrf_token": csrf_token(client, f"/admin/users/{user.id}")},
        follow_redirects=True,
    )
    assert b"A new invitation was emailed" in resent.data
    with app.app_context():
        open_ones = get_session().scalars(
            sa.select(AccountInvitation).where(AccountInvitation.voided_at.is_(None))
        )
        assert len(open_ones.all()) == 1


def _invited_rows(client) -> list[str]:
    """The user list's rows (as text) that carry the "Invited" badge."""
    page = client.get("/admin/users")
    assert page.status_code == 200
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page.get_data(as_text=True), flags=re.S)
    return [row for row in rows if 'data-testid="user-invited"' in row]


def test_the_user_list_shows_who_has_not_used_their_invitation(app, client, auth, people) -> None:
    auth.login(people["admin"])
    for email, how in (("lee@example.org", "invite"), ("sam@example.org", "password")):
        data = {
            "csrf_token": csrf_token(client, "/admin/users/new"),
            "email": email,
            "name": "Some One",
            "role": "legal",
            "how": how,
        }
        if how == "password":
            data["password"] = NEW_PASSWORD
        assert client.post("/admin/users/new", data=data).status_code == 302
    invited = _invited_rows(client)
    assert len(invited) == 1 and "lee@example.org" in invited[0]
    assert "no password set yet" in invited[0]  # said in words, not by colour alone

    # Lee sets a password through the link: no longer invited.
    path = f"/invitation/{_token(app, 'lee@example.org')}"
    auth.logout()
    token = csrf_token(client, path)
    client.post(path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    auth.login(people["admin"])
    assert _invited_rows(client) == []
