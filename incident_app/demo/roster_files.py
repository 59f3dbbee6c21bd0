"""Synthetic roster CSVs: the files `flask demo seed` imports and bench/roster_import.py times.

Accents, apostrophes, both date formats, deceased people with next of kin; optionally ~2 % bad
rows of five kinds and ~0.25 % repeated ids, for the reject report.
"""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path

ROSTER_HEADER = [
    "external_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "country",
    "email",
    "phone",
    "email_consent",
    "deceased",
    "nok_name",
    "nok_address_line1",
    "nok_city",
    "nok_state",
    "nok_zip",
    "minor",
    "guardian_name",
    "language",
]
ROSTER_FIRST = [
    "Zoë",
    "José",
    "Mary-Ann",
    "D'Angelo",
    "François",
    "Siobhán",
    "Nguyễn",
    "Ana",
    "Li",
    "Björn",
    "Chloé",
    "Renée",
    "Mohammed",
    "Aoife",
    "Łukasz",
    "Ingrid",
]
ROSTER_LAST = [
    "O'Brien",
    "García",
    "Núñez",
    "Smith",
    "Müller",
    "D'Souza",
    "Van der Berg",
    "Kowalski",
    "Øster",
    "Peña",
    "Johnson",
    "Hernández",
    "McCarthy",
    "Lefèvre",
    "Żak",
    "Brown",
]
ROSTER_STATES = [
    ("NY", "New York", "122"),
    ("CA", "California", "941"),
    ("TX", "Texas", "733"),
    ("FL", "Florida", "331"),
    ("MA", "Massachusetts", "021"),
    ("DC", "D.C.", "200"),
    ("PR", "Puerto Rico", "009"),
    ("VT", "Vermont", "054"),
    ("IL", "Illinois", "606"),
]
ROSTER_STREETS = ["Main St", "Elm Street", "Rue de l'Église", "Calle Peña", "O'Connell Ave"]
ROSTER_LANGUAGES = ["", "", "", "es", "Spanish", "zh", "vi"]


def write_roster(
    path: Path, rows: int, seed: int, *, flawed: bool = True, first_number: int = 0
) -> None:
    """Stream a synthetic roster CSV to `path` (nothing held in memory): accents,
    apostrophes, both date formats, deceased people with next of kin; with `flawed`, ~2 %
    bad rows of five kinds and ~0.25 % repeated ids (what bench/roster_import.py imports)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ROSTER_HEADER)
        for n in range(first_number, first_number + rows):
            writer.writerow(_roster_row(rng, n, flawed))


def _roster_row(rng: random.Random, n: int, flawed: bool) -> list[str]:
    code, name, zip3 = rng.choice(ROSTER_STATES)
    deceased = rng.random() < 0.02
    born = date(rng.randint(1930, 2020), rng.randint(1, 12), rng.randint(1, 28))
    row = [
        f"MRN{n:09d}",
        rng.choice(ROSTER_FIRST),
        rng.choice(ROSTER_LAST),
        born.isoformat() if n % 3 else born.strftime("%m/%d/%Y"),
        f"{rng.randint(1, 9999)} {rng.choice(ROSTER_STREETS)}",
        "Apt 4B" if n % 5 == 0 else "",
        "Springfield",
        code if n % 2 else name,
        f"{zip3}{rng.randint(0, 99):02d}",
        "",
        f"person{n}@example.org" if n % 4 else "",
        f"555-{n % 10000:04d}",
        "Y" if n % 4 == 1 else "N",
        "Y" if deceased else "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        rng.choice(ROSTER_LANGUAGES),
    ]
    if deceased:
        row[14:19] = ["Rosa Peña", "1 Calle Luna", "San Juan", "PR", "00901"]
    if flawed and n % 50 == 7:  # ~2 % bad rows, of five kinds
        _spoil(row, n)
    elif flawed and n % 400 == 11:  # ~0.25 % repeat an earlier person's external id
        row[0] = f"MRN{n - 1:09d}"
    return row


def _spoil(row: list[str], n: int) -> None:
    kind = (n // 50) % 5
    if kind == 0:
        row[7] = "Atlantis"
    elif kind == 1:
        row[3] = "2099-01-01"
    elif kind == 2:
        row[1] = row[2] = ""
    elif kind == 3:
        row[3] = "31/31/99"
    else:
        row.append("an extra field")
