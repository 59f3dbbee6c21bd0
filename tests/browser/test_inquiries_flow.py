"""In Chromium: after a mailing, a responder logs three inquiries (two found by the letter code
printed on the letter, one by name + date of birth), the list shows initials and letter codes
only, and the pages pass axe-core. The third caller gave a new address: the responder records
the returned letter with it from the inquiry, and the next mailing sends that person a new
letter with a new letter code while the returned one stays on record."""

from __future__ import annotations

import re
from datetime import date
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from incident_app.db import get_session
from incident_app.jobs.mail_merge import mail_merge_job
from tests.browser.test_review_queue_flow import _shot
from tests.browser.test_review_queue_flow import _sign_in
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import team

pytestmark = pytest.mark.browser


def _axe_clean(page) -> None:
    axe_module = pytest.importorskip(
        "axe_playwright_python.sync_playwright",
        reason="axe-playwright-python (requirements-dev.txt) is not installed",
    )
    results = axe_module.Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _log(page, *, summary: str, category: str = "Question", code: str = "", **name) -> None:
    form = page.get_by_role("region", name="Record an inquiry")
    if code:
        form.get_by_role("radio", name="Letter code").check()
        form.get_by_label("Letter code (the").fill(code)
    else:
        form.get_by_role("radio", name="Name and date of birth").check()
        form.get_by_label("First name").fill(name["first"])
        form.get_by_label("Last name").fill(name["last"])
        form.get_by_label("Date of birth", exact=True).fill(name["dob"])
    form.get_by_label("Category").select_option(label=category)
    form.get_by_label("Summary").fill(summary)
    form.get_by_role("button", name="Record inquiry").click()
    expect(page.get_by_test_id("inquiry-summary")).to_have_text(summary)


def test_three_inquiries_and_a_letter_re_mailed_to_a_new_address(live_app, live_server, page):
    with live_app.app_context():
        session = get_session()
        people = team(session)
        case = mailed_case(
            session, people, adult("Ana", "García"), adult("Bo", "Li"), adult("Cy", "Park")
        )
        codes = {name: letter.letter_code for name, letter in case.letters.items()}
        responder, incident_id = case.responder.email, case.incident.id
    base = live_server.url
    inquiries = f"{base}/incidents/{incident_id}/inquiries/"
    _sign_in(page, base, responder)

    page.goto(inquiries)
    _axe_clean(page)
    _log(page, code=codes["Ana"], summary="Asked whether her diagnosis was exposed.")
    expect(page.get_by_test_id("inquiry-person")).to_contain_text("Ana García")
    _axe_clean(page)
    page.goto(inquiries)
    page.get_by_role("region", name="Record an inquiry").get_by_label("Follow up by").fill(
        (date.today() + timedelta(days=5)).isoformat()
    )
    _log(
        page,
        first="bo",
        last="LI",
        dob="1980-04-02",
        category="Complaint",
        summary="Unhappy the letter took two months.",
    )
    expect(page.get_by_test_id("inquiry-letter-code")).to_have_text(codes["Bo"])
    page.goto(inquiries)
    _log(
        page,
        code=codes["Cy"].lower(),
        category="Address change",
        summary="Moved; the letter came back. New address given.",
    )

    page.goto(inquiries)
    rows = page.get_by_test_id("inquiry-list").locator("tbody tr")
    expect(rows).to_have_count(3)
    for initials, code in (("A.G.", codes["Ana"]), ("B.L.", codes["Bo"]), ("C.P.", codes["Cy"])):
        expect(rows.filter(has_text=initials)).to_contain_text(code)
    expect(page.get_by_test_id("inquiry-list")).not_to_contain_text("García")
    expect(page.get_by_test_id("inquiry-chart-table")).to_contain_text("3")
    _axe_clean(page)
    _shot(page, "inquiries.png")

    # The address change is recorded from the inquiry itself: the letter is recorded as returned
    # with the new address, and the returned-mail page shows it waiting for the next mailing.
    rows.filter(has_text="C.P.").get_by_role("link").click()
    address = page.get_by_role("region", name="Record the new address")
    address.get_by_label("Street address").fill("77 Birch Rd")
    address.get_by_label("City").fill("Buffalo")
    address.get_by_label("State", exact=True).fill("NY")
    address.get_by_label("ZIP code").fill("14201")
    address.get_by_role("button", name="Save the new address and re-mail").click()
    expect(page.locator(".flash-success")).to_be_visible()
    _axe_clean(page)
    page.goto(f"{base}/incidents/{incident_id}/returned-mail/")
    returned = page.get_by_test_id("returned-list").locator("tbody tr")
    expect(returned).to_have_count(1)
    expect(returned).to_contain_text("Re-mail pending")
    _axe_clean(page)

    # The next mailing includes only that person, under a new letter code.
    page.goto(f"{base}/incidents/{incident_id}/mailing/")
    page.get_by_test_id("start-mailing").click()
    expect(page.get_by_test_id("confirm-mailing").get_by_test_id("confirm-letters")).to_have_text(
        "1"
    )
    page.get_by_role("button", name="Queue 1 notices").click()
    expect(page.get_by_test_id("batch-status")).to_be_visible()
    mail_merge_job(live_app)
    page.goto(f"{base}/incidents/{incident_id}/returned-mail/")
    expect(returned).to_contain_text("Re-mailed")
    new_code = returned.locator("td").nth(3)
    expect(new_code).not_to_have_text(codes["Cy"])
    expect(new_code).to_have_text(re.compile(r"-M\d+-000001$"))  # the new batch's first letter
    expect(returned.locator("td").first).to_have_text(codes["Cy"])
