"""`flask deadlines`: evaluate a breach's facts from the command line and print every deadline.

Pure: no database and no app context. It builds the same BreachFacts the services build and
calls rules.evaluate, so what it prints is exactly what the application would compute.
"""

from __future__ import annotations

import json
import textwrap
from datetime import date
from typing import Any

import click

from incident_app.rules import BreachFacts
from incident_app.rules import BusinessAssociateFacts
from incident_app.rules import Determination
from incident_app.rules import InvalidFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import evaluate
from incident_app.rules import to_jsonable
from incident_app.rules.facts import EXCEPTIONS

# Which option to blame when the rules reject a field.
FIELD_OPTIONS = {
    "discovered_on": "--discovered",
    "affected_total": "--affected",
    "residents_by_state": "--state",
    "insufficient_contact_count": "--insufficient-contact",
    "business_associate.notified_covered_entity_on": "--ba-notified",
    "law_enforcement_delay.stated_on": "--le-stated-on",
    "law_enforcement_delay.delay_until": "--le-until",
    "law_enforcement_delay.written_received_on": "--le-written-on",
}
REASON_WIDTH = 60


class IsoDate(click.ParamType[date]):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD", param, ctx)


ISO_DATE = IsoDate()


def _parse_states(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        code, sep, number = value.partition("=")
        code = code.strip().upper()
        if not sep or not number.strip().lstrip("-").isdigit():
            raise click.BadParameter(f"{value!r} is not CODE=COUNT, e.g. TX=900", ctx, param)
        if code in counts:
            raise click.BadParameter(f"{code} is given more than once", ctx, param)
        counts[code] = int(number)
    return counts


@click.command("deadlines")
@click.option("--discovered", type=ISO_DATE, help="Covered entity's discovery date (day 0).")
@click.option("--affected", type=int, required=True, help="Individuals affected in total.")
@click.option(
    "--state", "states", multiple=True, callback=_parse_states, metavar="XX=N",
    help="Affected residents of a state (USPS code); repeatable.",
)  # fmt: skip
@click.option("--secured", is_flag=True, help="The PHI was secured (encrypted or destroyed).")
@click.option("--exception", type=click.Choice(sorted(EXCEPTIONS)), help="164.402(1) exception.")
@click.option("--low-probability", is_flag=True, help="Documented low probability of compromise.")
@click.option("--insufficient-contact", type=int, default=0, help="Living, no usable address.")
@click.option("--ba-discovered", type=ISO_DATE, help="Business associate's discovery date.")
@click.option("--ba-agent/--ba-contractor", default=None, help="BA is the covered entity's agent.")
@click.option("--ba-notified", type=ISO_DATE, help="Date the BA notified the covered entity.")
@click.option("--le-statement", type=click.Choice(["oral", "written"]), help="164.412 statement.")
@click.option("--le-stated-on", type=ISO_DATE, help="Date of the law-enforcement statement.")
@click.option("--le-until", type=ISO_DATE, help="End of the delay period a written one states.")
@click.option("--le-written-on", type=ISO_DATE, help="Written statement following an oral one.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def deadlines_command(**options: Any) -> None:
    """Show the breach determination and every notification deadline (45 CFR 164.400-414)."""
    try:
        determination = evaluate(_facts(options))
    except InvalidFacts as error:
        field = error.field.partition("[")[0]  # residents_by_state[TX] -> residents_by_state
        raise click.BadParameter(
            str(error), param_hint=f"'{FIELD_OPTIONS.get(field, field)}'"
        ) from error
    if options["as_json"]:
        click.echo(json.dumps(to_jsonable(determination), indent=2))
    else:
        click.echo(render_table(determination))


def _facts(options: dict[str, Any]) -> BreachFacts:
    return BreachFacts(
        discovered_on=options["discovered"],
        affected_total=options["affected"],
        residents_by_state=options["states"],
        phi_secured=options["secured"],
        exception=options["exception"],
        low_probability_of_compromise=options["low_probability"],
        insufficient_contact_count=options["insufficient_contact"],
        business_associate=_business_associate(options),
        law_enforcement_delay=_law_enforcement_delay(options),
    )


def _business_associate(options: dict[str, Any]) -> BusinessAssociateFacts | None:
    if options["ba_discovered"] is None:
        if options["ba_agent"] is not None or options["ba_notified"] is not None:
            raise click.BadParameter(
                "required with --ba-agent/--ba-contractor/--ba-notified",
                param_hint="'--ba-discovered'",
            )
        return None
    return BusinessAssociateFacts(
        discovered_on=options["ba_discovered"],
        is_agent=options["ba_agent"],
        notified_covered_entity_on=options["ba_notified"],
    )


def _law_enforcement_delay(options: dict[str, Any]) -> LawEnforcementDelay | None:
    given = [options[name] for name in ("le_stated_on", "le_until", "le_written_on")]
    if options["le_statement"] is None:
        if any(value is not None for value in given):
            raise click.BadParameter(
                "required with --le-stated-on/--le-until/--le-written-on",
                param_hint="'--le-statement'",
            )
        return None
    if options["le_stated_on"] is None:
        raise click.BadParameter("required with --le-statement", param_hint="'--le-stated-on'")
    return LawEnforcementDelay(
        statement=options["le_statement"],
        stated_on=options["le_stated_on"],
        delay_until=options["le_until"],
        written_received_on=options["le_written_on"],
    )


def render_table(determination: Determination) -> str:
    """The determination as plain text: a summary, one row per obligation, then warnings."""
    verdict = "REPORTABLE" if determination.reportable else "NOT REPORTABLE"
    lines = [
        f"{verdict}: {determination.reason}",
        f"Treated discovery: {determination.treated_discovery_on}",
        "",
    ]
    lines.extend(_obligation_rows(determination) or ["No notification obligations."])
    if determination.warnings:
        lines += ["", "Warnings:"]
        lines += [textwrap.fill(text, 100, initial_indent="- ", subsequent_indent="  ")
                  for text in determination.warnings]  # fmt: skip
    return "\n".join(lines)


def _obligation_rows(determination: Determination) -> list[str]:
    if not determination.obligations:
        return []
    header = ("KIND", "JURISDICTION", "DUE", "CITATION")
    rows = [
        (item.kind, item.jurisdiction, str(item.due_on or "no fixed date"), item.citation)
        for item in determination.obligations
    ]
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(4)]
    lines = [_row(header, widths, "REASON")]
    for row, item in zip(rows, determination.obligations, strict=True):
        reason = textwrap.wrap(item.reason, REASON_WIDTH)
        lines.append(_row(row, widths, reason[0]))
        indent = " " * (sum(widths) + 2 * len(widths))
        lines.extend(indent + more for more in reason[1:])
    return lines


def _row(cells: tuple[str, ...], widths: list[int], reason: str) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + (
        "  " + reason
    )
