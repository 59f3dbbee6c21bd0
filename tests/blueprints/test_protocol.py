"""Issue 18's protocol defects, checked the way other people's tools see the responses: CSV
downloads in UTF-8 with a byte-order mark and one charset; 405 answers naming what is allowed."""

from __future__ import annotations

import csv
import io

import pytest

from incident_app.db import get_session
from incident_app.models.user import Role
from tests.support.factories import make_user

BOM = b"\xef\xbb\xbf"


def _officer(app, auth) -> None:
    with app.app_context():
        officer = make_user(get_session(), role=Role.PRIVACY_OFFICER)
    auth.login(officer.email)


@pytest.mark.parametrize("path", ["/audit/export.csv", "/reports/hhs-log/2026.csv"])
def test_csv_downloads_carry_a_bom_and_one_charset(app, client, auth, path) -> None:
    _officer(app, auth)

    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(BOM) and not response.data[3:].startswith(BOM)
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Length"] == str(len(response.data))
    header = next(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert header and not header[0].startswith("\ufeff")


def test_an_api_405_names_the_allowed_methods(client) -> None:
    response = client.delete("/api/v1/incidents")

    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed and "DELETE" not in allowed
    assert response.is_json and response.get_json()["error"]


def test_a_page_405_names_the_allowed_methods(client) -> None:
    response = client.put("/login")

    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed and "PUT" not in allowed
