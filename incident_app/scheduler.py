"""The scheduler/worker process: exactly one APScheduler BlockingScheduler per deployment.

Run it as `flask --app wsgi scheduler` (or `python -m incident_app.scheduler`). A second copy
refuses to start: a `flock` on instance/scheduler.lock with SQLite, a session-level
`pg_try_advisory_lock` with PostgreSQL (which also works across hosts). Every tick checks the
lock is still held (a terminated backend drops it): re-taken if free, else the process stops.
Jobs are module-level functions taking the app as an argument; each opens one app context and
calls one service.
JOBS is the table of contents of what the process runs besides its heartbeat.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
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


def build_scheduler(
    app: Flask, *, started_at: datetime, lock: InstanceLock | None = None
) -> BlockingScheduler:
    """The scheduler with its jobs; with `lock`, every tick first checks that this process
    still holds the scheduler lock (and the scheduler stops when it lost it to another)."""
    scheduler = BlockingScheduler(timezone="UTC")

    def add(job_id: str, func: Callable[..., object], args: tuple[Any, ...], **every: Any) -> None:
        if lock is not None:
            func, args = guarded, (lock, _stopper(scheduler), func, *args)
        scheduler.add_job(
            func,
            "interval",
            args=args,
            id=job_id,
            next_run_time=started_at,
            **every,
            **JOB_OPTIONS,
        )

    add(
        "heartbeat",
        heartbeat_job,
        (app, started_at),
        seconds=app.config["SCHEDULER_HEARTBEAT_SECONDS"],
    )
    for job in JOBS:
        add(job.id, job.func, (app,), minutes=job.minutes(app))
    return scheduler


def _stopper(scheduler: BlockingScheduler) -> Callable[[], None]:
    def stop() -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)

    return stop


class InstanceLock:
    """The deployment-wide scheduler lock, held for the process lifetime and checked on every
    tick (issue 24 §3): a PostgreSQL session lock dies with its backend (pg_terminate_backend,
    a failover, an idle-session timeout) and a lock file can be deleted, after which a second
    scheduler can start. `keep()` says whether this process still holds it, re-acquiring it
    when nobody else took it; a scheduler that lost it to another stops."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()  # APScheduler runs jobs on a thread pool
        self.lost = False

    def acquire(self) -> None:
        raise NotImplementedError

    def held(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def keep(self) -> bool:
        with self._mutex:
            if self.lost:
                return False
            if self.held():
                return True
            log.error("scheduler lock lost; trying to take it again")
            try:
                self.release()
                self.acquire()
            except SchedulerAlreadyRunning as error:
                log.error("scheduler lock taken by another process, stopping: %s", error)
                self.lost = True
                return False
            log.warning("scheduler lock taken again; carrying on")
            return True


class _FileLock(InstanceLock):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle: IO[str] = open(self.path, "a+")  # noqa: SIM115 - held open for the lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.seek(0)
            holder = handle.read().strip() or "an unknown process"
            handle.close()
            raise SchedulerAlreadyRunning(
                f"Another scheduler is already running ({holder}; lock file {self.path})."
            ) from error
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self._handle = handle

    def held(self) -> bool:
        # Deleted or replaced, the file we lock is no longer the one a new scheduler locks.
        if self._handle is None:
            return False
        try:
            return os.stat(self.path).st_ino == os.fstat(self._handle.fileno()).st_ino
        except OSError:
            return False

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class _AdvisoryLock(InstanceLock):
    def __init__(self, engine: sa.Engine) -> None:
        super().__init__()
        self.engine = engine
        self._connection: sa.Connection | None = None

    def acquire(self) -> None:
        connection = self.engine.connect()
        try:
            got = connection.scalar(
                sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
            )
            connection.commit()
            if not got:
                raise SchedulerAlreadyRunning(
                    f"Another scheduler is already running ({_advisory_holder(connection)})."
                )
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    def held(self) -> bool:
        if self._connection is None:
            return False
        try:
            mine = self._connection.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :k "
                    "AND pid = pg_backend_pid() AND granted"
                ),
                {"k": ADVISORY_LOCK_KEY},
            )
            self._connection.commit()
        except sa.exc.DBAPIError:  # the backend was terminated: the lock went with it
            connection, self._connection = self._connection, None
            connection.invalidate()  # never back to the pool
            connection.close()
            return False
        return bool(mine)

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # A pooled connection outlives close(): release the session lock explicitly.
            connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            connection.commit()
        except sa.exc.DBAPIError:
            connection.invalidate()  # dead backend: nothing to release, never back to the pool
        finally:
            connection.close()


@contextmanager
def single_instance(app: Flask) -> Iterator[InstanceLock]:
    """Hold the deployment-wide scheduler lock for the duration; raise if someone else has it."""
    engine = app.extensions["engine"]
    lock: InstanceLock = (
        _AdvisoryLock(engine)
        if engine.dialect.name == "postgresql"
        else _FileLock(Path(app.config["INSTANCE_DIR"]) / "scheduler.lock")
    )
    lock.acquire()
    try:
        yield lock
    finally:
        if not lock.lost:
            lock.release()


def guarded(
    lock: InstanceLock, stop: Callable[[], object], func: Callable[..., object], *args: Any
) -> None:
    """Run one job tick only while this process holds the scheduler lock; otherwise stop."""
    if lock.keep():
        func(*args)
    else:
        stop()


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
        with single_instance(app) as lock:
            started_at = clock.utcnow()
            scheduler = build_scheduler(app, started_at=started_at, lock=lock)
            log.info(
                "scheduler started (pid %s); jobs: %s",
                os.getpid(),
                ", ".join(job.id for job in scheduler.get_jobs()),
            )
            try:
                scheduler.start()
            except (KeyboardInterrupt, SystemExit):
                log.info("scheduler stopped")
            if lock.lost:
                raise SystemExit(
                    "Stopped: another scheduler took the scheduler lock after this one lost "
                    "it (database connection ended or lock file removed)."
                )
    except SchedulerAlreadyRunning as error:
        raise SystemExit(f"Refusing to start: {error}") from error


def main() -> None:
    run(create_app())


if __name__ == "__main__":
    main()
