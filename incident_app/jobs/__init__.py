"""Scheduler jobs, one module per area: module-level functions taking the app, each opening one
app context and calling one service through `run_job`. incident_app/scheduler.py lists them in
its JOBS table with their ids and intervals. Jobs must be idempotent: the database, not the job
store, is the record of what was done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Flask
from sqlalchemy.orm import Session

from incident_app.db import get_session

T = TypeVar("T")


def run_job(
    app: Flask, log: logging.Logger, failure: str, work: Callable[[Session], T]
) -> T | None:
    """One tick: `work(session)` inside one app context. The job wrapper: an exception is
    rolled back and logged as `failure`, and None is returned, so one bad tick never stops the
    scheduler (the only place besides the 500 handler that catches Exception)."""
    with app.app_context():
        session = get_session()
        try:
            return work(session)
        except Exception:  # the job wrapper: one bad tick must not stop the scheduler
            session.rollback()
            log.exception(failure)
            return None
