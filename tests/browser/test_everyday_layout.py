"""In Chromium: the Roster tab's "This file" radio buttons sit on the line of their labels, and
the "CSV format" disclosure arrow is on its heading's line (issue 19, item 12)."""

from __future__ import annotations

import pytest

from incident_app.db import get_session
from incident_app.models.user import Role
from tests.browser.test_review_queue_flow import _sign_in
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case

pytestmark = pytest.mark.browser


def test_roster_radios_and_the_csv_format_heading_sit_on_one_line(live_app, live_server, page):
    with live_app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        incident = breach_case(session, officer=officer)
    base = live_server.url
    _sign_in(page, base, "po@example.org")
    page.goto(f"{base}/incidents/{incident.id}/roster/")

    for choice in page.locator("p.choice").all():
        radio = choice.locator("input[type=radio]").bounding_box()
        label = choice.locator("label").bounding_box()
        assert radio["width"] < 40  # not a full-width input with the dot centred in it
        assert label["x"] > radio["x"]  # to the right of the button ...
        assert abs((label["y"] + label["height"] / 2) - (radio["y"] + radio["height"] / 2)) < 8
    assert page.locator("p.choice").count() == 2

    summary = page.locator("#csv-format > summary")
    heading = summary.locator("h2").bounding_box()
    # one line: the summary (with its arrow) is no taller than the heading plus a little
    assert summary.bounding_box()["height"] < heading["height"] * 1.6


def test_the_assessment_asks_only_what_applies(live_app, live_server, page):
    with live_app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        incident = breach_case(session, officer=officer)
    base = live_server.url
    _sign_in(page, base, "po@example.org")
    page.goto(f"{base}/incidents/{incident.id}/assessment")
    key = page.get_by_label("Was the decryption key or credential also exposed?")
    facts = page.get_by_label("Facts that meet the exception")
    tall = page.evaluate("document.body.scrollHeight")

    assert not key.is_visible() and not facts.is_visible()
    page.get_by_label("Was the PHI secured?").select_option("encryption")
    assert key.is_visible()
    page.get_by_label("Was the PHI secured?").select_option("none")
    assert not key.is_visible()
    page.get_by_label("Does an exception apply?").select_option(label="No exception applies")
    assert not facts.is_visible()
    page.get_by_label("Does an exception apply?").select_option("unable_to_retain")
    assert facts.is_visible()
    assert page.get_by_label("Good-faith belief", exact=False).is_visible()
    assert not page.get_by_label("Within the scope of that person's authority").is_visible()
    page.get_by_label("Does an exception apply?").select_option(label="No exception applies")
    assert page.evaluate("document.body.scrollHeight") <= tall
