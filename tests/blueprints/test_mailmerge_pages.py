"""The Mailing tab through HTTP: start from the approved letter, nothing rendered in the
request, live progress JSON, pause/resume/cancel, failed letters with retry, audited downloads."""

from __future__ import annotations

import csv
import io
import os
import re
import tracemalloc

import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app.db import get_session
from incident_app.jobs.mail_merge import mail_merge_job
from incident_app.models.audit import AuditEvent
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.user import Role
from tests.conftest import csrf_token
from tests.support.factories import make_user
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import team
from tests.support.roster_helpers import person


def _setup(app, *rows, approved=True):
    with app.app_context():
        session = get_session()
        people = team(session)
        incident = case_with_roster(session, people, *(rows or (adult("Ana"), adult("Bo"))))
        if approved:
            approve(session, people, incident)
        return people.officer.email, incident.id


def _post(client, page, action):
    return client.post(action, data={"csrf_token": csrf_token(client, page)})


def _downloads(app, incident_id):
    with app.app_context():
        return list(
            get_session().scalars(
                sa.select(AuditEvent.details)
                .where(
                    AuditEvent.incident_id == incident_id,
                    AuditEvent.action == "mail_batch.downloaded",
                )
                .order_by(AuditEvent.seq)
            )
        )


def test_start_queues_the_worker_renders_and_downloads_are_audited(app, client, auth):
    officer, incident_id = _setup(
        app, adult("Ana", "García"), adult("Bo"), person("T1", "T" * 130, "", dob="1970-01-01")
    )
    auth.login(officer)
    base = f"/incidents/{incident_id}/mailing/"
    tab = client.get(base).get_data(as_text=True)
    assert "Start the mailing" in tab and ">Mailing</a>" in tab

    response = _post(client, base, f"{base}start")
    assert response.status_code == 302
    batch_url = response.headers["Location"]
    with app.app_context():  # nothing is rendered inside the web request
        assert get_session().scalar(sa.select(sa.func.count()).select_from(MailLetter)) == 0
        batch_id = get_session().scalars(sa.select(MailBatch.id)).one()
    page = client.get(batch_url).get_data(as_text=True)
    assert "Queued" in page and 'data-progress-url="' in page
    assert "printed from the template files legal approved, kept when it started" in page
    assert re.search(r'<script src="/static/js/mailmerge.js[^"]*" defer></script>', page)
    assert not re.search(r"<script>(?!</script>)", page)  # CSP: no inline script

    mail_merge_job(app)

    progress = client.get(f"{base}{batch_id}/progress.json").get_json()
    assert (progress["status"], progress["done"], progress["failed"], progress["total"]) == (
        "completed",
        2,
        1,
        3,
    )
    page = client.get(batch_url).get_data(as_text=True)
    assert "The name has 130 characters" in page and "Retry all failed letters" in page

    proof = client.get(f"{base}{batch_id}/proof.pdf")
    assert proof.status_code == 200 and proof.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(proof.data)).pages) >= 2
    printed = client.get(f"{base}{batch_id}/chunks/1/print.pdf")
    assert "attachment" in printed.headers["Content-Disposition"]
    assert "Ana García" in "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(printed.data)).pages
    )
    manifest_response = client.get(f"{base}{batch_id}/manifest.csv")
    # Excel on Windows reads UTF-8 only with a BOM; one charset in Content-Type (issue 18).
    assert manifest_response.data.startswith(b"\xef\xbb\xbf")
    assert manifest_response.headers["Content-Type"] == "text/csv; charset=utf-8"
    manifest = list(csv.DictReader(io.StringIO(manifest_response.data.decode("utf-8-sig"))))
    assert list(manifest[0])[0] == "letter_id"  # the BOM is not part of the first name
    assert [m["recipient_name"] for m in manifest] == ["Ana García", "Bo Rivera"]
    assert client.get(f"{base}{batch_id}/chunks/1/manifest.csv").status_code == 200
    assert [d["file"] for d in _downloads(app, incident_id)] == [
        "proof",
        "print",
        "manifest",
        "manifest",
    ]

    retry = _post(client, batch_url, f"{base}{batch_id}/retry")
    assert retry.status_code == 302
    assert "Failed letters queued again" in client.get(batch_url).get_data(as_text=True)


