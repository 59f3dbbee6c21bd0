"""Done means (issue 13), in Chromium: a privacy officer records three costs and a billing
outage and plans two corrective actions; a responder completes one with a proof file; the
review is written and signed; the incident closes; /impact shows the totals."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from incident_app.db import get_session
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentStatus
from incident_app.models.user import Role
from incident_app.services.organisation import get_organisation
from tests.support.factories import PASSWORD
from tests.support.factories import make_incident
from tests.support.factories import make_user

pytestmark = pytest.mark.browser

COSTS = [
    ("Forensic investigation", "42,000.00", "Mandiant-like LLC"),
    ("Outside counsel", "18,250.00", "Baker & Partners"),
    ("Notification and mailing", "3,750.50", "PrintMail Co"),
]


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def record_costs_and_outage(page, base: str, incident_id: int, tmp_path) -> None:
    page.goto(f"{base}/incidents/{incident_id}/impact")
    for category, amount, vendor in COSTS:
        page.get_by_label("Category").select_option(label=category)
        page.get_by_label("Amount").fill(amount)
        page.get_by_label("Date").fill("2026-02-10")
        page.get_by_label("Vendor").fill(vendor)
        page.get_by_role("button", name="Record cost").click()
        expect(page.get_by_test_id("cost-entries")).to_contain_text(vendor)
    page.get_by_label("What was disrupted").select_option(label="Billing halted")
    page.get_by_label("System or process").fill("Billing system")
    page.get_by_label("Down from").fill("2026-02-01T08:00")
    page.get_by_label("Back up at (empty while still down)").fill("2026-02-03T20:00")
    page.get_by_label("Claims held or delayed").fill("340")
    page.get_by_label("Value of those claims").fill("125,000.00")
    page.get_by_role("button", name="Record disruption").click()
    expect(page.get_by_text("Disruption recorded.")).to_be_visible()
    expect(page.get_by_test_id("cost-total")).to_have_text("USD 64,000.50")
    expect(page.get_by_test_id("cost-per-individual")).to_have_text("USD 64.00")
    page.screenshot(path=str(tmp_path / "incident-impact.png"), full_page=True)


def plan_two_actions(page, base: str, incident_id: int) -> None:
    page.goto(f"{base}/incidents/{incident_id}")
    page.get_by_role("link", name="Actions").click()
    for code_label, owner in (
        ("Trained or retrained workforce members", "Rae Responder"),
        ("Revised policies and procedures", "Lee Lead"),
    ):
        page.get_by_label("From OCR's “actions taken” list").select_option(label=code_label)
        page.get_by_label("Owner").select_option(label=owner)
        page.get_by_label("Due").fill("2026-04-30")
        page.get_by_role("button", name="Add action").click()
        expect(page.get_by_test_id("actions")).to_contain_text(owner)


def complete_with_proof(page, base: str, incident_id: int, tmp_path) -> None:
    proof = tmp_path / "sign-in-sheet.pdf"
    proof.write_bytes(b"%PDF-1.4 training attendance sheet")
    page.goto(f"{base}/incidents/{incident_id}/actions")
    title = "Trained or retrained workforce members"
    page.get_by_label(f"Status of “{title}”").select_option(label="Done")
    # The organisation requires proof: without it the action stays open.
    page.get_by_role("button", name=f"Update “{title}”").click()
    expect(page.get_by_text("Attach proof of completion")).to_be_visible()
    page.get_by_label(f"Status of “{title}”").select_option(label="Done")
    page.get_by_label(f"Proof of completion for “{title}”").set_input_files(str(proof))
    page.get_by_role("button", name=f"Update “{title}”").click()
    expect(page.get_by_text(f"“{title}” is now done.")).to_be_visible()
    expect(page.get_by_role("link", name="sign-in-sheet.pdf")).to_be_visible()


def test_after_the_breach_end_to_end(live_app, live_server, page, tmp_path) -> None:
    with live_app.app_context():
        session = get_session()
        officer = make_user(
            session, role=Role.PRIVACY_OFFICER, email="po@example.org", name="Pat Officer"
        )
        responder = make_user(
            session, role=Role.RESPONDER, email="rae@example.org", name="Rae Responder"
        )
        lead = make_user(session, role=Role.RESPONDER, email="lee@example.org", name="Lee Lead")
        incident = make_incident(
            session,
            created_by=officer,
            affected_estimate=1000,
            status=IncidentStatus.MONITORING,
            members={responder: CaseRole.RESPONDER, lead: CaseRole.LEAD},
        )
        org = get_organisation(session)
        org.require_signed_review_to_close = True
        org.require_proof_to_close_action = True
        session.commit()
    base = live_server.url

    sign_in(page, base, officer.email)
    record_costs_and_outage(page, base, incident.id, tmp_path)
    plan_two_actions(page, base, incident.id)
    sign_out(page)

    sign_in(page, base, responder.email)
    complete_with_proof(page, base, incident.id, tmp_path)
    page.get_by_role("link", name="Review").click()
    page.get_by_label("Root cause").fill("A phished password without a second factor.")
    page.get_by_label("Technical safeguards (45 CFR 164.312) — one gap per line").fill(
        "No MFA on webmail"
    )
    page.get_by_role("button", name="Save review").click()
    expect(page.get_by_text("Review saved as version 1.")).to_be_visible()
    sign_out(page)

    sign_in(page, base, officer.email)
    page.goto(f"{base}/incidents/{incident.id}")
    page.get_by_label("Move to").select_option(label="Closed")
    page.get_by_role("button", name="Change status").click()
    # The organisation requires a signed review first.
    expect(page.get_by_text("Version 1 of the post-incident review is not signed")).to_be_visible()
    page.get_by_role("link", name="Review").click()
    page.get_by_role("button", name="Sign version 1").click()
    expect(page.get_by_text("Review version 1 signed.")).to_be_visible()
    # Closing through the incident page's lifecycle form.
    page.get_by_role("link", name="Overview").click()
    page.get_by_label("Move to").select_option(label="Closed")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_text("Status is now Closed.")).to_be_visible()

    page.get_by_role("link", name="Impact", exact=True).first.click()
    page.wait_for_url(f"{base}/impact")
    expect(page.get_by_test_id("impact-cost-total")).to_have_text("USD 64,000.50")
    disruption = page.get_by_test_id("impact-disruption").inner_text()
    assert "Billing halted: 2.5 days" in disruption
    assert "Claims held or delayed: 340 (USD 125,000.00)" in disruption
    assert "Days to recover, summed over incidents: 2.5" in disruption
    page.screenshot(path=str(tmp_path / "impact.png"), full_page=True)
