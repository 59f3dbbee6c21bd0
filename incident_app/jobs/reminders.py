"""The reminder sweep job: every REMINDER_SWEEP_MINUTES, send what fell due, deliver email."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.orm import Session

from incident_app import clock
from incident_app.jobs import run_job
from incident_app.mailer import NOT_CONFIGURED
from incident_app.mailer import Mailer
from incident_app.mailer import SmtpMailer
from incident_app.services.reminders import sweep as reminders

log = logging.getLogger("breachdesk.reminders")


def mailer_for(app: Flask) -> Mailer:
    """The app's mailer, built once from the SMTP_* settings (warns when there is none)."""
    mailer = app.extensions.get("mailer")
    if mailer is None:
        mailer = SmtpMailer.from_config(app.config)
        if not mailer.configured:
            log.warning(NOT_CONFIGURED)
        app.extensions["mailer"] = mailer
    return mailer


def send_due_reminders_job(app: Flask) -> reminders.SweepReport | None:
    """One sweep: one app context, one service call. Never raises (the job wrapper)."""
    report = run_job(app, log, "reminder sweep failed", lambda session: _sweep(app, session))
    if report is not None and (report.sent or report.email_failures):
        log.info(
            "reminders: %s sent, %s emailed, %s email failures",
            len(report.sent),
            report.emailed,
            report.email_failures,
        )
    return report


def _sweep(app: Flask, session: Session) -> reminders.SweepReport:
    return reminders.sweep(
        session,
        now=clock.utcnow(),
        mailer=mailer_for(app),
        base_url=app.config["APP_BASE_URL"],
        retry_cap_minutes=app.config["EMAIL_RETRY_MAX_MINUTES"],
        keyring=app.extensions.get("keyring"),
    )


def sweep_minutes(app: Flask) -> float:
    # Called once when the scheduler builds its jobs: build the mailer now, so a missing
    # SMTP configuration is reported at start-up rather than at the first reminder.
    mailer_for(app)
    return float(app.config["REMINDER_SWEEP_MINUTES"])
