"""Roster uploads under ROSTER_MAX_MB, not the app-wide MAX_UPLOAD_MB (issue 24 §2)."""

from __future__ import annotations

import io
import tracemalloc

import sqlalchemy as sa
from werkzeug.test import EnvironBuilder

from incident_app.db import get_session
from incident_app.models.roster import RosterImport
from tests.blueprints.test_roster_pages import _setup
from tests.blueprints.test_roster_pages import _upload
from tests.conftest import csrf_token
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import person

MB = 1024 * 1024


def _roster(size: int) -> bytes:
    line = (person("X1", line1="y" * 100) + "\n").encode()
    return HEADER.encode() + b"\n" + line * (size // len(line))


def _imports(app) -> int:
    with app.app_context():
        return get_session().scalar(sa.select(sa.func.count()).select_from(RosterImport))


def test_a_roster_over_the_app_wide_limit_but_under_its_own_is_accepted(app, client, auth):
    lead, incident, _ = _setup(app)
    app.config.update(MAX_CONTENT_LENGTH=1 * MB, ROSTER_MAX_MB=3)
    auth.login(lead.email)

    response = _upload(client, incident.id, _roster(2 * MB))

    assert response.status_code == 302, response.status_code
    assert _imports(app) == 1


def test_a_roster_over_its_own_limit_gets_the_roster_page_message(app, client, auth):
    lead, incident, _ = _setup(app)
    app.config.update(MAX_CONTENT_LENGTH=1 * MB, ROSTER_MAX_MB=3)
    auth.login(lead.email)

    response = _upload(client, incident.id, _roster(4 * MB))

    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "a roster file may be at most 3 MB" in page and "Nothing was imported" in page
    assert _imports(app) == 0


def test_a_chunked_roster_past_the_limit_gets_the_same_message(app, client, auth):
    lead, incident, _ = _setup(app)
    app.config.update(ROSTER_MAX_MB=1)
    auth.login(lead.email)
    base = f"/incidents/{incident.id}/roster/"
    builder = EnvironBuilder(
        path=f"{base}imports",
        method="POST",
        data={
            "csrf_token": csrf_token(client, base),
            "mode": "replace",
            "file": (io.BytesIO(_roster(2 * MB)), "roster.csv"),
        },
    )
    environ = builder.get_environ()
    del environ["CONTENT_LENGTH"]  # as a chunked request arrives
    environ["wsgi.input_terminated"] = True

    response = client.open(environ)

    assert response.status_code == 413
    assert "a roster file may be at most 1 MB" in response.get_data(as_text=True)
    assert _imports(app) == 0


def test_the_upload_still_needs_its_csrf_token(app, client, auth):
    lead, incident, _ = _setup(app)
    auth.login(lead.email)

    response = client.post(
        f"/incidents/{incident.id}/roster/imports",
        data={"mode": "replace", "file": (io.BytesIO(_roster(10_000)), "roster.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert "missing its security token" in response.get_data(as_text=True)
    assert _imports(app) == 0


def test_a_130_mb_roster_is_accepted_without_holding_it_in_memory(app, client, auth, tmp_path):
    """A million-person roster is ~130 MB; the default limits are MAX_UPLOAD_MB=25, ROSTER=150."""
    lead, incident, _ = _setup(app)
    auth.login(lead.email)
    base = f"/incidents/{incident.id}/roster/"
    body = tmp_path / "body"
    builder = EnvironBuilder(
        path=f"{base}imports",
        method="POST",
        data={
            "csrf_token": csrf_token(client, base),
            "mode": "replace",
            "file": (io.BytesIO(_roster(130 * MB)), "roster.csv"),
        },
    )
    environ = builder.get_environ()
    body.write_bytes(environ["wsgi.input"].read())
    del builder
    assert body.stat().st_size > 130 * MB

    with body.open("rb") as stream:
        environ["wsgi.input"] = stream
        tracemalloc.start()
        response = client.open(environ)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert _imports(app) == 1
    assert peak < 40 * MB, f"peak {peak / MB:.0f} MB: the upload was held in memory"


def _import_and_report(app, client, response) -> tuple[dict, str]:
    from incident_app.jobs.roster import roster_imports_job

    assert response.status_code == 302, response.status_code
    roster_imports_job(app)
    url = response.headers["Location"]
    return client.get(f"{url}/progress").get_json(), client.get(f"{url}/report.csv").get_data(
        as_text=True
    )


def test_a_roster_with_cr_only_line_endings_imports_every_row(app, client, auth):
    """Classic Mac OS / some exports end lines with CR alone: a 500 before issue 24."""
    lead, incident, _ = _setup(app)
    auth.login(lead.email)
    rows = [person("A1", "Ana"), person("B2", "Bo", dob="1975-01-02")]
    data = "\r".join([HEADER, *rows]).encode() + b"\r"

    progress, _ = _import_and_report(app, client, _upload(client, incident.id, data))

    assert (progress["status"], progress["rows_read"], progress["accepted"]) == ("committed", 2, 2)


def test_a_stray_cr_inside_a_field_rejects_that_row_with_a_reason(app, client, auth):
    lead, incident, _ = _setup(app)
    auth.login(lead.email)
    rows = [person("A1", line1="12 El\rm St"), person("B2", "Bo", dob="1975-01-02")]
    data = "\n".join([HEADER, *rows]).encode() + b"\n"

    progress, report = _import_and_report(app, client, _upload(client, incident.id, data))

    assert progress["status"] == "committed" and progress["accepted"] == 1
    assert progress["rejected"] == 2  # the CR ends the record: both halves are refused
    assert "column" in report.lower()
