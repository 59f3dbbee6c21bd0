"""Required identity-protection offer lengths (issue 23): which states' rows apply to the
incident, the longest first, and whether the incident's offer is shorter; the loader's
checks of the two new columns."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date

import pytest

from incident_app.rules import state_table
from incident_app.rules.identity_protection import longest_required
from incident_app.rules.identity_protection import offer_requirements
from incident_app.rules.state_table import load_jurisdiction
from tests.rules.test_rules_states_engine_loader import ROW
from tests.rules.test_rules_states_engine_loader import write

SHIPPED = state_table.state_rules()
AFTER_ACT_33 = date(2025, 3, 1)  # PA Act 33 in force from 2024-09-26
BEFORE_ACT_33 = date(2024, 9, 1)


def test_the_shipped_table_requires_what_its_sources_say() -> None:
    offers = {rule.id: rule.offer_months for rule in SHIPPED if rule.offer_months}

    assert offers == {"PA-credit-monitoring-2024": 12, "DC-28-3852-residents-2020": 18}


@pytest.mark.parametrize(
    ("residents", "discovered", "offered", "expected"),
    [
        # PA and DC residents, 12-month offer: DC's 18 months first, and short; PA met.
        ({"PA": 3, "DC": 1}, AFTER_ACT_33, 12, [("DC", 18, True), ("PA", 12, False)]),
        ({"PA": 3, "DC": 1}, AFTER_ACT_33, 24, [("DC", 18, False), ("PA", 12, False)]),
        # No offer recorded yet: every requirement shows as short.
        ({"PA": 3}, AFTER_ACT_33, None, [("PA", 12, True)]),
        # Before Act 33 took effect PA required no offer.
        ({"PA": 3}, BEFORE_ACT_33, 12, []),
        # Without a discovery date every row counts (conservative).
        ({"PA": 3}, None, 6, [("PA", 12, True)]),
        # States without an offer row, or with no residents, add nothing.
        ({"NY": 900, "PA": 0}, AFTER_ACT_33, 12, []),
    ],
)
def test_offer_requirements(residents, discovered, offered, expected) -> None:
    found = offer_requirements(
        SHIPPED, residents_by_state=residents, discovered_on=discovered, offered_months=offered
    )

    assert [(r.state, r.months, r.short) for r in found] == expected


def test_a_requirement_names_its_source_and_confidence() -> None:
    [pa] = offer_requirements(
        SHIPPED, residents_by_state={"PA": 2}, discovered_on=AFTER_ACT_33, offered_months=12
    )

    assert pa.rule_id == "PA-credit-monitoring-2024" and pa.confidence == "[S]"
    assert pa.verify_with_counsel and pa.residents == 2
    assert "Social Security" in pa.condition and "Act 33" in pa.statute


def test_longest_required() -> None:
    found = offer_requirements(
        SHIPPED,
        residents_by_state={"PA": 1, "DC": 1},
        discovered_on=AFTER_ACT_33,
        offered_months=None,
    )

    assert longest_required(found) == 18
    assert longest_required([]) is None


def test_a_row_in_force_but_under_its_threshold_is_left_out() -> None:
    [pa] = [rule for rule in SHIPPED if rule.id == "PA-credit-monitoring-2024"]
    strict = replace(pa, threshold=500, threshold_operator=">=")

    assert (
        offer_requirements(
            [strict], residents_by_state={"PA": 10}, discovered_on=AFTER_ACT_33, offered_months=1
        )
        == []
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"offer_months": 0}, "offer_months is a positive offer to residents"),
        (
            {"offer_months": 12, "recipient": "attorney_general"},
            "offer_months is a positive offer to residents",
        ),
        ({"offer_months": "12"}, "offer_months must be a whole number"),
    ],
)
def test_the_loader_refuses_a_bad_offer(extra, message) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, [{**ROW, **extra}])
        with pytest.raises(ValueError, match=message):
            load_jurisdiction(path)


def test_the_loader_reads_an_offer() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, [{**ROW, "offer_months": 24, "offer_condition": "always"}])
        [rule] = load_jurisdiction(path).rules

    assert (rule.offer_months, rule.offer_condition) == (24, "always")
