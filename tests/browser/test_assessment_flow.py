"""In Chromium: a privacy officer signs a breach assessment and reads the deadlines; a
discovery-date change moves every deadline; a responder on the team can read but not sign."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from incident_app.db import get_session
from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import StateCount
from incident_app.models.user import Role
from tests.support.factories import PASSWORD
from tests.support.factories import make_incident
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def _due(page, kind: str, jurisdiction: str) -> str:
    row = page.locator(f'tr[data-kind="{kind}"][data-jurisdiction="{jurisdiction}"]')
    return row.locator("td.due").inner_text().strip()


def test_officer_assesses_reads_deadlines_moves_them_responder_reads(
    live_app, live_server, page, tmp_path
) -> None:
    with live_app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        responder = make_user(session, role=Role.RESPONDER, email="resp@example.org")
        incident = make_incident(
            session,
            created_by=officer,
            affected_estimate=1500,
            members={responder: CaseRole.RESPONDER},
        )
        for state, residents in {"TX": 900, "OK": 500, "AR": 100}.items():
            session.add(
                StateCount(
                    incident_id=incident.id,
                    source=CountSource.ESTIMATE,
                    state=state,
                    residents=residents,
                )
            )
        session.commit()
    base = live_server.url

    _sign_in(page, base, "po@example.org")
    page.goto(f"{base}/incidents/{incident.id}/assessment")
    page.get_by_label("Was protected health information involved?").select_option("yes")
    page.get_by_label("Was the use or disclosure permitted").select_option("no")
    page.get_by_label("Was the PHI secured?").select_option("none")
    page.get_by_label("(ii) The unauthorized person", exact=True).select_option("malicious")
    page.get_by_label("(iii) Was the PHI actually acquired or viewed?").select_option("unknown")
    page.get_by_label("Conclusion", exact=True).select_option("breach")
    page.get_by_role("button", name="Save and sign").click()

    expect(page.get_by_text("Version 1 saved and signed. Deadlines recalculated.")).to_be_visible()
    page.get_by_role("link", name="Deadlines").click()
    assert page.locator("#verdict").inner_text() == "Reportable breach"
    for kind, where in (("individual_notice", "US"), ("hhs_notice", "US"), ("media_notice", "TX")):
        assert _due(page, kind, where).startswith("2025-11-14"), kind
    assert page.locator('tr[data-kind="media_notice"][data-jurisdiction="OK"]').count() == 0
    page.screenshot(path=str(tmp_path / "deadlines.png"), full_page=True)

    page.get_by_label("Date discovered").fill("2025-10-01")
    page.get_by_role("button", name="Save discovery dates").click()

    expect(page.get_by_text("Every deadline was recalculated.")).to_be_visible()
    assert _due(page, "individual_notice", "US").startswith("2025-11-30")
    assert _due(page, "hhs_notice", "US").startswith("2025-11-30")
    assert _due(page, "media_notice", "TX").startswith("2025-11-30")
    assert _due(page, "state_regulator_notice", "TX").startswith("2025-10-31")
    assert page.get_by_text("2025-11-14").count() == 0
    page.get_by_role("button", name="Sign out").click()

    _sign_in(page, base, "resp@example.org")
    page.goto(f"{base}/incidents/{incident.id}/assessment")
    assert "version 1" in page.locator("#in-effect").inner_text()
    assert page.get_by_role("button", name="Save and sign").count() == 0
    expect(page.get_by_role("button", name="Save as new version")).to_be_visible()
    page.get_by_role("link", name="Deadlines").click()
    assert _due(page, "individual_notice", "US").startswith("2025-11-30")
    assert page.get_by_role("heading", name="Override the determination").count() == 0
