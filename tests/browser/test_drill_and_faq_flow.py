"""In Chromium (issue 23): a privacy officer opens a tabletop exercise at intake and sees the
EXERCISE banner on its pages; the drill is absent from the metrics page and the HHS log, where
a real small breach is listed. Then the call-centre FAQ: drafted, refused for export before
approval, approved by legal, and the exported PDF (read back with pypdf) holds the case's facts."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from incident_app import clock
from incident_app.db import get_session
from incident_app.models.incident import CaseRole
from incident_app.models.user import Role
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from tests.support.factories import PASSWORD
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case

pytestmark = pytest.mark.browser
DRILL = "Tabletop: ransomware on the scheduling server"


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_a_drill_is_labelled_and_kept_out_of_metrics_and_the_hhs_log(
    live_app, live_server, page
) -> None:
    with live_app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        real = incident_intake.open_incident(
            session,
            actor=officer,
            now=clock.utcnow(),
            facts=incident_facts.IncidentFacts(
                title="Misdirected fax",
                discovered_on=date(2025, 9, 15),
                affected_estimate=40,
                breach_types=("unauthorized_access",),
                locations=("paper_films",),
            ),
        )
        real_reference = real.reference
    base = live_server.url

    _sign_in(page, base, "po@example.org")
    page.goto(f"{base}/incidents/new")
    page.get_by_label("This is a tabletop exercise").check()
    page.get_by_label("Title").fill(DRILL)
    page.get_by_label("What happened").fill("Drill scenario: the scheduler's files are encrypted.")
    page.get_by_label("Discovered on").fill("2025-10-02")
    page.get_by_label("Estimated number of individuals affected").fill("120")
    page.get_by_role("button", name="Open incident").click()
    expect(page.get_by_text("opened.")).to_be_visible()
    expect(page.get_by_test_id("exercise-banner")).to_contain_text("EXERCISE")
    drill_reference = page.locator(".incident-header .reference").inner_text()
    page.get_by_role("link", name="Facts", exact=True).click()
    expect(page.get_by_test_id("exercise-banner")).to_be_visible()
    page.get_by_role("link", name="Letters", exact=True).click()
    expect(page.get_by_test_id("exercise-banner")).to_be_visible()

    page.goto(f"{base}/incidents/{real.id}")
    expect(page.locator(".incident-header")).to_contain_text(real_reference)
    expect(page.get_by_test_id("exercise-banner")).to_have_count(0)

    page.goto(f"{base}/reports/metrics")
    expect(page.get_by_role("heading", name="Response metrics")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(drill_reference)
    expect(page.locator("main")).not_to_contain_text(DRILL)

    page.goto(f"{base}/reports/hhs-log/2025")
    expect(page.locator("main")).to_contain_text(real_reference)
    expect(page.locator("main")).not_to_contain_text(drill_reference)
    expect(page.locator("main")).not_to_contain_text(DRILL)


def test_the_call_centre_faq_is_approved_by_legal_then_exported(
    live_app, live_server, page
) -> None:
    with live_app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        make_user(session, role=Role.LEGAL, email="counsel@example.org")
        legal = session.query(type(officer)).filter_by(email="counsel@example.org").one()
        incident = breach_case(session, officer=officer, members={legal: CaseRole.LEGAL})
    base = live_server.url

    _sign_in(page, base, "po@example.org")
    page.goto(f"{base}/incidents/{incident.id}/letters/")
    article = page.locator('article[data-kind="individual_notice"]')
    article.get_by_label("Letter").select_option("call_centre_faq.html")
    article.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("generated.")).to_be_visible()
    faq_url = page.url
    page.get_by_test_id("faq-export").click()
    expect(page.get_by_text("Not exported: the call-centre FAQ")).to_be_visible()
    page.get_by_role("button", name="Send to legal review").click()
    expect(page.get_by_test_id("letter-status")).to_have_text("In legal review")
    page.get_by_role("button", name="Sign out").click()

    _sign_in(page, base, "counsel@example.org")
    page.goto(faq_url)
    page.get_by_test_id("approve-confirm").locator("summary").click()
    page.get_by_role("button", name="Confirm approval of").click()
    expect(page.get_by_test_id("approval")).to_have_text("Approval valid")
    with page.expect_download() as download:
        page.get_by_test_id("faq-export").click()

    data = Path(download.value.path()).read_bytes()
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages).split())
    for required in (
        "Call-centre FAQ",
        "What happened?",
        "a laptop used by our billing team was stolen",
        "Date of birth",
        "We reported the theft to the police.",
        "1-800-555-0142",
        "When to pass the call on",
    ):
        assert required in text, required
