"""The Letters tab through HTTP: generate, review, approve, refuse tampered downloads, mark sent."""

from __future__ import annotations

import sqlalchemy as sa

from incident_app import app_store
from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import LetterVersion
from incident_app.models.organisation import Organisation
from incident_app.models.user import Role
from tests.conftest import csrf_token
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation


def _setup(app, **case_kwargs):
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER)
        legal = make_user(session, role=Role.LEGAL)
        incident = breach_case(
            session, officer=officer, members={legal: CaseRole.LEGAL}, **case_kwargs
        )
        ob = obligation(session, incident, "individual_notice")
    return officer, legal, incident, ob


def _generate(client, incident, ob, template="individual_adult.html"):
    base = f"/incidents/{incident.id}/letters/"
    token = csrf_token(client, base)
    return client.post(
        base + "generate",
        data={"csrf_token": token, "obligation_id": ob.id, "template_name": template},
        follow_redirects=True,
    )


def _post(client, path, **data):
    token = csrf_token(client, path.split("/letters/")[0] + "/letters/")
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)


def _letter(app) -> Letter:
    with app.app_context():
        letter = get_session().scalars(sa.select(Letter)).one()
        assert letter.current_version is None or letter.current_version.sha256  # load it
        return letter


def test_officer_generates_and_sends_to_review_legal_approves(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    auth.login(officer.email)

    page = _generate(client, incident, ob)
    assert b"generated" in page.data and b"All required elements are present" in page.data
    letter = _letter(app)
    base = f"/incidents/{incident.id}/letters/{letter.id}"
    page = _post(client, f"{base}/submit")
    assert b"Sent to legal review" in page.data
    auth.logout()

    auth.login(legal.email)
    prefix = letter.current_version.sha256[:12]
    page = _post(client, f"{base}/approve", expected_sha256=prefix)
    assert b"Approved. The approval is bound" in page.data
    assert b"Approval valid" in page.data
    assert _letter(app).status is LetterStatus.APPROVED


def test_legal_request_changes_shows_the_comment(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    auth.login(officer.email)
    _generate(client, incident, ob)
    letter = _letter(app)
    base = f"/incidents/{incident.id}/letters/{letter.id}"
    _post(client, f"{base}/submit")
    auth.logout()

    auth.login(legal.email)
    page = _post(client, f"{base}/changes", comment="Mention the credit monitoring offer.")

    assert b"Changes requested" in page.data
    assert b"Mention the credit monitoring offer." in page.data


def test_missing_elements_are_listed_and_review_refused(app, client, auth):
    officer, _, incident, ob = _setup(app, wording=False)
    auth.login(officer.email)

    page = _generate(client, incident, ob)
    assert b"Missing required elements" in page.data
    assert b"(A) what happened" in page.data
    page = _post(client, f"/incidents/{incident.id}/letters/{_letter(app).id}/submit")

    assert b"missing required 164.404(c) elements" in page.data
    assert _letter(app).status is LetterStatus.DRAFT


def test_a_stale_letter_shows_why_after_the_wording_changes(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    auth.login(officer.email)
    _generate(client, incident, ob)
    path = f"/incidents/{incident.id}/letters/wording"
    page = _post(
        client,
        path,
        what_happened="New wording.",
        steps_for_individuals="Call.",
        what_we_are_doing="Fixing.",
        covered_entity_type="Healthcare Provider",
    )
    assert b"Notice wording saved" in page.data

    page = client.get(f"/incidents/{incident.id}/letters/{_letter(app).id}")

    assert b"The case data this letter prints changed" in page.data
    assert b"Out of date" in client.get(f"/incidents/{incident.id}/letters/").data


def test_tampered_pdf_download_is_refused_with_a_message_and_audited(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    auth.login(officer.email)
    _generate(client, incident, ob)
    letter = _letter(app)
    with app.app_context():
        version = get_session().get(LetterVersion, letter.current_version_id)
        path = app_store.current_store().path_for(version.sha256)
        path.write_bytes(path.read_bytes()[:200])

    response = client.get(
        f"/incidents/{incident.id}/letters/{letter.id}/versions/{version.id}.pdf",
        follow_redirects=True,
    )

    assert response.mimetype == "text/html"
    assert b"Download refused" in response.data
    with app.app_context():
        actions = get_session().scalars(sa.select(AuditEvent.action)).all()
    assert "letter.download_refused" in actions


def test_pdf_download_is_a_pdf_attachment_and_audited(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    auth.login(legal.email)
    auth.logout()
    auth.login(officer.email)
    _generate(client, incident, ob)
    letter = _letter(app)
    auth.logout()
    auth.login(legal.email)

    response = client.get(
        f"/incidents/{incident.id}/letters/{letter.id}/versions/{letter.current_version_id}.pdf"
    )

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]
    with app.app_context():
        assert "letter.downloaded" in get_session().scalars(sa.select(AuditEvent.action)).all()


def test_a_legal_user_outside_the_team_gets_404(app, client, auth):
    officer, _, incident, ob = _setup(app)
    with app.app_context():
        outsider = make_user(get_session(), role=Role.LEGAL)
    auth.login(officer.email)
    _generate(client, incident, ob)
    auth.logout()
    auth.login(outsider.email)

    assert client.get(f"/incidents/{incident.id}/letters/").status_code == 404
    assert client.get(f"/incidents/{incident.id}/letters/{_letter(app).id}").status_code == 404


def test_generate_without_csrf_is_refused(app, client, auth):
    officer, _, incident, ob = _setup(app)
    auth.login(officer.email)

    response = client.post(
        f"/incidents/{incident.id}/letters/generate",
        data={"obligation_id": ob.id, "template_name": "individual_adult.html"},
    )

    assert response.status_code in (302, 400)
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Letter)) == 0


def test_admin_can_let_privacy_officers_approve(app, client, auth):
    with app.app_context():
        admin = make_user(get_session(), role=Role.ADMIN)
    auth.login(admin.email)
    token = csrf_token(client, "/admin/settings")

    client.post(
        "/admin/settings",
        data={
            "csrf_token": token,
            "legal_name": "Riverbend",
            "timezone": "America/Chicago",
            "privacy_officer_may_approve": "y",
        },
        follow_redirects=True,
    )

    with app.app_context():
        assert get_session().get(Organisation, 1).privacy_officer_may_approve is True


def test_a_million_character_wording_field_gets_a_clear_message(app, client, auth):
    officer, legal, incident, ob = _setup(app)
    auth.login(officer.email)
    path = f"/incidents/{incident.id}/letters/wording"

    page = _post(
        client,
        path,
        what_happened="New wording.",
        steps_for_individuals="x" * 1_000_000,
        what_we_are_doing="Fixing.",
        covered_entity_type="Healthcare Provider",
    )

    assert page.status_code == 200 and b"Too long for a letter" in page.data
    assert b"Notice wording saved" not in page.data
