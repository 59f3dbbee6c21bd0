"""In Chromium: the roster needs an adult letter and a parent's letter; only the adult one is
approved. The Mailing tab says the Spanish letter is not needed (no bold "Not approved") and
offers to mail the approved letters now; the confirmation names the counts, the variants and the
print files before anything is queued; the finished mailing's progress bar is full, and the
officer records it as mailed. Once the parent's letter is approved and mailed too, the Letters
tab shows the notice to individuals as sent (proof of notice)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.jobs.mail_merge import mail_merge_job
from incident_app.models.incident import Incident
from incident_app.models.mail_batch import MailBatch
from incident_app.services.letters.case_data import local_date
from incident_app.services.organisation import get_organisation
from tests.browser.test_review_queue_flow import _shot
from tests.browser.test_review_queue_flow import _sign_in
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import team

pytestmark = pytest.mark.browser


def _mailed_on(app) -> str:
    """The day the last mailing started, in the organisation's time zone."""
    with app.app_context():
        session = get_session()
        created = session.scalars(
            sa.select(MailBatch.created_at).order_by(MailBatch.id.desc())
        ).first()
        return local_date(created, get_organisation(session).timezone).isoformat()


def _mail_and_record(page, app, base: str, incident_id: int, letters: int) -> None:
    page.goto(f"{base}/incidents/{incident_id}/mailing/")
    page.get_by_test_id("start-mailing").click()
    confirm = page.get_by_test_id("confirm-mailing")
    assert confirm.get_by_test_id("confirm-letters").inner_text() == str(letters)
    assert confirm.get_by_test_id("confirm-files").inner_text().startswith("1 ")
    _shot(page, "mailing-confirm.png")
    page.get_by_role("button", name=f"Queue {letters} notices").click()
    page.get_by_test_id("batch-status").wait_for()
    mail_merge_job(app)
    page.reload()
    assert page.get_by_test_id("batch-status").inner_text() == "Completed"
    bar = page.locator(".batch-progress progress")
    card = page.locator(".batch-progress")
    # full width of its card and full: not the browser's 10em default that looked 12 % full
    assert bar.evaluate("b => b.value / b.max") == 1
    assert bar.bounding_box()["width"] >= 0.95 * card.bounding_box()["width"]
    page.get_by_label("Record as mailed on").fill(_mailed_on(app))
    page.get_by_role("button", name="Record as mailed").click()
    assert "Recorded as mailed on" in page.get_by_test_id("mailed").inner_text()


def test_mail_what_is_approved_then_the_rest_then_see_proof(live_app, live_server, page):
    with live_app.app_context():
        session = get_session()
        people = team(session)
        incident = case_with_roster(
            session,
            people,
            adult("Ana"),
            adult("Bo"),
            adult("Kid", minor="Y", dob="2015-01-02"),
        )
        approve(session, people, incident)  # the adult letter only
        officer, incident_id = people.officer.email, incident.id
    base = live_server.url

    _sign_in(page, base, officer)
    page.goto(f"{base}/incidents/{incident_id}/mailing/")
    plan = page.get_by_test_id("plan")
    assert "Not needed" in plan.locator('tr[data-variant="spanish"]').inner_text()
    assert plan.locator("strong", has_text="Not approved").count() == 0
    assert "these people wait" in plan.locator('tr[data-variant="minor"]').inner_text()
    _shot(page, "mailing-tab-partial.png")

    _mail_and_record(page, live_app, base, incident_id, letters=2)
    assert "Notification" in page.get_by_test_id("status-suggestion").inner_text()
    page.goto(f"{base}/incidents/{incident_id}/letters/")
    assert "No notice recorded as sent yet" in page.content()  # one person still waits

    with live_app.app_context():
        session = get_session()
        approve(session, people, session.get_one(Incident, incident_id), "individual_minor.html")
    _mail_and_record(page, live_app, base, incident_id, letters=1)
    _shot(page, "mailing-recorded.png")
    page.goto(f"{base}/incidents/{incident_id}/letters/")
    notices = page.get_by_test_id("notices")
    assert notices.locator("tr[data-notice]").count() == 2
    assert "First-class mail" in notices.inner_text()
