"""Issue 18: transactions under real concurrency, on a database several connections share.

The usual fixtures run every test inside one rolled-back transaction on one connection, where
locks cannot be seen. These tests use a real database instead: a SQLite file (WAL), and with
TEST_DATABASE_URL set, a PostgreSQL database of their own, created and dropped here.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from incident_app import clock
from incident_app import create_app
from incident_app import db
from incident_app.db import get_session
from incident_app.db import make_engine
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
from tests.conftest import BACKENDS
from tests.conftest import AuthActions
from tests.conftest import _fresh_schema
from tests.conftest import csrf_token
from tests.conftest import make_config
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import person

HOLD_SECONDS = 1.5


@pytest.fixture(params=BACKENDS)
def live_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on a database of its own that every connection really shares."""
    admin: sa.Engine | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.db'}"
    else:
        base = sa.engine.make_url(os.environ["TEST_DATABASE_URL"])
        name = f"bd_tx_{os.getpid()}_{secrets.token_hex(3)}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    _fresh_schema(engine)
    config = make_config(
        engine,
        tmp_path,
        SQLITE_BUSY_TIMEOUT_MS=300,
        JOB_LOCK_RETRY_SECONDS=(0.2, 0.4, 0.8, 1.0, 1.0),
    )
    engine.dispose()
    app = create_app(config)
    yield app
    app.extensions["engine"].dispose()
    if admin is not None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _backend(app: Flask) -> str:
    return str(app.extensions["engine"].dialect.name)


class Writer(threading.Thread):
    """Another process's long write: holds the write lock (SQLite) / a row lock (PostgreSQL)
    on the users table for `seconds`, then commits."""

    def __init__(self, app: Flask, seconds: float) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(app.config["DATABASE_URL"], busy_timeout_ms=5000)
        self.seconds = seconds
        self.holding = threading.Event()

    def run(self) -> None:
        with self.engine.connect() as connection:  # a raw begin() is BEGIN IMMEDIATE
            with connection.begin():
                connection.execute(sa.update(User).values(name=User.name))
                self.holding.set()
                time.sleep(self.seconds)
        self.engine.dispose()

    def __enter__(self) -> Writer:
        self.start()
        assert self.holding.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.join(30)


def write_lock_is_free(app: Flask, *, no_reader: bool = False) -> bool:
    """SQLite: another connection can take the write lock at once (and with `no_reader`, no
    connection holds a read snapshot either: a write followed by a TRUNCATE checkpoint,
    which no open transaction lets finish). PostgreSQL: no other connection of this
    database sits in an open transaction."""
    engine = make_engine(app.config["DATABASE_URL"], busy_timeout_ms=0)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                try:
                    with connection.begin():  # BEGIN IMMEDIATE
                        connection.execute(sa.update(User).values(name=User.name))
                except sa.exc.OperationalError:
                    return False
                if no_reader:
                    raw = connection.connection.dbapi_connection  # outside any transaction
                    assert raw is not None
                    busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    return bool(busy[0] == 0)
                return True
            stuck = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
            ).scalar_one()
            return stuck == 0
    finally:
        engine.dispose()


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
    if _backend(live_app) != "sqlite":
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
    if _backend(live_app) == "sqlite":
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
