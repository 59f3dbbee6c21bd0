"""Issue 23 follow-ups through HTTP: the roster person page tells the person's story after the
letter (letters, returned mail with its re-mail status, inquiries linking to their pages) and
"Re-mail pending" shows there and in the people list; an inquiry recorded as not on the roster
is linked from its page, and an address change records the new address from its page (bad
input: 422 with the message, nothing written)."""

from __future__ import annotations

import html

import sqlalchemy as sa

from incident_app import app_store
from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import ReturnedLetter
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from tests.conftest import csrf_token
from tests.support.inquiry_helpers import count_of
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import team
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv

ADDRESS = {"line1": "77 Birch Rd", "city": "Buffalo", "state": "NY", "zip_code": "14201"}


def _case(app):
    with app.app_context():
        session = get_session()
        return mailed_case(session, team(session), adult("Ana", "García"), adult("Bo", "Li"))


def _post(client, url, page, **fields):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **fields})


def _record(client, case, **fields):
    base = f"/incidents/{case.incident.id}/inquiries/"
    values = {
        "found_by": "not_on_roster",
        "caller_name": "Ana García",
        "channel": "phone",
        "category": "address_change",
        "summary": "Moved last month.",
        "assignee_id": "",
    }
    answer = _post(client, base, base, **{**values, **fields})
    assert answer.status_code == 302
    return answer.headers["Location"]


def _count(app, model):
    with app.app_context():
        return count_of(get_session(), model)


def _replace_roster(app, case, *rows) -> int:
    """A roster "replace" import of these rows; the id of Ana's new row."""
    with app.app_context():
        session = get_session()
        import_csv(
            session,
            actor=session.get(User, case.incident.created_by_id),
            incident_id=case.incident.id,
            data=csv_bytes(*rows),
            store=app_store.current_store(),
        )
        return roster_people(session, case.incident)["Ana"].id


def test_link_then_new_address_then_the_person_page_shows_the_story(app, client, auth):
    case = _case(app)
    auth.login(case.responder.email)
    ana = case.letters["Ana"]
    detail = _record(client, case)
    page = client.get(detail).get_data(as_text=True)
    assert "Link to a roster person" in page and "Record the new address" in page

    # Not linked yet: the address is refused, nothing written.
    refused = _post(client, detail + "/address", detail, **ADDRESS)
    assert refused.status_code == 422
    assert "Link this inquiry to the roster person first" in html.unescape(
        refused.get_data(as_text=True)
    )
    assert _count(app, ReturnedLetter) == 0

    unknown = _post(client, detail + "/link", detail, letter_code="NOPE-9")
    assert unknown.status_code == 422
    assert "No letter of this incident has the code" in unknown.get_data(as_text=True)
    linked = _post(client, detail + "/link", detail, letter_code=ana.letter_code)
    assert linked.status_code == 302
    page = client.get(detail).get_data(as_text=True)
    assert "Link to a roster person" not in page
    assert f"roster record #{ana.person_id}" in page

    bad = _post(client, detail + "/address", detail, **{**ADDRESS, "zip_code": "ABCDE"})
    assert bad.status_code == 422 and "The new address" in bad.get_data(as_text=True)
    assert _count(app, ReturnedLetter) == 0
    saved = _post(client, detail + "/address", detail, **ADDRESS)
    assert saved.status_code == 302
    assert _count(app, ReturnedLetter) == 1

    person = client.get(f"/incidents/{case.incident.id}/roster/people/{ana.person_id}")
    text = person.get_data(as_text=True)
    assert person.status_code == 200
    assert "Re-mail pending" in text and ana.letter_code in text
    assert 'data-testid="person-returns"' in text and "Re-mail to a new address" in text
    inquiry_id = detail.rstrip("/").rsplit("/", 1)[-1]
    assert f"/inquiries/{inquiry_id}" in text and "Address change" in text
    listing = client.get(f"/incidents/{case.incident.id}/roster/people").get_data(as_text=True)
    assert listing.count('data-testid="remail-pending"') == 1
    with app.app_context():
        actions = list(get_session().scalars(sa.select(AuditEvent.action)))
    assert {"inquiry.person_linked", "inquiry.address_recorded", "roster.person_viewed"} <= set(
        actions
    )


def test_a_link_without_the_csrf_token_is_refused_and_nothing_changes(app, client, auth):
    case = _case(app)
    auth.login(case.responder.email)
    detail = _record(client, case)
    answer = client.post(detail + "/link", data={"letter_code": case.letters["Ana"].letter_code})
    assert answer.status_code == 400
    with app.app_context():
        assert get_session().scalar(sa.select(Inquiry)).person_id is None


def test_after_a_replace_the_new_row_shows_the_earlier_versions_letter_marked(app, client, auth):
    case = _case(app)
    auth.login(case.responder.email)
    ana = case.letters["Ana"]
    _record(client, case, found_by="letter_code", letter_code=ana.letter_code, caller_name="")
    new_id = _replace_roster(app, case, adult("Ana", "García"))
    assert new_id != ana.person_id

    text = client.get(f"/incidents/{case.incident.id}/roster/people/{new_id}").get_data(
        as_text=True
    )
    assert ana.letter_code in text and "Address change" in text
    assert text.count('data-testid="earlier-version"') == 2  # the letter and the inquiry
    assert 'data-testid="earlier-note"' in text


def test_after_a_replace_the_new_row_keeps_the_re_mail_pending_badge(app, client, auth):
    case = _case(app)
    auth.login(case.responder.email)
    ana = case.letters["Ana"]
    detail = _record(client, case, found_by="letter_code", letter_code=ana.letter_code)
    assert _post(client, detail + "/address", detail, **ADDRESS).status_code == 302
    new_id = _replace_roster(app, case, adult("Ana", "García"), adult("Bo", "Li"))
    assert new_id != ana.person_id

    base = f"/incidents/{case.incident.id}/roster/people"
    person = client.get(f"{base}/{new_id}").get_data(as_text=True)
    assert '<span class="badge amber">Re-mail pending</span>' in person
    listing = client.get(base).get_data(as_text=True)
    assert listing.count('data-testid="remail-pending"') == 1  # Ana's new row, not Bo's


def test_a_deceased_notice_linked_from_its_page_marks_the_person(app, client, auth):
    case = _case(app)
    auth.login(case.responder.email)
    bo = case.letters["Bo"]
    detail = _record(client, case, category="deceased_notice", caller_name="Bo's daughter")
    linked = _post(client, detail + "/link", detail, letter_code=bo.letter_code)
    assert linked.status_code == 302
    with app.app_context():
        assert get_session().get(RosterPerson, bo.person_id).deceased