def test_an_unapproved_letter_is_explained_and_starting_is_refused(app, client, auth):
    officer, incident_id = _setup(app, approved=False)
    auth.login(officer)
    base = f"/incidents/{incident_id}/mailing/"
    tab = client.get(base).get_data(as_text=True)
    assert "Start the mailing" not in tab and "not generated yet" in tab
    response = client.post(f"{base}start", data={"csrf_token": _token(client)})
    assert response.status_code == 409
    assert "A mailing starts only from letters legal approved" in response.get_data(as_text=True)


def _token(client):
    return csrf_token(client, "/")


def test_pause_resume_and_cancel_buttons(app, client, auth):
    officer, incident_id = _setup(app)
    auth.login(officer)
    base = f"/incidents/{incident_id}/mailing/"
    batch_url = _post(client, base, f"{base}start").headers["Location"]
    batch_id = batch_url.rstrip("/").rsplit("/", 1)[1]

    assert _post(client, batch_url, f"{base}{batch_id}/pause").status_code == 302
    assert "Paused" in client.get(batch_url).get_data(as_text=True)
    mail_merge_job(app)  # a paused mailing is left alone
    assert client.get(f"{base}{batch_id}/progress.json").get_json()["done"] == 0
    _post(client, batch_url, f"{base}{batch_id}/resume")
    _post(client, batch_url, f"{base}{batch_id}/cancel")
    page = client.get(batch_url).get_data(as_text=True)
    assert "Cancelled" in page and "Mailing cancelled; finished print files are kept." in page
    again = _post(client, batch_url, f"{base}{batch_id}/pause")
    assert "Only a mailing that is queued, running can be paused" in client.get(
        again.headers["Location"]
    ).get_data(as_text=True)


def test_readers_and_strangers(app, client, auth):
    officer, incident_id = _setup(app)
    base = f"/incidents/{incident_id}/mailing/"
    with app.app_context():
        session = get_session()
        auditor = make_user(session, role=Role.AUDITOR)
        stranger = make_user(session, role=Role.RESPONDER)
    auth.login(auditor.email)
    assert "Start the mailing" not in client.get(base).get_data(as_text=True)
    assert client.post(f"{base}start", data={"csrf_token": _token(client)}).status_code == 403
    auth.logout()
    auth.login(stranger.email)
    assert client.get(base).status_code == 404


def test_a_large_print_file_is_streamed_not_read_whole_into_memory(app, client, auth):
    officer, incident_id = _setup(app)
    auth.login(officer)
    base = f"/incidents/{incident_id}/mailing/"
    _post(client, base, f"{base}start")
    mail_merge_job(app)
    big = os.urandom(16 * 1024 * 1024)  # a print file of ~500 letters
    with app.app_context():
        session = get_session()
        chunk = session.scalars(sa.select(MailChunk)).one()
        chunk.print_sha256 = app_store.current_store().put_bytes(big).sha256
        session.commit()
        batch_id = chunk.batch_id

    tracemalloc.start()
    try:
        response = client.get(f"{base}{batch_id}/chunks/1/print.pdf", buffered=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and response.is_streamed
    assert peak < len(big)  # verified into a spool (a few MB in memory, the rest sealed on disk)
    assert int(response.headers["Content-Length"]) == len(big)
    pieces = list(response.response)
    response.close()
    assert len(pieces) > 1 and max(map(len, pieces)) <= 1024 * 1024
    assert b"".join(pieces) == big
    assert [d["file"] for d in _downloads(app, incident_id)] == ["print"]
