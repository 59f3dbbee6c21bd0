"""Worker job: render queued mail-merge batches chunk by chunk (never in a web request).

The scheduler runs `mail_merge_job` every MAIL_MERGE_POLL_SECONDS. On PostgreSQL more
workers can join, on this host or others, without a second scheduler:

    python -m incident_app.jobs.mail_merge            # claim chunks until stopped
    python -m incident_app.jobs.mail_merge --until-idle

Each claims chunks with SELECT … FOR UPDATE SKIP LOCKED, so their throughput adds up. With
SQLite run only the scheduler (one writer). MAIL_MERGE_RENDER_PROCESSES (default 1) renders
a chunk with that many processes.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import time

from flask import Flask
from sqlalchemy.orm import Session

from incident_app import app_store
from incident_app import clock
from incident_app import create_app
from incident_app.db import get_session
from incident_app.jobs import run_job
from incident_app.services.mail_merge import worker as mail_merge_worker

log = logging.getLogger("breachdesk.jobs.mail_merge")


def worker_for(app: Flask) -> mail_merge_worker.Worker:
    """A worker identity with the app's keys and file store (inside an app context)."""
    keyring = app_store.current_keyring()
    return mail_merge_worker.Worker(
        keyring=keyring,
        store=app_store.current_store(keyring),
        clock=clock.utcnow,
        name=f"{socket.gethostname()}:{os.getpid()}",
        processes=int(app.config.get("MAIL_MERGE_RENDER_PROCESSES", 1)),
    )


def mail_merge_job(app: Flask) -> None:
    """One tick: finish what is queued, chunk after chunk, then return."""
    run_job(app, log, "mail merge job failed", lambda session: _work(app, session))


def _work(app: Flask, session: Session) -> None:
    chunks = mail_merge_worker.work(session, worker=worker_for(app))
    if chunks:
        log.info("mail merge: %s chunk(s) finished", chunks)


def poll_minutes(app: Flask) -> float:
    return float(app.config.get("MAIL_MERGE_POLL_SECONDS", 5)) / 60


def run_worker(app: Flask, *, until_idle: bool = False) -> None:
    """An extra worker process: tick until stopped (or until nothing is left)."""
    pause = float(app.config.get("MAIL_MERGE_POLL_SECONDS", 5))
    while True:
        with app.app_context():
            session = get_session()
            done = mail_merge_worker.work(session, worker=worker_for(app))
            session.close()
        if until_idle and not done:
            return
        if not done:
            time.sleep(pause)


def main() -> None:
    parser = argparse.ArgumentParser(description="Extra mail-merge worker (PostgreSQL).")
    parser.add_argument(
        "--until-idle",
        action="store_true",
        help="exit when no chunk is left instead of waiting for more",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_worker(create_app(), until_idle=args.until_idle)


if __name__ == "__main__":
    main()
