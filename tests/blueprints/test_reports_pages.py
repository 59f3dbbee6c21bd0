"""/reports pages: the HHS annual log (filing, addendum, CSV, PDF) and the metrics page."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from incident_app.db import get_session
from incident_app.models.hhs_filing import HhsFiling
from incident_app.models.user import Role
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from tests.conftest import csrf_token
from tests.support.factories import NOW
from tests.support.factories import make_user


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(app):
    with app.app_context():
        session = get_session()
        return {role: make_user(session, role=role) for role in Role}


@pytest.fixture
def small(app, people):
    with app.app_context():
        return incident_intake.open_incident(
            get_session(),
            actor=people[Role.PRIVACY_OFFICER],
            now=NOW,
            facts=incident_facts.IncidentFacts(
                title="Misdirected fax",
                affected_estimate=40,
                discovered_on=date(2025, 9, 15),
                breach_types=("unauthorized_access",),
                locations=("paper_films",),
            ),
        )


def _filings(app) -> int:
    with app.app_context():
        return get_session().scalar(sa.select(sa.func.count()).select_from(HhsFiling))


def test_log_page_shows_the_breach_due_and_overdue(client, auth, people, small):
    auth.login(people[Role.PRIVACY_OFFICER].email)
    page = client.get("/reports/hhs-log/2025").get_data(as_text=True)
    assert small.reference in page
    assert "Due 2026-03-01" in page
    assert "Overdue" in page  # NOW is March 2, 2026
    assert "Record the filing" in page


def test_default_year_is_last_year(client, auth, people):
    auth.login(people[Role.AUDITOR].email)
    response = client.get("/reports/hhs-log")
    assert response.headers["Location"].endswith("/reports/hhs-log/2025")


def test_recording_a_filing_then_an_addendum(app, client, auth, people, small):
    auth.login(people[Role.PRIVACY_OFFICER].email)
    path = f"/reports/hhs-log/incidents/{small.id}/filing"
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "filed_on": "2026-02-10",
            "transaction_number": "BRS-2026-0193",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Initial report recorded" in page and "BRS-2026-0193" in page
    assert "Record an addendum" in page

    path = f"/reports/hhs-log/incidents/{small.id}/addendum"
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "filed_on": "2026-02-20",
            "affected_count": "44",
            "changes": "Four more patients found.",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Addendum recorded" in page and "Filed, with addendum" in page
    assert "Four more patients found." in page
    assert _filings(app) == 2


def test_bad_transaction_number_is_shown_on_the_field(app, client, auth, people, small):
    auth.login(people[Role.PRIVACY_OFFICER].email)
    path = f"/reports/hhs-log/incidents/{small.id}/filing"
    page = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "filed_on": "2026-02-10",
            "transaction_number": "=1+2",
        },
    ).get_data(as_text=True)
    assert "Enter the transaction number the OCR portal gave" in page
    assert _filings(app) == 0


def test_filing_without_csrf_token_is_refused(app, client, auth, people, small):
    auth.login(people[Role.PRIVACY_OFFICER].email)
    response = client.post(
        f"/reports/hhs-log/incidents/{small.id}/filing",
        data={"filed_on": "2026-02-10", "transaction_number": "BRS-1"},
    )
    assert response.status_code == 400
    assert _filings(app) == 0


def test_auditor_reads_but_cannot_file(app, client, auth, people, small):
    auth.login(people[Role.AUDITOR].email)
    page = client.get("/reports/hhs-log/2025").get_data(as_text=True)
    assert small.reference in page and "Record the filing" not in page
    path = f"/reports/hhs-log/incidents/{small.id}/filing"
    assert client.get(path).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/reports/hhs-log/2025",
        "/reports/metrics",
        "/reports/hhs-log/2025.csv",
        "/reports/metrics.csv",
    ],
)
def test_responders_and_legal_cannot_open_reports(client, auth, people, path):
    auth.login(people[Role.RESPONDER].email)
    assert client.get(path).status_code == 403


def test_csv_and_pdf_downloads(client, auth, people, small):
    auth.login(people[Role.PRIVACY_OFFICER].email)
    csv_response = client.get("/reports/hhs-log/2025.csv")
    assert csv_response.mimetype == "text/csv"
    assert small.reference in csv_response.get_data(as_text=True)
    pdf_response = client.get("/reports/hhs-log/2025.pdf")
    assert pdf_response.mimetype == "application/pdf"
    assert pdf_response.data.startswith(b"%PDF")


def test_metrics_page_draws_charts_the_csp_allows(client, auth, people, small):
    auth.login(people[Role.AUDITOR].email)
    page = client.get("/reports/metrics").get_data(as_text=True)
    assert "<svg" in page and "Unauthorized Access/Disclosure" in page
    assert "2025 Q3" in page
    assert re.search(r"<[^>]+\sstyle=", page) is None
    assert "<script>" not in page
    assert "no data yet" in page
    assert "Costs dated in the range: USD 0.00" in page


def test_metrics_backwards_range_is_explained(client, auth, people):
    auth.login(people[Role.PRIVACY_OFFICER].email)
    page = client.get("/reports/metrics?date_from=2026-02-01&date_to=2026-01-01").get_data(
        as_text=True
    )
    assert "The end of the range is before its start." in page


def test_metrics_csv_download(client, auth, people, small):
    auth.login(people[Role.PRIVACY_OFFICER].email)
    response = client.get("/reports/metrics.csv?date_from=2025-01-01")
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel (issue 18)
    text = response.data.decode("utf-8-sig")
    assert text.startswith("section,item,value")
    assert "individuals affected,2025 Q3,40" in text
