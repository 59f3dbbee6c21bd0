"""Where the letter templates live and the Jinja environment that renders them.

Autoescape and StrictUndefined (a legal letter never prints a blank); `auto_reload` so an edited
template is picked up (its version changes too, see versions.py). Spelled-out date filters so no
reader confuses day and month.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

import jinja2

from incident_app.letters.ocr_portal import ocr_sections

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "letter_templates"
FONT_DIR = TEMPLATE_DIR / "fonts"

# The templates a mail merge may use: their body does not depend on the recipient.
MERGE_TEMPLATES = frozenset(
    {
        "individual_adult.html",
        "individual_minor.html",
        "individual_deceased.html",
        "individual_es.html",
    }
)


MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTHS_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def long_date(value: date) -> str:
    """March 4, 2025 — spelled out, so no reader confuses day and month."""
    return f"{MONTHS_EN[value.month - 1]} {value.day}, {value.year}"


def long_utc(value: datetime) -> str:
    """March 4, 2025, 14:05 UTC — an instant, always shown in UTC (GDPR Art. 33's hours)."""
    moment = value.astimezone(UTC)
    return f"{long_date(moment.date())}, {moment:%H:%M} UTC"


def fecha_larga(value: date) -> str:
    """4 de marzo de 2025."""
    return f"{value.day} de {MONTHS_ES[value.month - 1]} de {value.year}"


def make_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """A letter environment over `loader`: the files on disk (`env`) or a mail merge's
    template snapshot (snapshot.py), with the same escaping, undefined and filters."""
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=True,
    )
    env.filters["long_date"] = long_date
    env.filters["fecha_larga"] = fecha_larga
    env.filters["long_utc"] = long_utc
    env.filters["ocr_sections"] = ocr_sections
    return env


env = make_environment(jinja2.FileSystemLoader(TEMPLATE_DIR))


def known_templates() -> list[str]:
    """The letter templates a caller may render (files not starting with `_`)."""
    return sorted(p.name for p in TEMPLATE_DIR.glob("*.html") if not p.name.startswith("_"))
