"""A person signs in through the real form in Chromium, reaches the dashboard, signs out."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

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
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("Welcome, Pat Officer.")).to_be_visible()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def test_wrong_password_shows_the_generic_message(live_app, live_server, page) -> None:
    with live_app.app_context():
        make_user(get_session(), email="someone@example.org")

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("someone@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_text("Invalid email or password.")).to_be_visible()
