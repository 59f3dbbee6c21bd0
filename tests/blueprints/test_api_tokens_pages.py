"""/account/tokens: a token is shown once, listed by its prefix, and revoked with a button."""

from __future__ import annotations

import re

from incident_app.db import get_session
from incident_app.models.user import Role
from tests.conftest import csrf_token
from tests.support.factories import make_user

TOKEN = re.compile(r'<code id="new-token">(bdp_[A-Za-z0-9_-]{43})</code>')


def _create(client, name: str = "SIEM intake", expires_on: str = ""):
    token = csrf_token(client, "/account/tokens/")
    return client.post(
        "/account/tokens/", data={"csrf_token": token, "name": name, "expires_on": expires_on}
    )


def test_token_is_shown_once_then_only_its_prefix(app, client, auth):
    with app.app_context():
        user = make_user(get_session(), role=Role.RESPONDER)
    auth.login(user.email)

    created = _create(client).get_data(as_text=True)
    raw = TOKEN.search(created).group(1)

    assert "Copy it now" in created
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).json["id"] == user.id
    )
    later = client.get("/account/tokens/").get_data(as_text=True)
    assert raw not in later
    assert f"{raw[:12]}…" in later and "SIEM intake" in later


def test_revoking_from_the_page_stops_the_token(app, client, auth):
    with app.app_context():
        user = make_user(get_session())
    auth.login(user.email)
    raw = TOKEN.search(_create(client).get_data(as_text=True)).group(1)
    page = client.get("/account/tokens/").get_data(as_text=True)
    token_id = re.search(r"/account/tokens/(\d+)/revoke", page).group(1)

    response = client.post(
        f"/account/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(client, "/account/tokens/")},
        follow_redirects=True,
    )

    assert "revoked: it stops working at once" in response.get_data(as_text=True)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_bad_expiry_is_shown_on_the_field(app, client, auth):
    with app.app_context():
        user = make_user(get_session())
    auth.login(user.email)

    page = _create(client, expires_on="2001-01-01").get_data(as_text=True)

    assert "The expiry date 2001-01-01 is in the past" in page
    assert TOKEN.search(page) is None


def test_someone_elses_token_cannot_be_revoked(app, client, auth):
    with app.app_context():
        owner = make_user(get_session())
        other = make_user(get_session())
    auth.login(owner.email)
    _create(client)
    token_id = re.search(
        r"/account/tokens/(\d+)/revoke", client.get("/account/tokens/").get_data(as_text=True)
    ).group(1)
    auth.logout()
    auth.login(other.email)

    response = client.post(
        f"/account/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(client, "/account/tokens/")},
    )

    assert response.status_code == 404


def test_security_page_links_to_tokens(app, client, auth):
    with app.app_context():
        user = make_user(get_session())
    auth.login(user.email)
    assert 'href="/account/tokens/"' in client.get("/account/sessions").get_data(as_text=True)
