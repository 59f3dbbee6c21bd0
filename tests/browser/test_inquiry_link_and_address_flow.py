"""In Chromium: the two forms on an inquiry's page. A caller not found on the roster reports a
new address; the responder first tries to save the address (refused: link the person first),
links the inquiry to the person (a wrong letter code is refused, then name + date of birth
finds her), records the new address (an invalid ZIP code is refused, then it is saved), and
the person's record shows the inquiry and "Re-mail pending". Every page and every refusal
passes axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from incident_app.db import get_session
from tests.browser.test_inquiries_flow import _axe_clean
from tests.browser.test_review_queue_flow import _sign_in
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import team

pytestmark = pytest.mark.browser


def _fill_address(region, zip_code: str) -> None:
    region.get_by_label("Street address").fill("77 Birch Rd")
    region.get_by_label("City").fill("Buffalo")
    region.get_by_label("State", exact=True).fill("NY")
    region.get_by_label("ZIP code").fill(zip_code)
    region.get_by_role("button", name="Save the new address and re-mail").click()


def test_link_an_inquiry_then_record_the_new_address_it_gave(live_app, live_server, page):
    with live_app.app_context():
        session = get_session()
        case = mailed_case(session, team(session), adult("Ana", "García"), adult("Bo", "Li"))
        responder, incident_id = case.responder.email, case.incident.id
    base = live_server.url
    _sign_in(page, base, responder)

    page.goto(f"{base}/incidents/{incident_id}/inquiries/")
    form = page.get_by_role("region", name="Record an inquiry")
    form.get_by_role("radio", name="Not found on the roster").check()
    form.get_by_label("Caller's name").fill("Ana Garcia")
    form.get_by_label("Category").select_option(label="Address change")
    form.get_by_label("Summary").fill("Moved in May; gave her new address. No letter to hand.")
    form.get_by_role("button", name="Record inquiry").click()
    expect(page.get_by_test_id("inquiry-letter-code")).to_have_text("—")
    _axe_clean(page)

    # The address cannot be recorded before the inquiry names a roster person.
    _fill_address(page.get_by_role("region", name="Record the new address"), "14201")
    expect(page.get_by_role("main")).to_contain_text("Link this inquiry to the roster person first")
    _axe_clean(page)

    link = page.get_by_role("region", name="Link to a roster person")
    link.get_by_label("Letter code (the").fill("NOPE-1")
    link.get_by_role("button", name="Link").click()
    expect(page.get_by_role("main")).to_contain_text("No letter of this incident has the code")
    _axe_clean(page)
    link = page.get_by_role("region", name="Link to a roster person")
    link.get_by_label("Letter code (the").fill("")
    link.get_by_label("First name").fill("ana")
    link.get_by_label("Last name").fill("GARCÍA")
    link.get_by_label("Date of birth").fill("1980-04-02")
    link.get_by_role("button", name="Link").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.get_by_test_id("inquiry-person")).to_contain_text("roster record #")
    expect(page.get_by_role("region", name="Link to a roster person")).to_have_count(0)
    _axe_clean(page)

    address = page.get_by_role("region", name="Record the new address")
    _fill_address(address, "ABCDE")
    expect(page.get_by_label("ZIP code")).to_have_attribute("aria-invalid", "true")
    _axe_clean(page)
    _fill_address(page.get_by_role("region", name="Record the new address"), "14201")
    expect(page.locator(".flash-success")).to_be_visible()
    _axe_clean(page)

    page.get_by_test_id("inquiry-person").get_by_role("link").click()
    expect(page.get_by_test_id("notice-status")).to_contain_text("Re-mail pending")
    expect(page.get_by_test_id("person-returns")).to_contain_text("Re-mail pending")
    expect(page.get_by_test_id("person-inquiries")).to_contain_text("Address change")
    _axe_clean(page)
