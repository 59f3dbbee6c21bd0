"""`flask ocr import`: load OCR's public breach listing into the peers reference table."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import AppGroup

from incident_app import clock
from incident_app.cli._common import database_errors_as_messages
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.services.peers import importing as ocr_import

ocr_group = AppGroup("ocr", help="OCR breach-portal reference data (peers).")
SHOW_REJECTED = 20


@ocr_group.command("import")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing when the table already has rows (for first-run set-up).",
)
@database_errors_as_messages
def import_command(path: Path | None, if_empty: bool) -> None:
    """Import PATH (default: the shipped data/ocr_breach_report.csv); safe to run again."""
    session = get_session()
    if if_empty and (existing := ocr_import.breach_count(session)):
        click.echo(f"OCR reference table already has {existing:,} rows; nothing imported.")
        return
    path = path or ocr_import.SHIPPED_CSV
    started = time.perf_counter()
    try:
        report = ocr_import.import_file(
            session, path=path, actor=None, actor_label="system (cli)", now=clock.utcnow()
        )
    except ValidationFailed as error:
        raise click.ClickException(str(error)) from error
    elapsed = time.perf_counter() - started
    click.echo(
        f"Imported {path.name} in {elapsed:.1f} s: {report.inserted:,} inserted, "
        f"{report.updated:,} updated, {report.skipped:,} skipped ({report.unchanged:,} "
        f"unchanged, {report.duplicates:,} repeated in the file, {len(report.rejected):,} "
        f"rejected)."
    )
    for row in report.rejected[:SHOW_REJECTED]:
        click.echo(f"  line {row.line}: {row.reason}", err=True)
    if len(report.rejected) > SHOW_REJECTED:
        click.echo(f"  … and {len(report.rejected) - SHOW_REJECTED} more rejected rows.", err=True)
