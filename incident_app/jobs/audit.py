"""The audit checkpoint job: every AUDIT_CHECKPOINT_MINUTES, verify the chain and write a
signed checkpoint of its head outside the database (file, log, and optionally email to the
privacy officers)."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.orm import Session

from incident_app import clock
from incident_app.app_store import checkpoint_dir
from incident_app.app_store import current_audit_keys
from incident_app.jobs import run_job
from incident_app.jobs.reminders import mailer_for
from incident_app.mailer import MailDeliveryError
from incident_app.services import audit_checkpoints
from incident_app.services.audit import ChainReport
from incident_app.services.audit import Checkpoint

log = logging.getLogger("breachdesk.audit")
JOB_ACTOR = "system (scheduler)"


def audit_checkpoint_job(app: Flask) -> tuple[ChainReport, Checkpoint | None] | None:
    return run_job(app, log, "audit checkpoint failed", lambda session: _tick(app, session))


def _tick(app: Flask, session: Session) -> tuple[ChainReport, Checkpoint | None]:
    report, cp = audit_checkpoints.checkpoint_now(
        session,
        keys=current_audit_keys(),
        directory=checkpoint_dir(),
        now=clock.utcnow(),
        by=JOB_ACTOR,
    )
    if app.config.get("AUDIT_CHECKPOINT_EMAIL"):
        mailer = mailer_for(app)
        for mail in audit_checkpoints.mails_for(session, report=report, checkpoint=cp):
            try:
                mailer.send(mail)
            except MailDeliveryError as error:
                log.warning("audit checkpoint email to %s failed: %s", mail.to, error)
    return report, cp


def checkpoint_minutes(app: Flask) -> float:
    return float(app.config["AUDIT_CHECKPOINT_MINUTES"])
