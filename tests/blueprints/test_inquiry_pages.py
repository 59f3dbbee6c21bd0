"""The Inquiries tab and returned mail by letter code through HTTP: record by letter code and
by name + date of birth, the list without PHI (names only after a privacy officer's reveal),
the detail page, closing, the export, the chart's table, returns re-mailed or unreachable, and
the bad inputs (unknown code, no match, bad dates, follow-up in the past, a letter twice)."""

from __future__ import annotations

import io

import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import ReturnedLetter
from incident_app.models.user import Role
from tests.conftest import csrf_token
from tests.support.factories import make_user
from tests.support.inquiry_helpers import count_of
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import team


def _case(app):
    with app.app_context():
        session = get_session()
        people = team(session)
        case = mailed_case(session, people, adult("Ana", "García"), adult("Bo", "Li"))
        officer_email = people.officer.email  # the worker expired the team's rows
    return officer_email, case


def _form(**fields):
    values = {
        "found_by": "letter_code",
        "channel": "phone",
        "category": "question",
        "summary": "Asked what was taken.",
        "assignee_id": "",
    }
    return {**values, **fields}


def _post(client, case, path="", **fields):
    base = f"/incidents/{case.incident.id}/inquiries/"
    data = {"csrf_token": csrf_token(client, base), **_form(**fields)}
    return client.post(base + path, data=data)


def _count(app, model):
    with app.app_context():
        return count_of(get_session(), model)


