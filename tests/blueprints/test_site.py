"""Site-wide behaviour: security headers, friendly error pages, health endpoints."""

from __future__ import annotations

from incident_app.db import get_session
from incident_app.models.user import Role
from tests.support.factories import make_user


def test_every_response_carries_the_security_headers(client) -> None:
    response = client.get("/login")

    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # only in production


def test_unknown_page_is_a_friendly_404(app, client, auth) -> None:
    with app.app_context():
        make_user(get_session(), role=Role.AUDITOR, email="a@example.org")
    auth.login("a@example.org")

    response = client.get("/no/such/page")

    assert response.status_code == 404 and b"Not found" in response.data
    assert b"Back to the dashboard" in response.data


def test_anonymous_users_are_sent_to_sign_in(client) -> None:
    response = client.get("/")

    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_healthz_answers_without_the_database(client) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reports_each_check(client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["scheduler"] == "never seen"


def test_navigation_follows_the_role(app, client, auth) -> None:
    with app.app_context():
        make_user(get_session(), role=Role.ADMIN, email="admin@example.org")
        make_user(get_session(), role=Role.LEGAL, email="legal@example.org")
    auth.login("legal@example.org")
    assert b'href="/admin/users"' not in client.get("/").data
    auth.logout()
    auth.login("admin@example.org")
    assert b'href="/admin/users"' in client.get("/").data
