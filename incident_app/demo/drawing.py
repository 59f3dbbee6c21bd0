"""What incidents to make: OCR's breach listing as draws, and an incident's facts drawn from one.

Types, locations, entity types and sizes come from OCR's listing; titles, people, business
associates and law-enforcement statements from the small vocabularies below. Everything is
drawn from the caller's RNG, so the same seed gives the same facts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time as dtime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.incident import StatementForm
from incident_app.models.ocr import BreachFlag
from incident_app.models.ocr import OcrBreach
from incident_app.services import options
from incident_app.services.incidents.facts import IncidentFacts
from incident_app.services.incidents.statements import StatementInput
from incident_app.services.peers.ocr_parsing import PLACEHOLDER_COUNT

# The seeded history: incidents discovered over the last three years.
HISTORY_DAYS = 3 * 365

FIRST_NAMES = [
    "Maria",
    "James",
    "Aisha",
    "Wei",
    "Carlos",
    "Olivia",
    "Dmitri",
    "Priya",
    "Kwame",
    "Sofia",
    "Liam",
    "Mei",
    "Diego",
    "Hannah",
    "Omar",
    "Grace",
    "Tomás",
    "Nia",
]
LAST_NAMES = [
    "Alvarez",
    "Chen",
    "Okafor",
    "Murphy",
    "Patel",
    "Kowalski",
    "Haddad",
    "Brooks",
    "Nakamura",
    "Rossi",
    "Fischer",
    "Mensah",
    "Lindqvist",
    "O'Neill",
    "Reyes",
    "Shah",
]
BA_NAMES = [
    "Northwind Billing Services",
    "Cedar Transcription LLC",
    "Summit Claims Processing",
    "Bluebird Cloud Hosting",
    "Harbor Records Storage",
    "Pinnacle IT Support",
    "Lakeside Mailing Co.",
    "Keystone Collections",
]
AGENCIES = [
    ("Det. Laura Kim", "Springfield Police Department"),
    ("Special Agent R. Diaz", "FBI Cyber Division"),
    ("Sgt. Paul Ferris", "State Police Computer Crimes Unit"),
]
TITLES = {
    "hacking": [
        "Ransomware on {loc}",
        "Phishing compromise of {loc}",
        "Intrusion detected on {loc}",
    ],
    "unauthorized_access": [
        "Records viewed without a work reason ({loc})",
        "Patient details sent to the wrong recipient ({loc})",
        "Access by a former workforce member ({loc})",
    ],
    "theft": ["Stolen {loc}", "{Loc} taken in a vehicle break-in"],
    "loss": ["Lost {loc}", "{Loc} missing after a clinic move"],
    "improper_disposal": ["Improper disposal of {loc}", "{Loc} found in general waste"],
}
OTHER_TITLES = ["Privacy incident involving {loc}", "Possible exposure of {loc}"]
HOW_FOUND = [
    "Security monitoring alert",
    "Reported by a patient",
    "Internal audit of access logs",
    "Reported by a workforce member",
    "Notice from the business associate",
    "Found during a routine records review",
]
SYSTEMS = [
    "Epic EHR",
    "Microsoft 365 mail",
    "File server FS-02",
    "Billing system",
    "Radiology PACS",
    "Paper charts, Records room B",
    "Patient portal",
]


# --- OCR's listing -----------------------------------------------------------------------


@dataclass(frozen=True)
class OcrDraw:
    """What one OCR listing row contributes to a demo incident."""

    breach_types: tuple[str, ...]
    locations: tuple[str, ...]
    entity_type: str
    affected: int
    state: str | None
    ba_present: bool


def ocr_draws(session: Session) -> list[OcrDraw]:
    """OCR's listing as draws (OCR's own duplicates left out), in a stable order so the same
    seed draws the same rows."""
    by_label = {
        name: {o.label: o.code for o in options.ocr_options(name)}
        for name in ("breach_types", "locations")
    }
    states = options.state_names()
    draws = []
    for row in session.scalars(sa.select(OcrBreach).order_by(OcrBreach.row_key)):
        if BreachFlag.OCR_DUPLICATE.value in (row.flags or []):
            continue
        draws.append(
            OcrDraw(
                breach_types=_codes(row.breach_types, by_label["breach_types"]),
                locations=_codes(row.locations, by_label["locations"]),
                entity_type=row.entity_type or "Healthcare Provider",
                affected=row.individuals_affected or PLACEHOLDER_COUNT,
                state=row.state if row.state in states else None,
                ba_present=row.business_associate_present,
            )
        )
    return draws


def _codes(labels: list[str], by_label: dict[str, str]) -> tuple[str, ...]:
    """OCR labels → our option codes; an unlisted or empty value becomes "other"."""
    return tuple(dict.fromkeys(by_label.get(label, "other") for label in labels)) or ("other",)


# --- an incident's facts -----------------------------------------------------------------


def incident_facts(
    rng: random.Random, draw: OcrDraw, discovered: date, zone: ZoneInfo
) -> IncidentFacts:
    affected = _affected(rng, draw)
    loc_label = options.labels("locations", list(draw.locations[:1]))[0].lower()
    kind = draw.breach_types[0]
    title = rng.choice(TITLES.get(kind, OTHER_TITLES))
    started = datetime.combine(discovered - timedelta(days=rng.randint(0, 90)), dtime(12), zone)
    ended = min(
        started + timedelta(days=rng.randint(0, 30)), datetime.combine(discovered, dtime(0), zone)
    )
    ba = draw.ba_present or draw.entity_type == "Business Associate"
    return IncidentFacts(
        title=title.format(loc=loc_label, Loc=loc_label.capitalize()),
        discovered_on=discovered,
        description=(
            f"Drawn from OCR's listing ({draw.entity_type.lower()}, "
            f"{', '.join(options.labels('breach_types', list(draw.breach_types)))}); "
            "demo data."
        ),
        how_found=rng.choice(HOW_FOUND),
        reported_by=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        occurred_from=started.astimezone(UTC),
        occurred_to=max(started, ended).astimezone(UTC),
        discovered_by=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        breach_types=draw.breach_types,
        breach_type_other="Described in the notes" if "other" in draw.breach_types else "",
        locations=draw.locations,
        location_other="Described in the notes" if "other" in draw.locations else "",
        phi_types=tuple(sorted(rng.sample(sorted(options.codes("phi_types")), rng.randint(2, 5)))),
        safeguards=tuple(
            sorted(rng.sample(sorted(options.codes("safeguards") - {"none"}), rng.randint(1, 3)))
        ),
        systems_involved=rng.choice(SYSTEMS),
        affected_estimate=affected,
        state_estimates=_state_estimates(rng, draw, affected),
        **_ba_facts(rng, ba, discovered),
    )


def _affected(rng: random.Random, draw: OcrDraw) -> int:
    """Most incidents are small: OCR lists only breaches of 500 or more, so six in ten demo
    incidents get a size under 500 (log-uniform); the rest take the OCR row's count."""
    if rng.random() < 0.6:
        return int(math.exp(rng.uniform(0, math.log(499))))
    return draw.affected


