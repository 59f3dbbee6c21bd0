"""The Enrollment codes tab through HTTP: import the vendor's file with the offer (CSRF), the
errors shown on the form with nothing written, the state offer lengths beside the offer, the
low-pool warning on the Mailing tab, the vendor export (audited), and the code on the
person's record (audited)."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.jobs.mail_merge import mail_merge_job
from incident_app.models.audit import AuditEvent
from incident_app.models.enrolment import CodePool
from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.mail_batch import MailBatch
from incident_app.models.user import Role
from tests.conftest import csrf_token
from tests.support.enrolment_helpers import codes_csv
from tests.support.enrolment_helpers import fresh_codes
from tests.support.enrolment_helpers import import_codes
from tests.support.factories import make_user
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import team

FORM = {
    "vendor": "Experian",
    "product": "IdentityWorks credit monitoring",
    "months": "12",
    "url": "https://www.experianidworks.com/3bcredit",
    "phone": "1-877-288-8057",
    "enrol_by": "2030-12-31",
}


def _setup(app, *rows, codes=0):
    """A case with a roster (and `codes` imported, letters approved, mailed); the privacy
    officer's email and the incident id."""
    with app.app_context():
        session = get_session()
        people = team(session)
        incident = case_with_roster(session, people, *(rows or (adult("Ana"), adult("Bo"))))
        if codes:
            import_codes(session, people.officer, incident, fresh_codes(codes))
            approve(session, people, incident)
        return people.officer.email, incident.id


def _upload(client, base, data: bytes, **changes):
    form = {**FORM, **changes, "csrf_token": csrf_token(client, base)}
    form["file"] = (io.BytesIO(data), "codes.csv")
    return client.post(f"{base}imports", data=form, content_type="multipart/form-data")


def _count(app, model=EnrolmentCode):
    with app.app_context():
        return get_session().scalar(sa.select(sa.func.count()).select_from(model))


def test_import_codes_shows_the_pool_and_the_state_offer_lengths(app, client, auth):
    officer, incident_id = _setup(app, adult("Ana", state="PA", zip_code="19103"), adult("Bo"))
    auth.login(officer)
    base = f"/incidents/{incident_id}/codes/"
    page = client.get(base).get_data(as_text=True)
    assert ">Enrollment codes</a>" in page and "No identity-protection offer yet" in page
    assert 'data-state="PA"' in page and "No offer yet" in page  # PA: 12 months required

    response = _upload(client, base, codes_csv(fresh_codes(4)), months="6")

    assert response.status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "4 codes imported into the pool." in page
    assert 'data-testid="pool-free">4<' in page and "6 months" in page
    assert "Shorter: 6 months" in page  # PA requires 12 (73 P.S. 2301 et seq., Act 33)
    assert "73 P.S. 2301 et seq." in page and "[S]" in page


def test_a_bad_file_shows_its_error_on_the_form_and_writes_nothing(app, client, auth):
    officer, incident_id = _setup(app)
    auth.login(officer)
    base = f"/incidents/{incident_id}/codes/"
    a, b = fresh_codes(2)

    repeated = _upload(client, base, codes_csv([a, b, a]))
    assert repeated.status_code == 422
    assert "The file repeats codes: row 4 repeats row 2." in repeated.get_data(as_text=True)
    bad_date = _upload(client, base, codes_csv([a]), enrol_by="2020-01-01")
    assert bad_date.status_code == 422
    assert "The enroll-by date must be in the future" in bad_date.get_data(as_text=True)
    latin = _upload(client, base, "code\nCAFÉ1234\n".encode("latin-1"))
    assert "not UTF-8 text" in latin.get_data(as_text=True)
    assert _count(app) == 0


def test_an_upload_over_the_limit_is_refused(app, client, auth):
    officer, incident_id = _setup(app)
    app.config["CODES_MAX_MB"] = 0
    auth.login(officer)
    base = f"/incidents/{incident_id}/codes/"

    response = _upload(client, base, codes_csv(fresh_codes(3)))

    assert response.status_code == 422
    assert "The file is larger than 0 MB" in response.get_data(as_text=True)
    assert _count(app) == 0


def _responder(app, incident_id) -> str:
    """A responder on the incident's team; their email."""
    with app.app_context():
        session = get_session()
        responder = make_user(session, role=Role.RESPONDER)
        session.add(
            IncidentMember(
                incident_id=incident_id, user_id=responder.id, case_role=CaseRole.RESPONDER
            )
        )
        session.commit()
        return responder.email


def test_a_responder_sees_the_pool_but_cannot_import_or_export(app, client, auth):
    officer, incident_id = _setup(app)
    auth.login(_responder(app, incident_id))
    base = f"/incidents/{incident_id}/codes/"

    page = client.get(base).get_data(as_text=True)
    assert "Code pool" in page and "Import codes from the vendor" not in page
    assert _upload(client, base, codes_csv(fresh_codes(1))).status_code == 403
    token = csrf_token(client, base)
    assert client.post(f"{base}export.csv", data={"csrf_token": token}).status_code == 403
    assert client.post(f"{base}export.csv", data={}).status_code in (400, 403)


