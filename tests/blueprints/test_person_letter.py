"""One person's printed letter from their roster record: the exact stored PDF, audited; a
clear message when no mailing has printed one yet."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.services.mail_merge import worker as mail_worker
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import team
from tests.support.mail_merge_helpers import worker


def _case(app, *, mailed: bool):
    with app.app_context():
        session = get_session()
        people = team(session)
        incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
        ana = roster_people(session, incident)["Ana"]
        code = sha = None
        if mailed:
            approve(session, people, incident)
            batch = start(session, people, incident)
            mail_worker.work(session, worker=worker())
            [row] = [r for r in batch_letters(session, batch) if r.person_id == ana.id]
            code, sha = row.letter_code, row.sha256
        return people.officer.email, people.legal.email, incident.id, ana.id, code, sha


def test_the_persons_letter_downloads_as_mailed_and_is_audited(app, client, auth):
    officer, _, incident_id, person_id, code, sha = _case(app, mailed=True)
    auth.login(officer)
    record = f"/incidents/{incident_id}/roster/people/{person_id}"

    page = client.get(record).get_data(as_text=True)
    assert f"Download letter {code}" in page
    response = client.get(f"{record}/letter.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert hashlib.sha256(response.data).hexdigest() == sha
    assert f'filename="{code}.pdf"' in response.headers["Content-Disposition"]
    with app.app_context():
        [event] = get_session().scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "mail_letter.downloaded")
        )
        assert event.subject_id == str(person_id) and event.details["letter_code"] == code


def test_no_letter_yet_is_a_message_not_an_error(app, client, auth):
    officer, _, incident_id, person_id, _, _ = _case(app, mailed=False)
    auth.login(officer)
    record = f"/incidents/{incident_id}/roster/people/{person_id}"

    response = client.get(f"{record}/letter.pdf", follow_redirects=True)

    assert response.status_code == 200
    assert b"No mailing has printed a letter for this person yet." in response.data


def test_someone_outside_the_team_gets_404_and_nothing_is_audited(app, client, auth):
    from incident_app.models.user import Role
    from tests.support.factories import make_user

    _, _, incident_id, person_id, _, _ = _case(app, mailed=True)
    with app.app_context():
        outsider = make_user(get_session(), role=Role.LEGAL).email
    auth.login(outsider)

    response = client.get(f"/incidents/{incident_id}/roster/people/{person_id}/letter.pdf")

    assert response.status_code == 404
    with app.app_context():
        downloads = sa.select(AuditEvent).where(AuditEvent.action == "mail_letter.downloaded")
        assert get_session().scalars(downloads).all() == []
