"""Issue 18: transactions under real concurrency, on a database several connections share.

The usual fixtures run every test inside one rolled-back transaction on one connection, where
locks cannot be seen. These tests use a real database instead: a SQLite file (WAL), and with
TEST_DATABASE_URL set, a PostgreSQL database of their own (the `live_app` fixture, conftest.py).
"""

from __future__ import annotations

import io
import logging
import time

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from incident_app import clock
from incident_app import db
from incident_app.db import get_session
from incident_app.jobs import is_busy
from incident_app.jobs import run_job
from incident_app.jobs.roster import roster_imports_job
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.scheduler import heartbeat_job
from incident_app.services import audit
from incident_app.services import system
from incident_app.services.organisation import get_organisation
from incident_app.spool import SealedSpool
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.live_db import Writer
from tests.support.live_db import backend
from tests.support.live_db import write_lock_is_free
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import person

HOLD_SECONDS = 1.5


def _case(app: Flask) -> tuple[User, int]:
    with app.app_context():
        session = get_session()
        lead = make_user(session, role=Role.RESPONDER)
        incident = make_incident(session, created_by=lead, members={lead: CaseRole.LEAD})
        get_organisation(session)  # as migration 0017 does: the settings row exists
        session.commit()
        return lead, incident.id


# --- reads never wait for a writer -------------------------------------------------------------


def test_a_read_during_a_long_write_answers_in_well_under_a_second(live_app: Flask) -> None:
    lead, incident_id = _case(live_app)
    client = live_app.test_client()
    AuthActions(client).login(lead.email)
    pages = ["/", f"/incidents/{incident_id}", f"/incidents/{incident_id}/roster/", "/readyz"]
    for page in pages:  # warm: templates compiled, nothing left to write on first view
        client.get(page)

    with Writer(live_app, HOLD_SECONDS):
        for page in pages:
            started = time.perf_counter()
            response = client.get(page)
            elapsed = time.perf_counter() - started
            assert response.status_code in (200, 503), (page, response.status_code)
            assert elapsed < 0.5, f"{page} waited {elapsed:.2f} s for the writer"


def test_a_get_that_audits_waits_for_the_writer_instead_of_failing(live_app: Flask) -> None:
    """A deferred read that then appends to the audit chain: the append takes the write lock
    first (FOR UPDATE on the chain head), after another writer moved the chain on — no
    SQLITE_BUSY_SNAPSHOT, no fork."""
    factory = live_app.extensions["sessionmaker"]
    reader = factory(execution_options={db.BEGIN_OPTION: db.DEFERRED})
    other = factory()
    try:
        assert reader.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
        audit.record(other, actor=None, actor_label="t", action="x.first", at=NOW)
        other.commit()  # the chain moved on after the reader's snapshot began
        audit.record(reader, actor=None, actor_label="t", action="x.second", at=NOW)
        reader.commit()
        report = audit.verify(other)
        assert report.ok, report
        actions = other.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions == ["x.first", "x.second"]
    finally:
        reader.close()
        other.close()


def test_reads_take_no_lock_and_the_first_write_takes_it(live_app: Flask) -> None:
    if backend(live_app) != "sqlite":
        pytest.skip("SQLite's write lock; PostgreSQL has row locks")
    with live_app.test_request_context("/", method="POST"):
        session = get_session()  # every session begins deferred, whatever the method
        assert session.execution_options[db.BEGIN_OPTION] == db.DEFERRED
    factory = live_app.extensions["sessionmaker"]
    session = factory(execution_options={db.BEGIN_OPTION: db.DEFERRED})
    try:
        session.scalar(sa.select(sa.func.count()).select_from(User))
        assert write_lock_is_free(live_app)  # reading took no lock
        db.writing(session)
        assert not write_lock_is_free(live_app)  # the explicit write scope did
        session.rollback()
        assert write_lock_is_free(live_app)
        session.execute(sa.update(User).values(name=User.name))  # escalates by itself
        assert not write_lock_is_free(live_app)
        session.rollback()
        session.scalar(sa.select(User).with_for_update())  # FOR UPDATE: the lock, first
        assert not write_lock_is_free(live_app)
        session.rollback()
    finally:
        session.close()


# --- no transaction open while a download streams ------------------------------------------------


def test_a_streamed_export_leaves_no_transaction_open(live_app: Flask) -> None:
    lead, incident_id = _case(live_app)
    client = live_app.test_client()
    AuthActions(client).login(lead.email)
    base = f"/incidents/{incident_id}/roster"
    rows = [person(f"MRN{n}", first=f"Ana{n}", last="García") for n in range(300)]
    token = csrf_token(client, f"{base}/")
    client.post(
        f"{base}/imports",
        data={
            "csrf_token": token,
            "mode": "replace",
            "file": (io.BytesIO(csv_bytes(*rows)), "r.csv"),
        },
        content_type="multipart/form-data",
    )
    roster_imports_job(live_app)

    response = client.post(
        f"{base}/export",
        data={"csrf_token": csrf_token(client, f"{base}/")},
        buffered=False,
    )
    assert response.status_code == 200
    body = iter(response.response)
    first = next(body)
    # The client has read one piece; the rest is still to come — and no transaction is open.
    assert write_lock_is_free(live_app, no_reader=True)
    data = first + b"".join(body)
    response.close()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.count("\n") == 301 and "García" in text
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert write_lock_is_free(live_app)


def test_the_sealed_spool_gives_back_what_was_written_without_clear_text_on_disk() -> None:
    spool = SealedSpool(memory_bytes=10)
    parts = [b"0123456789", b"Ana Garc\xc3\xada " * 50_000, b"tail"]
    for part in parts:
        spool.write(part)
    assert spool._file is not None  # spilled past memory_bytes
    spool._file.flush()
    spool._file.seek(0)
    assert b"Ana Garc" not in spool._file.read()  # sealed on disk
    assert b"".join(spool.drain()) == b"".join(parts)
    assert spool._file is None  # closed once drained


# --- the scheduler survives a busy database ------------------------------------------------------


def test_a_scheduler_job_that_meets_a_lock_runs_to_completion(
    live_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    started = NOW
    caplog.set_level(logging.WARNING)
    # Held for longer than the busy timeout (0.3 s): the heartbeat's write fails at first.
    with Writer(live_app, HOLD_SECONDS):
        heartbeat_job(live_app, started)
    with live_app.app_context():
        status = system.scheduler_status(get_session(), now=clock.utcnow())
    assert status["running"], status
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == []
    if backend(live_app) == "sqlite":
        assert any("database busy, retry" in r.getMessage() for r in caplog.records)


def test_run_job_retries_only_a_busy_database(live_app: Flask) -> None:
    calls: list[int] = []

    def flaky(session: Session) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        return "done"

    log = logging.getLogger("test.jobs")
    assert run_job(live_app, log, "flaky failed", flaky) == "done" and len(calls) == 3

    def broken(session: Session) -> str:
        calls.append(1)
        raise ValueError("a real bug")

    calls.clear()
    assert run_job(live_app, log, "broken failed", broken) is None and len(calls) == 1
    assert is_busy(sa.exc.OperationalError("x", {}, Exception("database is locked")))
    assert not is_busy(ValueError("database is fine"))
