"""The scheduler/worker process: exactly one APScheduler BlockingScheduler per deployment.

Run it as `flask --app wsgi scheduler` (or `python -m incident_app.scheduler`). A second copy
refuses to start: a `flock` on instance/scheduler.lock with SQLite, a session-level
`pg_try_advisory_lock` with PostgreSQL (which also works across hosts). Jobs are module-level
functions taking the app as an argument; each opens one app context and calls one service.
JOBS is the table of contents of what the process runs besides its heartbeat.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from incident_app import clock
from incident_app import create_app
from incident_app.jobs import audit as audit_jobs
from incident_app.jobs import mail_merge as mail_merge_jobs
from incident_app.jobs import reminders as reminder_jobs
from incident_app.jobs import roster as roster_jobs
from incident_app.jobs import run_job
from incident_app.services import system

log = logging.getLogger("breachdesk.scheduler")

# Arbitrary but fixed: the advisory-lock key every BreachDesk scheduler competes for.
ADVISORY_LOCK_KEY = 0x42D5_C4ED


class SchedulerAlreadyRunning(RuntimeError):
    pass


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[Flask], object]  # module-level, taking the app (see incident_app/jobs)
    minutes: Callable[[Flask], float]  # the interval, read from the app's config


# Every job the scheduler runs besides its heartbeat, in the order they are added.
JOBS: tuple[Job, ...] = (
    Job("mail-merge", mail_merge_jobs.mail_merge_job, mail_merge_jobs.poll_minutes),
    Job("send-due-reminders", reminder_jobs.send_due_reminders_job, reminder_jobs.sweep_minutes),
    Job("roster-imports", roster_jobs.roster_imports_job, roster_jobs.poll_minutes),
    Job("audit-checkpoint", audit_jobs.audit_checkpoint_job, audit_jobs.checkpoint_minutes),
)


def heartbeat_job(app: Flask, started_at: datetime) -> None:
    """Record that the scheduler is alive (read by /readyz and the dashboard)."""
    run_job(
        app,
        log,
        "heartbeat failed",
        lambda session: system.record_heartbeat(
            session,
            now=clock.utcnow(),
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=started_at,
        ),
    )


# misfire_grace_time=None: a tick missed during an outage still runs (coalesced into one);
# the 3.x default of 1 s silently drops it (see TRAPS.md). The database, not the job store,
# is the record of what was done, so every job is idempotent.
JOB_OPTIONS = {
    "coalesce": True,
    "max_instances": 1,
    "misfire_grace_time": None,
    "replace_existing": True,
}


def build_scheduler(app: Flask, *, started_at: datetime) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        heartbeat_job,
        "interval",
        args=(app, started_at),
        id="heartbeat",
        seconds=app.config["SCHEDULER_HEARTBEAT_SECONDS"],
        next_run_time=started_at,
        **JOB_OPTIONS,
    )
    for job in JOBS:
        scheduler.add_job(
            job.func,
            "interval",
            args=(app,),
            minutes=job.minutes(app),
            id=job.id,
            next_run_time=started_at,
            **JOB_OPTIONS,
        )
    return scheduler


@contextmanager
def single_instance(app: Flask) -> Iterator[None]:
    """Hold the deployment-wide scheduler lock for the duration; raise if someone else has it."""
    engine = app.extensions["engine"]
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine):
            yield
    else:
        with _file_lock(app.config["INSTANCE_DIR"] / "scheduler.lock"):
            yield


@contextmanager
def _file_lock(path: Any) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = open(path, "a+")  # noqa: SIM115 - held open for the process lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        handle.seek(0)
        holder = handle.read().strip() or "an unknown process"
        handle.close()
        raise SchedulerAlreadyRunning(
            f"Another scheduler is already running ({holder}; lock file {path})."
        ) from error
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@contextmanager
def _advisory_lock(engine: sa.Engine) -> Iterator[None]:
    connection = engine.connect()
    try:
        got = connection.scalar(
            sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
        )
        connection.commit()
        if not got:
            raise SchedulerAlreadyRunning(
                f"Another scheduler is already running ({_advisory_holder(connection)})."
            )
        try:
            yield
        finally:
            # A pooled connection outlives close(): release the session lock explicitly.
            connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            connection.commit()
    finally:
        connection.close()


def _advisory_holder(connection: sa.Connection) -> str:
    row = connection.execute(
        sa.text(
            "SELECT a.pid, a.client_addr, a.application_name FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.objid = :k AND l.granted LIMIT 1"
        ),
        {"k": ADVISORY_LOCK_KEY},
    ).first()
    if row is None:
        return "holder unknown"
    return f"PostgreSQL backend pid {row.pid} from {row.client_addr or 'local socket'}"


def run(app: Flask) -> None:
    """Take the lock, then run the scheduler until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        with single_instance(app):
            started_at = clock.utcnow()
            scheduler = build_scheduler(app, started_at=started_at)
            log.info(
                "scheduler started (pid %s); jobs: %s",
                os.getpid(),
                ", ".join(job.id for job in scheduler.get_jobs()),
            )
            try:
                scheduler.start()
            except (KeyboardInterrupt, SystemExit):
                log.info("scheduler stopped")
    except SchedulerAlreadyRunning as error:
        raise SystemExit(f"Refusing to start: {error}") from error


def main() -> None:
    run(create_app())


if __name__ == "__main__":
    main()
