"""`flask backup create|verify|restore`: database + encrypted file store, with a manifest."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import text

from incident_app import clock
from incident_app.cli._common import database_errors_as_messages
from incident_app.db import get_session
from incident_app.services import audit as audit_service
from incident_app.services import backup

backup_group = AppGroup("backup", help="Back up and restore the database and file store.")


def _revision() -> str | None:
    revision: str | None = get_session().scalar(text("SELECT version_num FROM alembic_version"))
    return revision


@backup_group.command("create")
@click.argument("out_dir", type=click.Path(path_type=Path))
@database_errors_as_messages
def create_command(out_dir: Path) -> None:
    """Write a backup to OUT_DIR (a new folder). Keys are not included: keep them safe."""
    try:
        result = backup.create(
            database_url=current_app.config["DATABASE_URL"],
            file_store=Path(current_app.config["FILE_STORE_DIR"]),
            out_dir=out_dir,
            now=clock.utcnow(),
            revision=_revision(),
        )
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Backup written to {result.path}: database {result.database_bytes} bytes, "
        f"{result.files} stored files."
    )


@backup_group.command("verify")
@click.argument("backup_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
def verify_command(backup_dir: Path) -> None:
    """Check every file of a backup against its manifest."""
    try:
        manifest = backup.verify(backup_dir)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backup intact: {len(manifest['sha256'])} files, taken {manifest['created_at']}.")


@backup_group.command("restore")
@click.argument("backup_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing SQLite database file.")
@database_errors_as_messages
def restore_command(backup_dir: Path, force: bool) -> None:
    """Restore BACKUP_DIR into DATABASE_URL and FILE_STORE_DIR, then verify the audit chain."""
    try:
        manifest = backup.restore(
            backup_dir=backup_dir,
            database_url=current_app.config["DATABASE_URL"],
            file_store=Path(current_app.config["FILE_STORE_DIR"]),
            force=force,
        )
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    current_app.extensions["engine"].dispose()
    report = audit_service.verify(get_session())
    click.echo(
        f"Restored the backup of {manifest['created_at']} "
        f"(revision {manifest['alembic_revision']}). Audit chain: "
        f"{'intact' if report.ok else 'BROKEN at #' + str(report.broken_seq)}, "
        f"{report.checked} events."
    )
    if not report.ok:
        raise SystemExit(1)
