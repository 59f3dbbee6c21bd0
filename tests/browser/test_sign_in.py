"""A person signs in through the real form in Chromium, reaches the dashboard, signs out."""

from __future__ import annotations

import pytest

from incident_app.db import get_session
from incident_app.models.user import Role
from tests.support.factories import PASSWORD
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


def test_sign_in_dashboard_sign_out(live_app, live_server, page, tmp_path) -> None:
    with live_app.app_context():
        make_user(
            get_session(), role=Role.PRIVACY_OFFICER, email="po@example.org", name="Pat Officer"
        )

    page.goto(f"{live_server.url}/")
    assert "/login" in page.url
    page.get_by_label("Email").fill("po@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_text("Welcome, Pat Officer.").is_visible()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    assert page.get_by_text("You are signed out.").is_visible()


def test_wrong_password_shows_the_generic_message(live_app, live_server, page) -> None:
    with live_app.app_context():
        make_user(get_session(), email="someone@example.org")

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("someone@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    assert page.get_by_text("Invalid email or password.").is_visible()