def _actions(app):
    with app.app_context():
        return list(get_session().scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_a_responder_records_by_code_and_by_name_and_the_list_shows_initials(app, client, auth):
    _, case = _case(app)
    auth.login(case.responder.email)

    by_code = _post(client, case, letter_code=case.letters["Ana"].letter_code)
    assert by_code.status_code == 302
    detail = client.get(by_code.headers["Location"]).get_data(as_text=True)
    assert "Ana García" in detail and "Asked what was taken." in detail
    by_name = _post(
        client,
        case,
        found_by="name_dob",
        first_name="bo",
        last_name="LI",
        date_of_birth="1980-04-02",
        category="complaint",
    )
    assert by_name.status_code == 302

    page = client.get(f"/incidents/{case.incident.id}/inquiries/").get_data(as_text=True)
    assert "A.G." in page and "B.L." in page
    assert case.letters["Ana"].letter_code in page and case.letters["Bo"].letter_code in page
    assert "García" not in page and "Asked what" not in page
    assert "Reveal names" not in page
    assert client.get(f"/incidents/{case.incident.id}/inquiries/?reveal=1").status_code == 403
    assert 'data-testid="inquiry-chart-table"' in page
    assert {"inquiry.recorded", "inquiry.viewed", "inquiry.listed"} <= set(_actions(app))


def test_a_privacy_officer_reveals_names_audited(app, client, auth):
    officer_email, case = _case(app)
    auth.login(case.responder.email)
    _post(client, case, letter_code=case.letters["Ana"].letter_code)
    auth.logout()
    auth.login(officer_email)

    page = client.get(f"/incidents/{case.incident.id}/inquiries/?reveal=1").get_data(as_text=True)
    assert "Ana García" in page
    assert _actions(app)[-1] == "inquiry.names_revealed"


def test_bad_inputs_answer_422_with_the_message_and_write_nothing(app, client, auth):
    _, case = _case(app)
    auth.login(case.responder.email)
    code = case.letters["Ana"].letter_code
    cases = [
        ({"letter_code": "BD-0000-0000-M1-000009"}, "No letter of this incident has the code"),
        (
            {
                "found_by": "name_dob",
                "first_name": "Ana",
                "last_name": "Garcia",
                "date_of_birth": "1980-04-02",
            },
            "Nobody on this incident",
        ),
        ({"letter_code": code, "follow_up_on": "2001-01-01"}, "is in the past"),
        ({"letter_code": code, "follow_up_on": "31/02/2027"}, "Not a valid date value"),
        ({"letter_code": code, "follow_up_on": "1066-10-14"}, "year 1900"),
        (
            {
                "found_by": "name_dob",
                "first_name": "Ana",
                "last_name": "García",
                "date_of_birth": "2999-01-01",
            },
            "year 1900",
        ),
        ({"letter_code": code, "summary": ""}, "This field is required"),
        ({"letter_code": code, "assignee_id": "9223372036854775808"}, "Not a valid choice"),
    ]
    for fields, message in cases:
        response = _post(client, case, **fields)
        assert response.status_code == 422, fields
        assert message in response.get_data(as_text=True), fields
    assert _count(app, Inquiry) == 0
    assert "inquiry.recorded" not in _actions(app)


def test_close_and_export(app, client, auth):
    _, case = _case(app)
    auth.login(case.responder.email)
    detail_url = _post(client, case, letter_code=case.letters["Ana"].letter_code).headers[
        "Location"
    ]
    token = csrf_token(client, detail_url)
    closed = client.post(
        f"{detail_url}/close",
        data={"csrf_token": token, "outcome": "Explained; no further action."},
    )
    assert closed.status_code == 302
    page = client.get(detail_url).get_data(as_text=True)
    assert "Explained; no further action." in page and "Close inquiry" not in page

    base = f"/incidents/{case.incident.id}/inquiries/"
    export = client.post(f"{base}export", data={"csrf_token": csrf_token(client, base)})
    assert export.status_code == 200
    assert export.headers["Content-Type"].startswith("text/csv")
    text = export.get_data().decode("utf-8-sig")
    assert "Ana García" in text and "Explained" in text
    assert "inquiry.exported" in _actions(app)


def test_an_admin_and_a_non_member_cannot_see_inquiries(app, client, auth):
    _, case = _case(app)
    with app.app_context():
        admin = make_user(get_session(), role=Role.ADMIN)
        outsider = make_user(get_session(), role=Role.RESPONDER)
    auth.login(admin.email)
    assert client.get(f"/incidents/{case.incident.id}/inquiries/").status_code == 403
    auth.logout()
    auth.login(outsider.email)
    assert client.get(f"/incidents/{case.incident.id}/inquiries/").status_code == 404
    assert client.get(f"/incidents/{case.incident.id}/returned-mail/").status_code == 404


def _return(client, case, **fields):
    base = f"/incidents/{case.incident.id}/returned-mail/"
    data = {"csrf_token": csrf_token(client, base), "letter_code": "", **fields}
    return client.post(base, data=data)


def test_a_return_with_a_new_address_and_one_recorded_twice(app, client, auth):
    _, case = _case(app)
    auth.login(case.responder.email)
    code = case.letters["Ana"].letter_code
    address = {"line1": "77 Birch Rd", "city": "Buffalo", "state": "NY", "zip_code": "14201"}

    first = _return(client, case, letter_code=code, **address)
    assert first.status_code == 302
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "re-mail" in page.lower() and "Re-mail pending" in page and code in page

    again = _return(client, case, letter_code=code)
    assert again.status_code == 422
    assert f"Letter {code} was already recorded as returned" in again.get_data(as_text=True)
    unknown = _return(client, case, letter_code="NOPE-42")
    assert unknown.status_code == 422
    assert "No letter of this incident has the code" in unknown.get_data(as_text=True)
    assert _count(app, ReturnedLetter) == 1


def test_a_codes_file_marks_people_unreachable(app, client, auth):
    _, case = _case(app)
    auth.login(case.responder.email)
    base = f"/incidents/{case.incident.id}/returned-mail/"
    body = f"letter_code\r\n{case.letters['Bo'].letter_code}\r\n".encode()
    response = client.post(
        f"{base}codes",
        data={"csrf_token": csrf_token(client, base), "file": (io.BytesIO(body), "r.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "1 returned letter(s) recorded" in page and "Unreachable" in page
