"""Legal review through HTTP: the queue on the dashboard, the letter read as page images of the
stored bytes (audited), the approval confirmed by its SHA-256 prefix, and the one-page revision
that sends the new version back to the same reviewer."""

from __future__ import annotations

import re

import sqlalchemy as sa

from incident_app import app_store
from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.user import Role
from tests.conftest import csrf_token
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation

PNG = b"\x89PNG\r\n\x1a\n"


def _setup(app):
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, name="Olivia Officer")
        legal = make_user(session, role=Role.LEGAL, name="Carla Counsel")
        incident = breach_case(session, officer=officer, members={legal: CaseRole.LEGAL})
        ob = obligation(session, incident, "individual_notice")
    return officer, legal, incident, ob


def _post(client, path, **data):
    token = csrf_token(client, path.split("/letters/")[0] + "/letters/")
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)


def _letter(app) -> Letter:
    with app.app_context():
        letter = get_session().scalars(sa.select(Letter)).one()
        assert letter.current_version is not None
        assert letter.current_version.sha256
        return letter


def _in_review(app, client, auth, officer, incident, ob) -> Letter:
    auth.login(officer.email)
    _post(
        client,
        f"/incidents/{incident.id}/letters/generate",
        obligation_id=ob.id,
        template_name="individual_adult.html",
    )
    letter = _letter(app)
    page = _post(client, f"/incidents/{incident.id}/letters/{letter.id}/submit")
    assert b"Sent to legal review" in page.data
    auth.logout()
    return letter


