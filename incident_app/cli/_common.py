"""Shared CLI plumbing: turn database connection failures into a clear one-line error."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import TypeVar

import click
import sqlalchemy as sa
from flask import current_app

F = TypeVar("F", bound=Callable[..., Any])


def database_errors_as_messages(command: F) -> F:
    @wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            url = sa.engine.make_url(current_app.config["DATABASE_URL"])
            reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
            raise click.ClickException(
                f"Cannot use the database at {url.render_as_string(hide_password=True)}: "
                f"{reason}. Check DATABASE_URL and that the database server is running."
            ) from error

    return wrapped  # type: ignore[return-value]
