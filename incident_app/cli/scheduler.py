"""`flask scheduler`: run the single scheduler/worker process."""

from __future__ import annotations

import click
from flask import current_app


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler process (exactly one per deployment; a second copy refuses)."""
    # Deferred: every process registers this command, but only the scheduler process needs
    # APScheduler and the job modules.
    from incident_app import scheduler

    scheduler.run(current_app._get_current_object())  # type: ignore[attr-defined]