def test_mailing_the_codes_export_and_the_person_record(app, client, auth):
    officer, incident_id = _setup(app, adult("Ana"), adult("Bo"), adult("Cy"), codes=3)
    auth.login(officer)
    mailing = client.get(f"/incidents/{incident_id}/mailing/").get_data(as_text=True)
    assert 'data-testid="code-supply"' in mailing and "running low" in mailing  # 3 for 3
    start_page = f"/incidents/{incident_id}/mailing/"
    started = client.post(f"{start_page}start", data={"csrf_token": csrf_token(client, start_page)})
    assert started.status_code == 302
    mail_merge_job(app)

    base = f"/incidents/{incident_id}/codes/"
    response = client.post(f"{base}export.csv", data={"csrf_token": csrf_token(client, base)})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["code", "assigned_on", "letter_code"] and len(rows) == 4
    with app.app_context():
        session = get_session()
        incident = session.get(Incident, incident_id)
        assert all(r[2].startswith(incident.reference + "-M") for r in rows[1:])
        events = list(
            session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action.like("enrolment.%"))
                .order_by(AuditEvent.seq)
            )
        )
        ana_id = roster_people(session, incident)["Ana"].id
    assert [e.action for e in events] == ["enrolment.codes_imported", "enrolment.codes_exported"]
    assert events[1].details == {"codes": 3}

    person = client.get(f"/incidents/{incident_id}/roster/people/{ana_id}").get_data(as_text=True)
    ana_code = next(r[0] for r in rows[1:] if r[2] in person)
    assert f"<code>{ana_code}</code>" in person
    with app.app_context():
        viewed = (
            get_session()
            .scalars(sa.select(AuditEvent).where(AuditEvent.action == "enrolment.code_viewed"))
            .one()
        )
    assert viewed.subject_id == str(ana_id)


def test_a_mailing_short_of_codes_is_refused_on_the_page(app, client, auth):
    officer, incident_id = _setup(app, adult("Ana"), adult("Bo"), adult("Cy"), codes=2)
    auth.login(officer)
    base = f"/incidents/{incident_id}/mailing/"

    confirm = client.get(f"{base}confirm", follow_redirects=True).get_data(as_text=True)
    assert "This mailing needs 3 enrollment codes and the pool has 2 free: import 1 more" in (
        confirm
    )
    response = client.post(f"{base}start", data={"csrf_token": csrf_token(client, base)})
    assert response.status_code == 409
    assert "import 1 more" in response.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0


def test_the_deadlines_tab_shows_the_state_offer_length_beside_the_obligations(app, client, auth):
    officer, incident_id = _setup(app, adult("Penny", state="PA", zip_code="19103"))
    auth.login(officer)
    deadlines = f"/incidents/{incident_id}/deadlines"

    page = client.get(deadlines).get_data(as_text=True)
    assert "PA: 12 months of credit monitoring or identity protection" in page
    assert "no offer recorded" in page

    _upload(client, f"/incidents/{incident_id}/codes/", codes_csv(fresh_codes(1)), months="24")
    assert "offered: 24 months" in client.get(deadlines).get_data(as_text=True)


def _edit_offer(client, base, **changes):
    form = {f"offer-{name}": value for name, value in {**FORM, **changes}.items()}
    return client.post(f"{base}offer", data={**form, "csrf_token": csrf_token(client, base)})


def test_the_offer_is_edited_alone_voiding_the_approval_audited(app, client, auth):
    officer, incident_id = _setup(app, codes=2)
    auth.login(officer)
    base = f"/incidents/{incident_id}/codes/"
    page = client.get(base).get_data(as_text=True)
    assert "Edit the offer" in page and 'id="offer-months"' in page

    bad = _edit_offer(client, base, months="0")
    assert bad.status_code == 422 and "1 to 120 months." in bad.get_data(as_text=True)
    http = _edit_offer(client, base, url="http://plain.example")
    assert http.status_code == 422
    assert "must be an https:// web address" in http.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(sa.select(CodePool.offer_months)) == 24
    assert "enrolment.offer_changed" not in _actions(app)

    mailing = f"/incidents/{incident_id}/mailing/"
    assert "the approval is void" not in client.get(mailing).get_data(as_text=True)
    saved = _edit_offer(client, base, months="18")
    assert saved.status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "18 months" in page and "legal must approve them again" in page
    assert _actions(app).count("enrolment.offer_changed") == 1
    assert "the approval is void" in client.get(mailing).get_data(as_text=True)


def test_a_responder_cannot_edit_the_offer(app, client, auth):
    _, incident_id = _setup(app, codes=2)
    auth.login(_responder(app, incident_id))
    base = f"/incidents/{incident_id}/codes/"
    assert "Edit the offer" not in client.get(base).get_data(as_text=True)
    assert _edit_offer(client, base, months="6").status_code == 403
    with app.app_context():
        assert get_session().scalar(sa.select(CodePool.offer_months)) == 24


def _actions(app):
    with app.app_context():
        return list(get_session().scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))
