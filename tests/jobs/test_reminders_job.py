"""The reminder job in real processes: two sweeps racing, kill -9 mid-sweep, a second scheduler.

These tests commit for real, so they use their own database: a file on SQLite, a throwaway
schema on PostgreSQL (when TEST_DATABASE_URL is set), dropped afterwards.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from incident_app import passwords
from incident_app import scheduler
from incident_app.db import Base
from incident_app.db import get_session
from incident_app.db import make_engine
from incident_app.jobs.reminders import send_due_reminders_job
from incident_app.mailer import RecordingMailer
from incident_app.models.audit import GENESIS_HASH
from incident_app.models.audit import AuditChainHead
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import Notification
from incident_app.models.organisation import Organisation
from incident_app.models.reminder import ReminderSent
from incident_app.services import audit
from tests.conftest import BACKENDS
from tests.conftest import make_config
from tests.support.audit_helpers import audit_info
from tests.support.reminder_factories import Inbox
from tests.support.reminder_factories import free_port
from tests.support.reminder_factories import make_obligation
from tests.support.reminder_factories import make_team
from tests.support.reminder_factories import start_smtp

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)
SCHEMA = "reminder_processes"

# A sweep in its own interpreter: the real job function, the real SMTP mailer, frozen time.
WORKER = r"""
import os, sys, time
from datetime import datetime
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session
from config import TestConfig
from incident_app import create_app
from incident_app.jobs.reminders import send_due_reminders_job
from incident_app.mailer import SmtpMailer
from incident_app.models.notification import Notification

url, port, go_file, mode, now, instance = sys.argv[1:7]
Config = type("WorkerConfig", (TestConfig,), {
    "DATABASE_URL": url, "INSTANCE_DIR": instance, "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": int(port), "SMTP_STARTTLS": False, "MAIL_FROM": "bd@example.org"})
app = create_app(Config)


class StallAfterSmtp(SmtpMailer):
    def send(self, mail):
        super().send(mail)
        print("smtp-accepted", flush=True)
        time.sleep(600)


if mode == "stall-after-smtp":
    app.extensions["mailer"] = StallAfterSmtp.from_config(app.config)
if mode == "stall-before-commit":
    @sa.event.listens_for(Session, "after_flush")
    def _stall(session, _context):
        if any(isinstance(obj, Notification) for obj in session.new):
            print("flushed-not-committed", flush=True)
            time.sleep(600)

print("waiting-for-go", flush=True)
while not os.path.exists(go_file):
    time.sleep(0.005)
with time_machine.travel(datetime.fromisoformat(now), tick=False):
    report = send_due_reminders_job(app)
