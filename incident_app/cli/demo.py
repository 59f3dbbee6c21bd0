"""`flask demo seed`: fill an empty database with realistic demo and load-test data."""

from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import AppGroup

from incident_app import app_store
from incident_app import clock
from incident_app.cli._common import database_errors_as_messages
from incident_app.db import get_session
from incident_app.demo import seed as demo
from incident_app.errors import ValidationFailed

demo_group = AppGroup("demo", help="Demo and load-test data.")


@demo_group.command("seed")
@click.option(
    "--incidents", default=10_000, show_default=True, type=int, help="How many incidents to create."
)
@click.option(
    "--roster",
    default=1_000_000,
    show_default=True,
    type=int,
    help="Roster people in total, imported through the roster import service.",
)
@click.option(
    "--seed",
    "seed_value",
    default=42,
    show_default=True,
    type=int,
    help="RNG seed: the same seed on the same day gives the same data.",
)
@click.option(
    "--force-append",
    is_flag=True,
    help="Add demo incidents to a database that already has incidents.",
)
@click.option(
    "--password",
    envvar="DEMO_PASSWORD",
    default=None,
    help="Password for the demo users (or DEMO_PASSWORD); generated when omitted.",
)
@database_errors_as_messages
def seed_command(
    incidents: int, roster: int, seed_value: int, force_append: bool, password: str | None
) -> None:
    """Create demo users, INCIDENTS incidents over the last three years (types, locations
    and sizes drawn from OCR's breach listing) and a ROSTER-person roster. Refuses a
    database that already has incidents unless --force-append."""
    options = demo.SeedOptions(
        incidents=incidents,
        roster=roster,
        seed=seed_value,
        force_append=force_append,
        password=password or secrets.token_urlsafe(12),
        roster_workers=current_app.config["ROSTER_IMPORT_WORKERS"],
    )
    keyring = app_store.current_keyring()
    click.echo(
        f"Seeding {incidents:,} incidents and a {roster:,}-person roster (seed {seed_value})…"
    )
    try:
        report = demo.seed(
            get_session(),
            options_=options,
            now=clock.utcnow(),
            keyring=keyring,
            store=app_store.current_store(keyring),
            progress=lambda line: click.echo(line),
        )
    except ValidationFailed as error:
        raise click.ClickException(str(error)) from error
    for line in demo.summary_lines(report):
        click.echo(line)
    if report.users:
        click.echo(f"Demo users (password shown once: {report.password}):")
        for email, role in report.users:
            click.echo(f"  {email}  {role}")
