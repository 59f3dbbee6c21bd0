"""The Roster tab through HTTP: upload, worker, progress, counts table, people, exports, access."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.jobs.roster import roster_imports_job
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from tests.conftest import csrf_token
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import person


def _setup(app, **extra_members):
    with app.app_context():
        session = get_session()
        lead = make_user(session, role=Role.RESPONDER)
        members = {lead: CaseRole.LEAD}
        others = {}
        for name, (role, case_role) in extra_members.items():
            others[name] = make_user(session, role=role)
            if case_role is not None:
                members[others[name]] = case_role
        incident = make_incident(session, created_by=lead, members=members)
    return lead, incident, others


def _upload(client, incident_id: int, data: bytes, mode: str = "replace", name="roster.csv"):
    base = f"/incidents/{incident_id}/roster/"
    token = csrf_token(client, base)
    return client.post(
        f"{base}imports",
        data={"csrf_token": token, "mode": mode, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _audit_actions(app, incident_id: int) -> list[str]:
    with app.app_context():
        return list(
            get_session().scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.incident_id == incident_id)
                .order_by(AuditEvent.seq)
            )
        )


def test_upload_queues_the_worker_imports_and_the_tab_shows_counts(app, client, auth) -> None:
    lead, incident, _ = _setup(app)
    auth.login(lead.email)
    rows = [person(f"NY{n}", f"Ana{n}", state="NY", zip_code="12207") for n in range(501)]
    rows += [person(f"VT{n}", f"Bo{n}", state="VT", zip_code="05401") for n in range(500)]
    rows.append(person("ZZ1", state="Atlantis"))

    response = _upload(client, incident.id, csv_bytes(*rows))
    assert response.status_code == 302
    import_url = response.headers["Location"]
    page = client.get(import_url).get_data(as_text=True)
    assert "Queued" in page and 'data-progress-url="' in page
    with app.app_context():  # nothing was imported inside the web request
        assert get_session().scalar(sa.select(sa.func.count()).select_from(RosterPerson)) == 0

    roster_imports_job(app)

    progress = client.get(f"{import_url}/progress").get_json()
    assert progress["status"] == "committed" and progress["done"] is True
    assert (progress["rows_read"], progress["accepted"], progress["rejected"]) == (1002, 1001, 1)
    tab = client.get(f"/incidents/{incident.id}/roster/").get_data(as_text=True)
    assert re.search(r'data-testid="total">1,001<', tab)
    ny = re.search(
        r'<tr class="over-threshold" data-over-threshold="true">\s*<th scope="row">NY'
        r"</th>\s*<td>501</td>",
        tab,
    )
    assert ny is not None
    assert re.search(r'<tr>\s*<th scope="row">VT</th>\s*<td>500</td>', tab)  # 500 is not over
    assert tab.count("media notice</span>") == 1

    report = client.get(f"{import_url}/report.csv")
    assert report.status_code == 200
    lines = list(csv.reader(io.StringIO(report.get_data(as_text=True))))
    assert lines[1][:3] == ["1003", "state", "rejected"]
    assert "roster.report_downloaded" in _audit_actions(app, incident.id)


def test_a_file_over_the_configured_limit_is_refused_before_reading(app, client, auth) -> None:
    lead, incident, _ = _setup(app)
    app.config["ROSTER_MAX_MB"] = 1
    auth.login(lead.email)
    big = csv_bytes(*[person(f"M{n}", line1="x" * 200) for n in range(5000)])
    assert len(big) > 1.1 * 1024 * 1024

    response = _upload(client, incident.id, big)

    assert response.status_code == 413
    assert "a roster file may be at most 1 MB" in response.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(RosterImport)) == 0


def test_a_bad_file_gets_its_message_on_the_form(app, client, auth) -> None:
    lead, incident, _ = _setup(app)
    auth.login(lead.email)

    response = _upload(client, incident.id, csv_bytes())

    assert response.status_code == 422
    assert "header row but no people" in response.get_data(as_text=True)


def test_unrecognised_headers_go_through_the_mapping_page(app, client, auth) -> None:
    lead, incident, _ = _setup(app)
    auth.login(lead.email)
    data = csv_bytes(
        "A1,Ana,Ruiz,1970-01-05,1 Main St,Austin,TX,73301",
        header="Acct,Given,Family,Birth,Street,Town,ST,Postal",
    )
    import_url = _upload(client, incident.id, data).headers["Location"]
    page = client.get(import_url).get_data(as_text=True)
    assert "Match the file&#39;s columns" in page or "Match the file's columns" in page

    form = {
        "external_id": "Acct",
        "first_name": "Given",
        "last_name": "Family",
        "date_of_birth": "",
        "address_line1": "Street",
        "city": "Town",
        "state": "ST",
        "zip": "Postal",
        "csrf_token": csrf_token(client, import_url),
    }
    refused = client.post(f"{import_url}/mapping", data=form)
    assert refused.status_code == 422
    assert "Date of birth is required" in refused.get_data(as_text=True)

    form["date_of_birth"] = "Birth"
    assert client.post(f"{import_url}/mapping", data=form).status_code == 302
    roster_imports_job(app)
    assert client.get(f"{import_url}/progress").get_json()["status"] == "committed"


def test_people_search_view_and_notice_status_are_audited(app, client, auth) -> None:
    lead, incident, _ = _setup(app)
    auth.login(lead.email)
    _upload(
        client,
        incident.id,
        csv_bytes(person("MRN-1", "Zoë", "O'Brien"), person("MRN-2", "Luis", "Peña")),
    )
    roster_imports_job(app)
    base = f"/incidents/{incident.id}/roster"

    listing = client.get(f"{base}/people").get_data(as_text=True)
    assert "O&#39;Brien" not in listing and "O'Brien" not in listing  # no PHI in the list
    found = client.get(f"{base}/people?external_id=mrn-1").get_data(as_text=True)
    assert 'data-testid="people-total">1 match<' in found
    person_id = int(re.search(r"/people/(\d+)", found).group(1))

    page = client.get(f"{base}/people/{person_id}").get_data(as_text=True)
    assert "Zoë O&#39;Brien" in page and "MRN-1" in page
    token = csrf_token(client, f"{base}/people/{person_id}")
    missing = client.post(
        f"{base}/people/{person_id}/notice",
        data={"status": "mailed", "method": "", "csrf_token": token},
    )
    assert missing.status_code == 422 and "Say when and how" in missing.get_data(as_text=True)
    saved = client.post(
        f"{base}/people/{person_id}/notice",
        follow_redirects=True,
        data={
            "status": "unreachable",
            "method": "",
            "notice_on": "2026-03-01",
            "csrf_token": token,
        },
    )
    assert 'data-testid="notice-status">Unreachable on 2026-03-01' in saved.get_data(as_text=True)
    tab = client.get(f"{base}/").get_data(as_text=True)
    assert re.search(r'data-testid="insufficient">1<', tab)

    actions = _audit_actions(app, incident.id)
    assert {"roster.searched", "roster.person_viewed", "roster.notice_status_set"} <= set(actions)


def test_returned_mail_csv_marks_people_and_feeds_the_count(app, client, auth) -> None:
    lead, incident, _ = _setup(app)
    auth.login(lead.email)
    _upload(client, incident.id, csv_bytes(person("MRN1"), person("MRN2", "Bo")))
    roster_imports_job(app)
    base = f"/incidents/{incident.id}/roster"
    token = csrf_token(client, f"{base}/")

    response = client.post(
        f"{base}/returns",
        follow_redirects=True,
        data={
            "csrf_token": token,
            "file": (io.BytesIO(b"external_id;returned_on\nMRN2;2026-02-20\nNOPE;\n"), "r.csv"),
        },
        content_type="multipart/form-data",
    )

    text = response.get_data(as_text=True)
    assert "Returned mail recorded for 1 people" in text and "(rows 3)" in text
    assert re.search(r'data-testid="insufficient">1<', text)


def test_export_is_decrypted_neutralised_and_audited(app, client, auth) -> None:
    lead, incident, _ = _setup(app)
    auth.login(lead.email)
    evil = '=HYPERLINK("http://evil.example","x")'
    _upload(client, incident.id, csv_bytes(person("MRN1", first=evil, last="+1-555")))
    roster_imports_job(app)
    base = f"/incidents/{incident.id}/roster"

    response = client.post(f"{base}/export", data={"csrf_token": csrf_token(client, f"{base}/")})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # once (issue 18)
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    assert response.headers["Content-Length"] == str(len(response.data))
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "row_id"
    assert rows[1][1:4] == ["MRN1", "'" + evil, "'+1-555"]
    assert "roster.exported" in _audit_actions(app, incident.id)


def test_who_sees_the_roster(app, client, auth) -> None:
    lead, incident, others = _setup(
        app,
        legal=(Role.LEGAL, CaseRole.LEGAL),
        outsider=(Role.RESPONDER, None),
        admin=(Role.ADMIN, None),
        auditor=(Role.AUDITOR, None),
    )
    base = f"/incidents/{incident.id}/roster/"

    auth.login(others["outsider"].email)
    assert client.get(base).status_code == 404
    auth.logout()
    auth.login(others["admin"].email)
    assert client.get(base).status_code == 403
    auth.logout()
    auth.login(others["auditor"].email)
    page = client.get(base)
    assert page.status_code == 200 and "Import a roster" not in page.get_data(as_text=True)
    auth.logout()
    auth.login(others["legal"].email)
    assert client.get(base).status_code == 200
    token = csrf_token(client, base)
    refused = client.post(
        f"{base}imports",
        data={
            "csrf_token": token,
            "mode": "replace",
            "file": (io.BytesIO(csv_bytes(person("M1"), header=HEADER)), "r.csv"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403
