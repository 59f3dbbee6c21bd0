"""Worker job: run queued roster imports (never in a web request), recover interrupted ones,
and delete the invisible rows of superseded or failed imports."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.orm import Session

from incident_app import app_store
from incident_app import clock
from incident_app.jobs import run_job
from incident_app.services.roster import worker as roster_worker

log = logging.getLogger("breachdesk.jobs.roster")


def roster_imports_job(app: Flask) -> None:
    """One tick: recover, then run every queued import one after the other, then purge."""
    run_job(app, log, "roster import job failed", lambda session: _run_imports(app, session))


def _run_imports(app: Flask, session: Session) -> None:
    roster_worker.recover_interrupted(session, now=clock.utcnow())
    keyring = app_store.current_keyring()
    store = app_store.current_store(keyring)
    workers = app.config["ROSTER_IMPORT_WORKERS"]
    while (
        record := roster_worker.run_next(
            session, keyring=keyring, store=store, clock=clock.utcnow, workers=workers
        )
    ) is not None:
        log.info("roster import %s: %s %s", record.id, record.status.value, record.message)
    roster_worker.purge_invisible(session)


def poll_minutes(app: Flask) -> float:
    return float(app.config["ROSTER_POLL_SECONDS"]) / 60
