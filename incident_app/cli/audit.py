"""`flask audit verify | checkpoint | rekey`: prove the keyed chain against the signed
checkpoints kept outside the database, checkpoint its head, rotate the audit key."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from incident_app import clock
from incident_app.app_store import checkpoint_dir
from incident_app.app_store import current_audit_keys
from incident_app.cli._common import database_errors_as_messages
from incident_app.db import get_session
from incident_app.services import audit_checkpoints
from incident_app.services import audit_rekey
from incident_app.services.audit import ChainReport

audit_group = AppGroup("audit", help="The audit trail.")
CLI_ACTOR = "system (cli)"


def _print(report: ChainReport) -> None:
    for note in report.notes:
        click.echo(f"Note: {note}.")
    if report.ok:
        click.echo(
            f"Audit chain intact: {report.checked} events, head {report.head_hash}, "
            f"{report.checkpoints} checkpoint(s) matched."
        )
        return
    where = f"event #{report.broken_seq}" if report.broken_seq else "the checkpoints"
    click.echo(
        f"Audit chain BROKEN at {where}: {report.problem} "
        f"({report.checked} events before it verified).",
        err=True,
    )


@audit_group.command("verify")
@database_errors_as_messages
def verify_command() -> None:
    """Walk the chain, check every MAC, the head and every signed checkpoint; exit 1 naming
    the first broken event or the checkpoint that no longer matches."""
    report = audit_checkpoints.verify_and_record(
        get_session(),
        keys=current_audit_keys(),
        directory=checkpoint_dir(),
        now=clock.utcnow(),
        by=CLI_ACTOR,
    )
    _print(report)
    if not report.ok:
        raise SystemExit(1)


@audit_group.command("checkpoint")
@database_errors_as_messages
def checkpoint_command() -> None:
    """Verify, then write a signed checkpoint of the head outside the database (the scheduler
    does this every AUDIT_CHECKPOINT_MINUTES)."""
    report, cp = audit_checkpoints.checkpoint_now(
        get_session(),
        keys=current_audit_keys(),
        directory=checkpoint_dir(),
        now=clock.utcnow(),
        by=CLI_ACTOR,
    )
    _print(report)
    if cp is None:
        raise SystemExit(1)
    click.echo(f"Checkpoint written: {checkpoint_dir() / cp.name} (event #{cp.seq}).")


@audit_group.command("rekey")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 100_000))
@database_errors_as_messages
def rekey_command(batch_size: int) -> None:
    """Sign every unsigned (pre-upgrade) event and every event, head and checkpoint signed with
    an older audit key with the primary key of BREACHDESK_AUDIT_KEYS. Refuses a broken chain."""
    keys = current_audit_keys()
    try:
        report = audit_rekey.rekey(
            get_session(),
            keys=keys,
            directory=checkpoint_dir(),
            clock=clock.utcnow,
            actor_label=CLI_ACTOR,
            batch_size=batch_size,
        )
    except audit_rekey.RekeyRefused as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Signed {report.rows} events and re-signed {report.checkpoints} checkpoint(s) with "
        f"audit key {report.key_id!r}. Older audit keys can now be removed from the ring."
    )