def _audited(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(get_session().scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_the_reviewer_finds_the_letter_on_the_dashboard_and_in_the_bell(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    letter = _in_review(app, client, auth, officer, incident, ob)

    auth.login(legal.email)
    html = client.get("/").get_data(as_text=True)

    assert "Letters awaiting my review" in html
    row = re.search(rf'<tr data-letter-id="{letter.id}">(.*?)</tr>', html, re.S).group(1)
    for text in (incident.reference, letter.document_id, "Notice to individuals", "2025-11-14"):
        assert text in row
    assert f"/incidents/{incident.id}/letters/{letter.id}" in row
    bell = client.get("/notifications/").get_data(as_text=True)
    assert f"letter awaits your review ({letter.document_id})" in bell


def test_the_officer_sees_no_review_queue(app, client, auth):
    officer, _, incident, ob = _setup(app)
    _in_review(app, client, auth, officer, incident, ob)
    auth.login(officer.email)

    assert b"Letters awaiting my review" not in client.get("/").data


def test_the_letter_page_shows_page_images_of_the_stored_bytes(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    letter = _in_review(app, client, auth, officer, incident, ob)
    auth.login(legal.email)
    base = f"/incidents/{incident.id}/letters/{letter.id}"

    html = client.get(base).get_data(as_text=True)
    version = letter.current_version
    src = f"{base}/versions/{version.id}/pages/1.png"
    assert f'src="{src}"' in html
    pages = int(re.search(rf"Page 1 of (\d+) of {letter.document_id} version 1", html).group(1))
    assert html.count(f"{base}/versions/{version.id}/pages/") == pages
    assert "What happened" in html  # the text of the version, for screen readers
    response = client.get(src)

    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(PNG)
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    [event] = _audited(app, "letter.page_viewed")
    assert event.details["sha256"] == version.sha256 and event.details["page"] == 1
    missing = f"{base}/versions/{version.id}/pages/{pages + 1}.png"
    assert client.get(missing).status_code == 404


def test_a_tampered_pdf_gives_no_page_image_and_the_refusal_is_audited(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    letter = _in_review(app, client, auth, officer, incident, ob)
    with app.app_context():
        path = app_store.current_store().path_for(letter.current_version.sha256)
        path.write_bytes(path.read_bytes()[:200])
    auth.login(legal.email)
    base = f"/incidents/{incident.id}/letters/{letter.id}"

    response = client.get(f"{base}/versions/{letter.current_version.id}/pages/1.png")

    assert response.status_code == 409
    assert len(_audited(app, "letter.page_refused")) == 1
    assert b"Preview unavailable: The stored PDF failed its check" in client.get(base).data


def test_approval_asks_for_the_sha256_prefix_and_refuses_a_wrong_one(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    letter = _in_review(app, client, auth, officer, incident, ob)
    auth.login(legal.email)
    base = f"/incidents/{incident.id}/letters/{letter.id}"
    prefix = letter.current_version.sha256[:12]

    html = client.get(base).get_data(as_text=True)
    assert f'name="expected_sha256" value="{prefix}"' in html
    assert f"Confirm approval of {letter.document_id} version 1 ({prefix})" in html

    page = _post(client, f"{base}/approve", expected_sha256="a" * 12)
    assert b"changed since you opened it" in page.data
    page = _post(client, f"{base}/approve")
    assert b"first 12 characters" in page.data
    assert _letter(app).status is LetterStatus.IN_REVIEW

    page = _post(client, f"{base}/approve", expected_sha256=prefix)
    assert b"Approved." in page.data and _letter(app).status is LetterStatus.APPROVED


def test_edit_wording_and_regenerate_sends_the_new_version_to_the_same_reviewer(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    letter = _in_review(app, client, auth, officer, incident, ob)
    base = f"/incidents/{incident.id}/letters/{letter.id}"
    auth.login(legal.email)
    _post(client, f"{base}/changes", comment="Offer the free credit monitoring.")
    auth.logout()

    auth.login(officer.email)
    html = client.get(base).get_data(as_text=True)
    assert "Offer the free credit monitoring." in html and "Edit wording and regenerate" in html
    form = client.get(f"{base}/revise").get_data(as_text=True)
    assert "Carla Counsel" in form and "Offer the free credit monitoring." in form
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    page = client.post(
        f"{base}/revise",
        data={
            "csrf_token": token,
            "what_happened": "A billing laptop was stolen from a car.",
            "phi_types": "Names\nDates of birth",
            "steps_for_individuals": "Enroll in the free credit monitoring we offer.",
            "what_we_are_doing": "We encrypted every laptop.",
            "covered_entity_type": "Healthcare Provider",
        },
        follow_redirects=True,
    )

    assert b"Version 2 generated and sent to Carla Counsel." in page.data
    revised = _letter(app)
    assert revised.status is LetterStatus.IN_REVIEW and revised.current_version.number == 2
    auth.logout()
    auth.login(legal.email)
    html = client.get(base).get_data(as_text=True)
    assert "Changes since the approved version" not in html  # nothing was approved yet
    assert "Enroll in the free credit monitoring we offer." in html


def test_a_legal_reviewer_cannot_revise(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    letter = _in_review(app, client, auth, officer, incident, ob)
    auth.login(legal.email)

    assert client.get(f"/incidents/{incident.id}/letters/{letter.id}/revise").status_code == 403


def test_prepare_every_letter_the_roster_needs_from_the_letters_tab(app, client, auth):
    from tests.support.mail_merge_helpers import adult
    from tests.support.mail_merge_helpers import case_with_roster
    from tests.support.mail_merge_helpers import team

    with app.app_context():
        people = team(get_session())
        incident = case_with_roster(
            get_session(), people, adult("Ana"), adult("Kid", minor="Y", dob="2015-01-02")
        )
        officer_email, legal_name = people.officer.email, people.legal.name
        incident_id = incident.id
    auth.login(officer_email)
    tab = client.get(f"/incidents/{incident_id}/letters/").get_data(as_text=True)
    assert "Prepare every letter this roster needs" in tab

    page = _post(client, f"/incidents/{incident_id}/letters/prepare")

    html = page.get_data(as_text=True)
    assert "Individual notice (adult) for 1 person: sent to review" in html
    assert "Individual notice to a parent or guardian for 1 person: sent to review" in html
    assert f"Sent to {legal_name} as one review request." in html
    with app.app_context():
        names = get_session().scalars(sa.select(Letter.template_name).order_by(Letter.id)).all()
    assert names == ["individual_adult.html", "individual_minor.html"]
