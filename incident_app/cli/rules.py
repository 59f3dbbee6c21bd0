"""`flask rules states`: the coverage table of the state breach-notification rules.

Thin: the summarising lives in incident_app.rules.coverage. Exits non-zero when any of the 54
jurisdictions has no file or no row, or when a table file does not load.
"""

from __future__ import annotations

from pathlib import Path

import click

from incident_app.rules.coverage import coverage
from incident_app.rules.coverage import table_lines
from incident_app.rules.state_table import STATES_DIR
from incident_app.rules.state_table import load_states


@click.group("rules")
def rules_group() -> None:
    """The rules engine's tables."""


@rules_group.command("states")
@click.option(
    "--directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=STATES_DIR,
    show_default=True,
    help="Folder of <CODE>.toml jurisdiction tables.",
)
@click.pass_context
def states_command(ctx: click.Context, directory: Path) -> None:
    """Print every jurisdiction's duties, thresholds, clocks, HIPAA interplay and provenance."""
    try:
        table = load_states(directory)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    result = coverage(table)
    for line in table_lines(result):
        click.echo(line)
    click.echo(result.summary())
    if result.missing:
        click.echo(f"missing (no file or no row): {', '.join(result.missing)}", err=True)
        ctx.exit(1)
