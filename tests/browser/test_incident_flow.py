"""In Chromium: a privacy officer opens an incident and adds a responder; the responder logs a
containment action and completes a task; another responder, not on the team, gets a 404."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from incident_app.db import get_session
from incident_app.models.user import Role
from tests.support.factories import PASSWORD
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_open_staff_and_work_an_incident(live_app, live_server, browser, tmp_path) -> None:
    with live_app.app_context():
        session = get_session()
        make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org", name="Pat Officer")
        make_user(session, role=Role.RESPONDER, email="rita@example.org", name="Rita Responder")
        make_user(session, role=Role.RESPONDER, email="sam@example.org", name="Sam Outsider")
    base = live_server.url

    # The privacy officer opens the incident through the intake form.
    officer = browser.new_context().new_page()
    _sign_in(officer, base, "po@example.org")
    officer.get_by_role("link", name="Incidents").click()
    officer.get_by_role("link", name="Open an incident").click()
    officer.get_by_label("Title").fill("Laptop stolen from a car")
    officer.get_by_label("What happened").fill("A clinic laptop was taken from a parked car.")
    officer.get_by_label("Occurred from").fill("2026-02-10T21:00")
    officer.get_by_label("Discovered on").fill("2026-02-11")
    officer.get_by_label("Theft").check()
    officer.get_by_label("Laptop").check()
    officer.get_by_label("Demographic: Name").check()
    officer.get_by_label("Estimated number of individuals affected").fill("120")
    officer.get_by_label("Estimated individuals per state").fill("NY 100\nNJ 20")
    officer.get_by_role("button", name="Open incident").click()
    expect(officer.get_by_text(re.compile(r"Incident BD-\d{4}-0001 opened\."))).to_be_visible()
    incident_url = officer.url
    officer.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

    # ... and puts Rita on the team.
    officer.get_by_role("link", name="Team", exact=True).click()
    officer.get_by_label("Person").select_option(label="Rita Responder (Responder)")
    officer.get_by_label("Role on this case").select_option("responder")
    officer.get_by_role("button", name="Add to team").click()
    expect(officer.get_by_text("Rita Responder is on the team.")).to_be_visible()

    # Rita logs what she did and completes a task seeded from the stolen-device checklist.
    rita = browser.new_context().new_page()
    _sign_in(rita, base, "rita@example.org")
    rita.get_by_role("link", name=re.compile(r"BD-\d{4}-0001")).first.click()
    rita.get_by_role("link", name="Timeline", exact=True).click()
    rita.get_by_label("Category").select_option("containment")
    rita.get_by_label("What was done").fill("Locked the laptop remotely and revoked its VPN cert.")
    rita.get_by_role("button", name="Log action").click()
    expect(rita.get_by_text("Action logged.")).to_be_visible()
    expect(rita.get_by_role("cell", name="Action: Containment")).to_be_visible()
    rita.get_by_role("link", name="Tasks", exact=True).click()
    task = "Remote-wipe or lock the device and revoke its credentials and certificates"
    rita.get_by_role("button", name=f"Mark done: {task}").click()
    expect(rita.get_by_text(f"Task completed: {task}")).to_be_visible()
    rita.get_by_role("link", name="Timeline", exact=True).click()
    expect(rita.get_by_text(f"Task done: {task}")).to_be_visible()
    rita.screenshot(path=str(tmp_path / "timeline.png"), full_page=True)

    # Sam is a responder too, but not on this team: the incident does not exist for him.
    sam = browser.new_context().new_page()
    _sign_in(sam, base, "sam@example.org")
    response = sam.goto(incident_url)
    assert response is not None and response.status == 404
    expect(sam.get_by_role("heading", name="Not found")).to_be_visible()
    sam.goto(f"{base}/incidents/")
    expect(sam.get_by_text("No incidents match.")).to_be_visible()
