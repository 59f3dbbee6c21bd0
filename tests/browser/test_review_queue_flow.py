"""In Chromium: the officer sends a letter to a named reviewer; the reviewer finds it under
"Letters awaiting my review" on the dashboard, reads the page images of the stored PDF in the
page, asks for changes; the officer edits the wording and regenerates from the letter page; the
reviewer sees what changed and approves with the keyboard, confirming the version and the first
12 characters of its SHA-256."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from incident_app.db import get_session
from incident_app.models.incident import CaseRole
from incident_app.models.user import Role
from tests.support.factories import PASSWORD
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("BREACHDESK_SCREENSHOTS")  # a folder: save the pages for the issue note


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def _images_loaded(page) -> int:
    """How many page images decoded (a broken image has naturalWidth 0)."""
    images = page.get_by_test_id("pages").locator("img")
    images.first.wait_for()
    count = images.count()
    for index in range(count):
        images.nth(index).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=pages] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    return count


def test_reviewer_is_routed_reads_the_pages_and_approves_the_sha(live_app, live_server, page):
    with live_app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        counsel = make_user(
            session, role=Role.LEGAL, email="counsel@example.org", name="Carla Counsel"
        )
        other = make_user(session, role=Role.LEGAL, email="other@example.org", name="Anna Other")
        incident = breach_case(
            session, officer=officer, members={counsel: CaseRole.LEGAL, other: CaseRole.LEGAL}
        )
    base = live_server.url

    _sign_in(page, base, "po@example.org")
    page.goto(f"{base}/incidents/{incident.id}/letters/")
    page.locator('article[data-kind="individual_notice"]').get_by_role(
        "button", name="Generate"
    ).click()
    letter_url = page.url
    page.get_by_label("Reviewer").select_option(label="Carla Counsel")
    page.get_by_role("button", name="Send to legal review").click()
    assert "Carla Counsel" in page.get_by_test_id("reviewer").inner_text()
    _sign_out(page)

    _sign_in(page, base, "other@example.org")  # not the one it was sent to
    expect(page.get_by_test_id("review-queue-empty")).to_be_visible()
    _sign_out(page)

    _sign_in(page, base, "counsel@example.org")
    queue = page.get_by_test_id("review-queue")
    row = queue.locator("tbody tr")
    assert row.count() == 1
    assert incident.reference in row.inner_text() and "2025-11-14" in row.inner_text()
    _shot(page, "review-queue.png")
    row.get_by_role("link", name="Notice to individuals").click()
    assert page.url == letter_url
    assert _images_loaded(page) >= 1
    page.get_by_label("What has to change").fill("Offer the free credit monitoring.")
    page.get_by_role("button", name="Request changes").click()
    expect(page.get_by_test_id("letter-status")).to_have_text("Changes requested")
    _sign_out(page)

    _sign_in(page, base, "po@example.org")
    page.goto(letter_url)
    assert (
        "Offer the free credit monitoring." in page.get_by_test_id("changes-requested").inner_text()
    )
    page.get_by_role("link", name="Edit wording and regenerate").first.click()
    expect(page.get_by_test_id("next-reviewer")).to_have_text("Carla Counsel")
    steps = page.get_by_label("Steps individuals should take")
    steps.fill(steps.input_value() + "\nEnroll in the free credit monitoring we offer.")
    page.get_by_role("button", name="Save, regenerate and send to Carla Counsel").click()
    expect(page.get_by_text("Version 2 generated and sent to Carla Counsel.")).to_be_visible()
    expect(page.get_by_test_id("letter-status")).to_have_text("In legal review")
    _sign_out(page)

    _sign_in(page, base, "counsel@example.org")
    page.get_by_test_id("review-queue").get_by_role("link", name="Notice to individuals").click()
    assert _images_loaded(page) >= 1
    sha256 = page.get_by_test_id("sha256").inner_text()
    confirm = page.get_by_test_id("approve-confirm")
    # Keyboard only: open the confirmation, then confirm.
    confirm.locator("summary").focus()
    page.keyboard.press("Enter")
    assert confirm.get_by_test_id("confirm-sha").inner_text() == sha256[:12]
    button = confirm.get_by_role("button", name=f"version 2 ({sha256[:12]})")
    assert "Confirm approval of" in button.inner_text()
    _shot(page, "letter-page.png")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").startswith("Confirm approval")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=approval]")
    expect(page.get_by_test_id("approval")).to_have_text("Approval valid")
    page.goto(f"{base}/")
    expect(page.get_by_test_id("review-queue-empty")).to_be_visible()