def _state_estimates(rng: random.Random, draw: OcrDraw, affected: int) -> dict[str, int]:
    states = sorted(options.state_names())
    home = draw.state or rng.choice(states)
    if affected < 10 or rng.random() < 0.5:
        return {home: affected}
    others = rng.sample([s for s in states if s != home], rng.randint(1, 3))
    estimates = {home: affected}
    for state in others:
        share = rng.randint(1, max(1, estimates[home] // 4))
        estimates[home] -= share
        estimates[state] = share
    return estimates


def _ba_facts(rng: random.Random, involved: bool, discovered: date) -> dict[str, Any]:
    if not involved:
        return {}
    ba_discovered = discovered - timedelta(days=rng.randint(5, 50))
    return {
        "ba_involved": True,
        "ba_name": rng.choice(BA_NAMES),
        "ba_contact": "privacy@vendor.example.org",
        "ba_discovered_on": ba_discovered,
        "ba_notified_on": ba_discovered + timedelta(days=rng.randint(1, 5)),
        "ba_is_agent": False,
    }


def law_enforcement_statements(
    rng: random.Random, discovered: date, today: date
) -> tuple[StatementInput, ...]:
    if rng.random() >= 0.02:
        return ()
    official, agency = rng.choice(AGENCIES)
    stated = min(discovered + timedelta(days=rng.randint(0, 3)), today)
    return (
        StatementInput(
            form=StatementForm.WRITTEN,
            official_name=official,
            agency=agency,
            stated_on=stated,
            delay_until=stated + timedelta(days=rng.randint(20, 90)),
        ),
    )
