"""`flask users ...`: accounts from the command line, through the same services as the web."""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup
from sqlalchemy import select

from incident_app import clock
from incident_app.cli._common import database_errors_as_messages
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.accounts import users as users_service

users_group = AppGroup("users", help="Manage user accounts.")


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default=None, help="Full name (defaults to the part before @).")
@click.option(
    "--password",
    envvar="NEW_USER_PASSWORD",
    default=None,
    help="Initial password; prompted for when omitted (or NEW_USER_PASSWORD).",
)
@database_errors_as_messages
def create_command(email: str, role: str, name: str | None, password: str | None) -> None:
    """Create a user (audited as done from the command line)."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users_service.create_user(
            get_session(),
            actor=None,
            actor_label="system (cli)",
            email=email,
            name=name or email.split("@")[0],
            role=Role(role),
            password=password,
            now=clock.utcnow(),
        )
    except ValidationFailed as error:
        raise click.ClickException(f"{error.field or 'input'}: {error}") from error
    click.echo(f"Created {user.email} with role {user.role.value}.")


@users_group.command("ensure-admin")
@database_errors_as_messages
def ensure_admin_command() -> None:
    """Create the first admin (ADMIN_EMAIL / ADMIN_PASSWORD) unless an admin exists."""
    result = users_service.ensure_admin(
        get_session(),
        email=os.environ.get("ADMIN_EMAIL", "admin@example.org"),
        password=os.environ.get("ADMIN_PASSWORD") or None,
        now=clock.utcnow(),
    )
    if not result.created:
        click.echo(f"An admin account exists ({result.email}); nothing created.")
    elif result.generated_password:
        click.echo(f"Created the first admin: {result.email}")
        click.echo(
            f"Generated password (shown once, change it after signing in): "
            f"{result.generated_password}"
        )
    else:
        click.echo(f"Created the first admin: {result.email} (password from ADMIN_PASSWORD)")


@users_group.command("list")
@database_errors_as_messages
def list_command() -> None:
    """List accounts with their role and status."""
    for user in get_session().scalars(select(User).order_by(User.email)):
        click.echo(f"{user.email}\t{user.role.value}\t{'active' if user.active else 'inactive'}")
