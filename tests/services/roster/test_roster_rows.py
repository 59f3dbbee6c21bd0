"""The import's per-record hot path gives exactly what the plain definitions give: the PHI
JSON of KeyRing.encrypt_json, norm.clean on every cell, the blind-index tokens."""

from __future__ import annotations

import json
from datetime import date

import pytest

from incident_app.services.roster import normalise as norm
from incident_app.services.roster import rows as roster_rows
from incident_app.services.roster.columns import guess_mapping
from incident_app.services.roster.rows import EXTERNAL_PURPOSE
from incident_app.services.roster.rows import IDENTITY_PURPOSE
from incident_app.services.roster.rows import RowBuilder
from incident_app.services.roster.rows import phi_aad
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import ring

HEADERS = HEADER.split(",")
TODAY = date(2026, 11, 28)


def builder() -> RowBuilder:
    return RowBuilder(
        headers=HEADERS,
        mapping=guess_mapping(HEADERS),
        keyring=ring(),
        incident_id=7,
        import_id=9,
        today=TODAY,
    )


@pytest.mark.parametrize(
    "phi",
    [
        {"fn": "José", "ln": "O'Brien", "a1": '12 "Main" St', "dob": "1950-01-01"},
        {"fn": "Ana\\", "ln": "Peña\u2028\u2029", "ctl": "\x00\x1f\x7f", "emoji": "🙂"},
        {"fn": "A", "nok": {"name": "Rosa Peña", "a1": "1 Calle Luna", "st": "PR"}},
        {},
    ],
)
def test_the_phi_encoder_writes_what_encrypt_json_writes(phi: dict) -> None:
    expected = json.dumps(phi, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    assert roster_rows.phi_json(phi) == expected


@pytest.mark.parametrize(
    "cells",
    [
        ["MRN1", "Ana", "García", "1980-04-02", "12 Elm St"],
        ["  MRN1 ", " Ana", "N/A", "unknown", "-", "--", "?", "TBD", "None", "null", "nA"],
        ["MRN1", "Mary  Ann", "Smith", "", "12\tElm St"],  # a record that needs collapsing
        ["MRN1", "Ana\r\nMaria", "x", "\u00a0Ana\u00a0", "\u3000"],
        ["MRN1", "UNKNOWN", "Unknowns", "n/a ", " ", ""],
    ],
)
def test_cell_cleaning_is_norm_clean_on_every_cell(cells: list[str]) -> None:
    record = (cells + [""] * len(HEADERS))[: len(HEADERS)]
    rows = builder()
    expected = {
        name: value for name, index in rows.positions if (value := norm.clean(record[index]))
    }

    assert rows._values(record) == expected


def test_a_built_row_decrypts_to_its_phi_and_carries_both_tokens() -> None:
    keys = ring()
    record = [
        "MRN7",
        "José",
        "Núñez",
        "04/02/1980",
        "12 Elm St",
        "",
        "Albany",
        "New York",
        "12207",
        "",
        "jose@example.org",
        "",
        "Y",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "es",
    ]
    staged, issues = builder().build(record, 5)

    assert issues == []
    blob = staged[roster_rows.STAGED_COLUMNS.index("phi")]
    assert keys.decrypt_json(blob, phi_aad(7, 9, 5)) == {
        "fn": "José",
        "ln": "Núñez",
        "a1": "12 Elm St",
        "city": "Albany",
        "st": "NY",
        "zip": "12207",
        "dob": "1980-04-02",
        "email": "jose@example.org",
        "ext": "MRN7",
    }
    tokens = dict(zip(roster_rows.STAGED_COLUMNS, staged, strict=True))
    assert tokens["external_index"] == keys.blind_index("MRN7", purpose=EXTERNAL_PURPOSE)[:32]
    identity = "\x1f".join(("Núñez", "José", "1980-04-02", "12 Elm St", "12207"))
    assert tokens["identity_index"] == keys.blind_index(identity, purpose=IDENTITY_PURPOSE)[:32]
