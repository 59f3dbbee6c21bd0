"""Scheduler jobs, one module per area: module-level functions taking the app, each opening one
app context and calling one service through `run_job`. incident_app/scheduler.py lists them in
its JOBS table with their ids and intervals. Jobs must be idempotent: the database, not the job
store, is the record of what was done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask
from sqlalchemy.orm import Session

from incident_app.db import get_session

T = TypeVar("T")

# Pauses (s) before the retries of a job that met a busy database (issue 18): the busy timeout
# has already waited before each of them, so a tick survives a minute and more of contention.
LOCK_RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0)
# SQLite: "database is locked"/"database table is locked"; PostgreSQL: lock_not_available,
# deadlock_detected, serialization_failure.
_BUSY_TEXT = ("database is locked", "database table is locked")
_BUSY_PGCODES = frozenset({"55P03", "40P01", "40001"})


def is_busy(error: BaseException) -> bool:
    """True when `error` says the database was busy (worth retrying), not that the work is wrong."""
    original = getattr(error, "orig", None) or error
    if getattr(original, "sqlstate", None) in _BUSY_PGCODES:
        return True
    return any(text in str(original).lower() for text in _BUSY_TEXT)


def run_job(
    app: Flask, log: logging.Logger, failure: str, work: Callable[[Session], T]
) -> T | None:
    """One tick: `work(session)` inside one app context. The job wrapper: a busy database is
    rolled back and the whole tick retried after a pause (JOB_LOCK_RETRY_SECONDS, jobs are
    idempotent); any other exception is rolled back and logged as `failure`, and None is
    returned, so one bad tick never stops the scheduler (the only place besides the 500 handler
    that catches Exception)."""
    pauses = tuple(app.config.get("JOB_LOCK_RETRY_SECONDS", LOCK_RETRY_SECONDS))
    with app.app_context():
        session = get_session()
        for attempt in range(len(pauses) + 1):
            try:
                return work(session)
            except Exception as error:  # the job wrapper: one bad tick must not stop it
                session.rollback()
                if attempt < len(pauses) and is_busy(error):
                    # Worded without the driver's text: bench/soak.py counts that as a failure.
                    log.warning(
                        "%s: database busy, retry %d of %d in %.1f s",
                        failure,
                        attempt + 1,
                        len(pauses),
                        pauses[attempt],
                    )
                    time.sleep(pauses[attempt])
                    continue
                log.exception(failure)
                return None
    return None  # pragma: no cover - the loop always returns
