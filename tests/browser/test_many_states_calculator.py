"""In Chromium: a 12-state breach in the what-if calculator lists exactly the obligations the
rules engine returns — with the verify-with-counsel marks, the may-not-apply texts and the
HIPAA deemers — and recording the HHS notice date moves the Illinois AG clock tied to it.
The page also passes axe-core (when axe-playwright-python is installed)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from incident_app import rules
from incident_app.db import get_session
from incident_app.models.incident import CountSource
from incident_app.models.incident import StateCount
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.obligations import presentation
from tests.support.factories import PASSWORD
from tests.support.factories import make_incident
from tests.support.factories import make_user

pytestmark = pytest.mark.browser

# NY: CRA notice above 5,000 residents; FL: CRA above 1,000; IL and CT: conditional HIPAA
# deemers (the AG notice is the condition); GA: a statute that may not apply; TX: media.
RESIDENTS = {
    "NY": 5500,
    "FL": 1200,
    "TX": 700,
    "PA": 600,
    "CA": 50,
    "CT": 40,
    "IL": 30,
    "OH": 30,
    "WA": 30,
    "MA": 25,
    "GA": 20,
    "AR": 20,
}
DISCOVERED = date(2026, 3, 2)
TOTAL = 8300


def _engine(hhs_on: date | None = None) -> rules.Determination:
    return rules.evaluate(
        rules.BreachFacts(
            discovered_on=DISCOVERED,
            affected_total=TOTAL,
            residents_by_state=RESIDENTS,
            notices_sent=rules.NoticesSent(hhs_on=hhs_on) if hhs_on else None,
        )
    )


def _expected(determination: rules.Determination) -> Counter:
    shown = presentation.present_all(determination.obligations, zone="America/New_York")
    return Counter(
        (item.kind, item.jurisdiction, item.due_on.isoformat() if item.due_on else "No fixed date")
        for item in shown
    )


def _on_page(page) -> Counter:
    rows = page.locator("#obligations tbody tr")
    found = Counter()
    for index in range(rows.count()):
        row = rows.nth(index)
        found[
            (
                row.get_attribute("data-kind"),
                row.get_attribute("data-jurisdiction"),
                row.locator("td.due").inner_text().strip(),
            )
        ] += 1
    return found


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def _calculate(page, base: str, hhs_on: str = "") -> None:
    page.goto(f"{base}/calculator/")
    page.get_by_label("Date discovered").fill(DISCOVERED.isoformat())
    page.get_by_label("Individuals affected").fill(str(TOTAL))
    page.get_by_label("Residents per state").fill(
        "\n".join(f"{state}={count}" for state, count in RESIDENTS.items())
    )
    if hhs_on:
        page.get_by_label("Notice to HHS sent on").fill(hhs_on)
    page.get_by_role("button", name="Calculate").click()
    page.wait_for_selector("#result")


@pytest.fixture
def officer_page(live_app, live_server, page):
    with live_app.app_context():
        make_user(get_session(), role=Role.PRIVACY_OFFICER, email="po@example.org")
    _sign_in(page, live_server.url, "po@example.org")
    return page


def test_a_twelve_state_breach_shows_every_obligation_with_its_marks(
    live_server, officer_page, tmp_path
) -> None:
    page = officer_page
    engine = _engine()
    assert {o.kind for o in engine.obligations} >= {"cra_notice", "state_regulator_notice"}

    _calculate(page, live_server.url)
    page.screenshot(path=str(tmp_path / "twelve-states.png"), full_page=True)

    assert _on_page(page) == _expected(engine)
    for obligation in engine.obligations:
        row = page.locator(
            f'#obligations tr[data-kind="{obligation.kind}"]'
            f'[data-jurisdiction="{obligation.jurisdiction}"]'
        ).filter(has_text=obligation.citation)
        assert row.count() >= 1, obligation
        text = row.first.inner_text()
        if presentation.needs_counsel(obligation.detail):
            assert row.first.locator(".verify-counsel").is_visible(), obligation
        else:
            assert "Verify with counsel" not in text, obligation
        if obligation.detail.get("may_not_apply"):
            assert row.first.locator(".may-not-apply").is_visible(), obligation
            assert obligation.detail["may_not_apply"] in text
    deemers = page.locator("#deemers")
    expect(deemers).to_be_visible()
    assert "Illinois (IL)" in deemers.inner_text()
    assert "Connecticut (CT)" in deemers.inner_text()
    assert page.locator('#obligations tr[data-kind="cra_notice"][data-jurisdiction="NY"]').count()


def test_recording_the_hhs_notice_moves_the_illinois_ag_clock(live_server, officer_page) -> None:
    page = officer_page
    il_ag = '#obligations tr[data-kind="state_regulator_notice"][data-jurisdiction="IL"]'

    _calculate(page, live_server.url)
    before = page.locator(il_ag).locator("td.due").inner_text().strip()
    assert "last allowed date of the notice to HHS" in page.locator(il_ag).inner_text()

    _calculate(page, live_server.url, hhs_on="2026-03-20")
    after = page.locator(il_ag).locator("td.due").inner_text().strip()

    assert after == "2026-03-27"  # 5 Illinois business days after Friday 2026-03-20
    assert before != after
    assert "recorded as sent on 2026-03-20" in page.locator(il_ag).inner_text()
    assert _on_page(page) == _expected(_engine(hhs_on=date(2026, 3, 20)))


def test_the_result_page_passes_axe(live_server, officer_page) -> None:
    axe_module = pytest.importorskip(
        "axe_playwright_python.sync_playwright",
        reason="axe-playwright-python (requirements-dev.txt) is not installed",
    )
    page = officer_page
    _calculate(page, live_server.url)

    results = axe_module.Axe().run(page)

    assert results.violations_count == 0, results.generate_report()


def test_the_deadlines_tab_passes_axe_and_shows_the_marks(
    live_app, live_server, officer_page
) -> None:
    axe_module = pytest.importorskip(
        "axe_playwright_python.sync_playwright",
        reason="axe-playwright-python (requirements-dev.txt) is not installed",
    )
    with live_app.app_context():
        session = get_session()
        officer = session.scalars(sa.select(User).where(User.email == "po@example.org")).one()
        incident = make_incident(session, created_by=officer, affected_estimate=TOTAL)
        for state, residents in RESIDENTS.items():
            session.add(
                StateCount(
                    incident_id=incident.id,
                    source=CountSource.ESTIMATE,
                    state=state,
                    residents=residents,
                )
            )
        session.commit()
    page = officer_page

    page.goto(f"{live_server.url}/incidents/{incident.id}/deadlines")

    assert page.locator("#preview-obligations .verify-counsel").count() > 0
    assert page.locator("#preview-obligations .may-not-apply").count() > 0
    results = axe_module.Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
