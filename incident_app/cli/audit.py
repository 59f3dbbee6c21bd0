"""`flask audit verify`: prove the hash chain, or name the first broken row."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from incident_app.cli._common import database_errors_as_messages
from incident_app.db import get_session
from incident_app.services import audit as audit_service

audit_group = AppGroup("audit", help="The audit trail.")


@audit_group.command("verify")
@database_errors_as_messages
def verify_command() -> None:
    """Walk the audit chain; exit 1 naming the first broken event."""
    report = audit_service.verify(get_session())
    if report.ok:
        click.echo(f"Audit chain intact: {report.checked} events, head {report.head_hash}.")
        return
    click.echo(
        f"Audit chain BROKEN at event #{report.broken_seq}: {report.problem} "
        f"({report.checked} events before it verified).",
        err=True,
    )
    raise SystemExit(1)
