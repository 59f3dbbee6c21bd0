"""In Chromium: a privacy officer generates the individual notice and the media release; a
legal reviewer requests a change, then approves; the officer marks the notice sent. The
downloaded PDF, read back with pypdf, holds the 164.404(c) elements and the dates."""

from __future__ import annotations

import hashlib
from io import BytesIO
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from incident_app.db import get_session
from incident_app.models.incident import CaseRole
from incident_app.models.user import Role
from tests.support.factories import PASSWORD
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


def _generate(page, base: str, incident_id: int, kind: str) -> None:
    page.goto(f"{base}/incidents/{incident_id}/letters/")
    page.locator(f'article[data-kind="{kind}"]').get_by_role("button", name="Generate").click()
    expect(page.get_by_text("generated.")).to_be_visible()


def test_letters_from_generation_to_proof_of_notice(live_app, live_server, page) -> None:
    with live_app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        legal = make_user(session, role=Role.LEGAL, email="counsel@example.org")
        incident = breach_case(session, officer=officer, members={legal: CaseRole.LEGAL})
    base = live_server.url
    letters = f"{base}/incidents/{incident.id}/letters/"

    _sign_in(page, base, "po@example.org")
    _generate(page, base, incident.id, "individual_notice")
    notice_url = page.url
    expect(page.get_by_test_id("complete")).to_be_visible()
    page.get_by_role("button", name="Send to legal review").click()
    assert page.get_by_test_id("letter-status").inner_text() == "In legal review"
    _generate(page, base, incident.id, "media_notice")
    expect(page.get_by_test_id("complete")).to_be_visible()
    page.get_by_role("button", name="Send to legal review").click()
    _sign_out(page)

    _sign_in(page, base, "counsel@example.org")
    page.goto(notice_url)
    page.get_by_label("What has to change").fill("Offer the free credit monitoring.")
    page.get_by_role("button", name="Request changes").click()
    assert page.get_by_test_id("letter-status").inner_text() == "Changes requested"
    _sign_out(page)

    _sign_in(page, base, "po@example.org")
    page.goto(letters + "wording")
    steps = page.get_by_label("Steps individuals should take")
    steps.fill(steps.input_value() + "\nEnroll in the free credit monitoring we offer.")
    page.get_by_role("button", name="Save wording").click()
    page.goto(notice_url)
    expect(page.get_by_test_id("stale")).to_be_visible()
    _generate(page, base, incident.id, "individual_notice")
    page.get_by_role("button", name="Send to legal review").click()
    _sign_out(page)

    _sign_in(page, base, "counsel@example.org")
    page.goto(notice_url)
    page.get_by_test_id("approve-confirm").locator("summary").click()
    page.get_by_role("button", name="Confirm approval of").click()
    assert page.get_by_test_id("approval").inner_text() == "Approval valid"
    sha256 = page.get_by_test_id("sha256").inner_text()
    _sign_out(page)

    _sign_in(page, base, "po@example.org")
    page.goto(notice_url)
    page.get_by_label("Method").select_option("first_class_mail")
    page.get_by_label("Sent on").fill("2025-11-10")
    page.get_by_role("button", name="Mark as sent").click()
    expect(page.get_by_text("Notice recorded as sent.")).to_be_visible()
    row = page.get_by_test_id("notices").locator("tbody tr")
    assert row.locator(".sent-on").inner_text() == "2025-11-10"
    assert row.locator(".days-after").inner_text().startswith("56")
    assert row.locator(".days-late").inner_text().startswith("0")
    assert page.get_by_test_id("letter-status").inner_text() == "Sent"

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF (version 2)").click()
    data = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha256
    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages)
    for required in (
        "What happened",
        "What information was involved",
        "What you can do",
        "What we are doing",
        "For more information",
        "September 10, 2025",
        "September 15, 2025",
        "Date of birth",
        "credit monitoring",
        "1-800-555-0142",
        "privacy@riverbend.example",
    ):
        assert required in text, required
