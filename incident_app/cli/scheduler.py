"""`flask scheduler`: run the single scheduler/worker process."""

from __future__ import annotations

import click
from flask import current_app


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler process (exactly one per deployment; a second copy refuses)."""
    from incident_app import scheduler

    scheduler.run(current_app._get_current_object())


commands = [scheduler_command]