print("sent", len(report.sent) if report else "FAILED", flush=True)
"""


@dataclass
class SharedDatabase:
    url: str
    engine: sa.Engine
    tmp: Path

    def session(self) -> Session:
        info = audit_info(self.tmp / "instance")  # the workers' key (same INSTANCE_DIR)
        return sessionmaker(self.engine, expire_on_commit=False, info=info)()

    def count(self, model: type) -> int:
        with self.session() as s:
            return s.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture(params=BACKENDS)
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SharedDatabase]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    else:
        base = os.environ["TEST_DATABASE_URL"]
        with sa.create_engine(base).begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        url = f"{base}?options=-csearch_path%3D{SCHEMA}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(AuditChainHead).values(id=1, seq=0, last_hash=GENESIS_HASH))
        connection.execute(sa.insert(Organisation).values(id=1))
    yield SharedDatabase(url, engine, tmp_path)
    engine.dispose()
    if request.param == "postgresql":
        with sa.create_engine(os.environ["TEST_DATABASE_URL"]).begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = start_smtp(box, port)
    yield box, port
    controller.stop()


def start_worker(db: SharedDatabase, port: int, mode: str, now: datetime = NOW):
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            WORKER,
            db.url,
            str(port),
            str(db.tmp / "go"),
            mode,
            now.isoformat(),
            str(db.tmp / "instance"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def wait_for_line(process: subprocess.Popen, expected: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(expected):
            return
        if not line and process.poll() is not None:
            raise AssertionError(f"worker exited: {process.stderr.read()}")
    raise AssertionError(f"worker never printed {expected!r}")


def sweep_in_this_process(db: SharedDatabase, port: int, now: datetime) -> None:
    from incident_app import create_app

    app = create_app(
        make_config(
            db.engine,
            db.tmp,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=port,
            SMTP_STARTTLS=False,
            DATABASE_URL=db.url,
        )
    )
    with time_machine.travel(now, tick=False):
        assert send_due_reminders_job(app) is not None
    app.extensions["engine"].dispose()


def seed(db: SharedDatabase, incidents: int) -> list:
    passwords.configure(time_cost=1, memory_cost=8, parallelism=1)  # as TestConfig does
    teams = []
    with db.session() as s:
        for _ in range(incidents):
            team = make_team(s)
            make_obligation(s, team.incident, due_on=date(2026, 5, 1))
            teams.append(team)
    return teams


# ---------------------------------------------------------------- two sweeps at once


@pytest.mark.slow
def test_two_sweeps_in_two_processes_send_each_reminder_exactly_once(shared_db, inbox) -> None:
    box, port = inbox
    teams = seed(shared_db, incidents=25)
    workers = [start_worker(shared_db, port, "normal") for _ in range(2)]
    for w in workers:  # both interpreters imported and waiting, so the sweeps race
        wait_for_line(w, "waiting-for-go")
    (shared_db.tmp / "go").touch()
    outputs = [w.communicate(timeout=180) for w in workers]

    assert [w.returncode for w in workers] == [0, 0], outputs
    sent = [int(out.split()[-1]) for out, _ in outputs]
    assert sum(sent) == 25, outputs
    assert shared_db.count(ReminderSent) == 25
    assert shared_db.count(Notification) == 50  # lead and legal on each incident
    expected = Counter({t.lead.email: 1 for t in teams} | {t.legal.email: 1 for t in teams})
    assert Counter(r for rcpts, _ in box.messages for r in rcpts) == expected
    with shared_db.session() as s:
        assert audit.verify(s).ok  # the audit chain did not fork under the race


# ---------------------------------------------------------------- kill -9


@pytest.mark.slow
def test_kill_9_between_the_in_app_write_and_the_commit_loses_nothing(shared_db, inbox) -> None:
    box, port = inbox
    (team,) = seed(shared_db, incidents=1)
    (shared_db.tmp / "go").touch()
    worker = start_worker(shared_db, port, "stall-before-commit")
    wait_for_line(worker, "flushed-not-committed")

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert box.messages == []
    sweep_in_this_process(shared_db, port, NOW + timedelta(minutes=1))

    assert shared_db.count(ReminderSent) == 1
    assert shared_db.count(Notification) == 2
    assert sorted(r for rcpts, _ in box.messages for r in rcpts) == sorted(
        [team.lead.email, team.legal.email]
    )


@pytest.mark.slow
def test_kill_9_after_smtp_accepted_resends_email_but_not_in_app(shared_db, inbox) -> None:
    box, port = inbox
    (team,) = seed(shared_db, incidents=1)
    (shared_db.tmp / "go").touch()
    worker = start_worker(shared_db, port, "stall-after-smtp")
    wait_for_line(worker, "smtp-accepted")

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    sweep_in_this_process(shared_db, port, NOW + timedelta(minutes=1))  # still claimed
    sweep_in_this_process(shared_db, port, NOW + timedelta(minutes=6))  # claim expired

    assert shared_db.count(ReminderSent) == 1
    assert shared_db.count(Notification) == 2  # in-app: exactly once
    received = Counter(r for rcpts, _ in box.messages for r in rcpts)
    # Email is at-least-once: the message the server took before the kill went out again.
    assert set(received) == {team.lead.email, team.legal.email}
    assert sorted(received.values()) == [1, 2]
    with shared_db.session() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(EmailMessage)
                .where(EmailMessage.status == "sent")
            )
            == 2
        )


# ---------------------------------------------------------------- the scheduler wiring


def test_the_scheduler_runs_the_sweep_every_configured_minutes(app) -> None:
    app.config["REMINDER_SWEEP_MINUTES"] = 1
    app.extensions["mailer"] = RecordingMailer()

    job = scheduler.build_scheduler(app, started_at=NOW).get_job("send-due-reminders")

    assert job is not None
    assert job.trigger.interval == timedelta(minutes=1)
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    assert job.args == (app,)


def test_a_failing_sweep_is_logged_and_the_job_returns(app, caplog) -> None:
    app.extensions["mailer"] = RecordingMailer()
    with app.app_context():
        get_session().add(Organisation(id=1, timezone="Mars/Olympus_Mons"))
        get_session().commit()

    with caplog.at_level(logging.ERROR, logger="breachdesk.reminders"):
        assert send_due_reminders_job(app) is None

    assert "reminder sweep failed" in caplog.text


@pytest.mark.slow
def test_a_second_scheduler_process_refuses_to_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sched.sqlite'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "x" * 40,
        "SMTP_HOST": "",
    }
    command = [sys.executable, "-m", "incident_app.scheduler"]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_stderr(first, "scheduler started")
        second = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        first.terminate()
        first.wait(timeout=30)

    assert second.returncode != 0
    assert f"Another scheduler is already running (pid {first.pid}" in second.stderr


def wait_for_stderr(process: subprocess.Popen, expected: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if expected in line:
            return
        if not line and process.poll() is not None:
            raise AssertionError(f"scheduler exited with {process.returncode}")
    raise AssertionError(f"scheduler never logged {expected!r}")
