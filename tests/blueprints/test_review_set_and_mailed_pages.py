"""Through HTTP: the prepared set approved together (all or nothing), the Mailing tab with a
variant still in review, the confirmation before anything is queued, and "Record as mailed"."""

from __future__ import annotations

import re

import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.jobs.mail_merge import mail_merge_job
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import NoticeSent
from incident_app.models.mail_batch import MailBatch
from incident_app.services.letters.case_data import local_date
from incident_app.services.organisation import get_organisation
from tests.conftest import csrf_token
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import team


def _setup(app, *rows, approved=False):
    """A case with a roster of `rows`; `approved`: the adult letter approved by legal."""
    with app.app_context():
        session = get_session()
        people = team(session)
        incident = case_with_roster(session, people, *rows)
        if approved:
            approve(session, people, incident)
        return people.officer.email, people.legal.email, incident.id


def _kid():
    return adult("Kid", minor="Y", dob="2015-01-02")


def _letters(app):
    with app.app_context():
        return {
            letter.template_name: (letter.id, letter.status, letter.current_version.sha256)
            for letter in get_session().scalars(sa.select(Letter))
        }


def _prepare(client, auth, officer, incident_id):
    auth.login(officer)
    base = f"/incidents/{incident_id}/letters/"
    client.post(f"{base}prepare", data={"csrf_token": csrf_token(client, base)})
    auth.logout()


def test_the_reviewer_approves_the_prepared_set_together(app, client, auth):
    officer, legal, incident_id = _setup(app, adult("Ana"), _kid())
    _prepare(client, auth, officer, incident_id)
    letters = _letters(app)
    assert set(letters) == {"individual_adult.html", "individual_minor.html"}
    auth.login(legal)
    base = f"/incidents/{incident_id}/letters/"
    page = client.get(base).get_data(as_text=True)
    assert "Awaiting your approval (2)" in page
    for letter_id, _, sha in letters.values():
        assert f'name="confirm-{letter_id}" value="{sha[:12]}"' in page

    wrong = {f"confirm-{i}": sha[:12] for i, _, sha in letters.values()}
    adult_id = letters["individual_adult.html"][0]
    wrong[f"confirm-{adult_id}"] = "0" * 12
    refused = client.post(
        f"{base}approve-together",
        data={"csrf_token": csrf_token(client, base), **wrong},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Nothing was approved" in refused and "changed since you opened it" in refused
    assert {s for _, s, _ in _letters(app).values()} == {LetterStatus.IN_REVIEW}

    right = {f"confirm-{i}": sha[:12] for i, _, sha in letters.values()}
    done = client.post(
        f"{base}approve-together",
        data={"csrf_token": csrf_token(client, base), **right},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Approved together" in done and "Awaiting your approval" not in done
    assert {s for _, s, _ in _letters(app).values()} == {LetterStatus.APPROVED}


def test_the_officer_cannot_approve_the_set(app, client, auth):
    officer, _, incident_id = _setup(app, adult("Ana"))
    _prepare(client, auth, officer, incident_id)
    auth.login(officer)
    base = f"/incidents/{incident_id}/letters/"
    [(letter_id, _, sha)] = _letters(app).values()
    response = client.post(
        f"{base}approve-together",
        data={"csrf_token": csrf_token(client, base), f"confirm-{letter_id}": sha[:12]},
    )
    assert response.status_code == 403


def test_mail_the_approved_variant_confirm_then_record_it_as_mailed(app, client, auth):
    officer, _, incident_id = _setup(app, adult("Ana"), adult("Bo"), _kid(), approved=True)
    auth.login(officer)
    base = f"/incidents/{incident_id}/mailing/"
    tab = client.get(base).get_data(as_text=True)
    assert re.search(r'data-variant="spanish">.*?Not needed', tab, re.S)
    assert "Not approved</strong>" not in tab
    assert "Mail the approved letters now" in tab

    confirm = client.get(f"{base}confirm").get_data(as_text=True)
    assert re.search(r'data-testid="confirm-letters">2<', confirm)
    assert re.search(r'data-testid="confirm-files">1 ', confirm)
    assert "Parent or guardian of a minor: 1 person" in confirm
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0

    token = csrf_token(client, f"{base}confirm")
    started = client.post(f"{base}start", data={"csrf_token": token, "expected_people": "2"})
    assert started.status_code == 302
    batch_url = started.headers["Location"]
    mail_merge_job(app)
    page = client.get(batch_url).get_data(as_text=True)
    assert "Record as mailed on" in page and "Suggested next status" in page
    assert "individual_adult.html" not in page

    with app.app_context():  # the day the web request started it, in the organisation's zone
        session = get_session()
        created = session.scalars(sa.select(MailBatch.created_at)).one()
        mailed_on = local_date(created, get_organisation(session).timezone).isoformat()
    token = csrf_token(client, batch_url)
    future = client.post(
        f"{batch_url}/mailed",
        data={"csrf_token": token, "mailed_on": "2099-01-01"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Not recorded: The mailing date is in the future." in future
    done = client.post(
        f"{batch_url}/mailed",
        data={"csrf_token": token, "mailed_on": mailed_on},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "2 people recorded as mailed. 1 person is still waiting." in done
    assert f"Recorded as mailed on <strong>{mailed_on}</strong>" in done
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(NoticeSent)) == 0
