"""`flask db upgrade|downgrade|current`: thin wrappers around plain Alembic in migrations/."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import current_app
from flask.cli import AppGroup

from incident_app.cli._common import database_errors_as_messages
from incident_app.services.system import MIGRATIONS_DIR

db_group = AppGroup("db", help="Database migrations (Alembic).")


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _prepare_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


@db_group.command("upgrade")
@click.argument("revision", default="head")
@database_errors_as_messages
def upgrade_command(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    url = current_app.config["DATABASE_URL"]
    _prepare_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)
    click.echo(f"Database at {revision}.")


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@database_errors_as_messages
def downgrade_command(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step; 'base' for all)."""
    command.downgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)
    click.echo(f"Database at {revision}.")


@db_group.command("current")
@database_errors_as_messages
def current_command() -> None:
    """Show the revision the database is at."""
    command.current(alembic_config(current_app.config["DATABASE_URL"]))
