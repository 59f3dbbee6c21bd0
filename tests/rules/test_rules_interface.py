"""The public interface other tools call: exact names, frozen dataclasses, field order."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import BusinessAssociateFacts
from incident_app.rules import Determination
from incident_app.rules import InvalidFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import Obligation
from incident_app.rules import evaluate
from incident_app.rules import to_jsonable

FIELDS = [
    (
        BreachFacts,
        [
            "discovered_on",
            "affected_total",
            "residents_by_state",
            "phi_secured",
            "exception",
            "low_probability_of_compromise",
            "insufficient_contact_count",
            "business_associate",
            "law_enforcement_delay",
            "entity_role",
            "part2_records",
            "licensed_facility_states",
            "notices_sent",
            "gdpr",
            "materiality_determined_on",
        ],
    ),
    (BusinessAssociateFacts, ["discovered_on", "is_agent", "notified_covered_entity_on"]),
    (LawEnforcementDelay, ["statement", "stated_on", "delay_until", "written_received_on"]),
    (Determination, ["reportable", "reason", "treated_discovery_on", "obligations", "warnings"]),
    (Obligation, ["kind", "jurisdiction", "due_on", "citation", "reason", "detail", "due_at"]),
]


@pytest.mark.parametrize(("cls", "names"), FIELDS)
def test_public_dataclasses_have_the_contracted_fields(cls, names):
    assert [field.name for field in dataclasses.fields(cls)] == names
    assert cls.__dataclass_params__.frozen


def test_facts_and_results_are_immutable():
    facts = BreachFacts(discovered_on=date(2025, 9, 15), affected_total=10)
    determination = evaluate(facts)

    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.affected_total = 11  # type: ignore[misc]
    with pytest.raises(TypeError):
        facts.residents_by_state["TX"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        determination.obligations[0].detail["method"] = "x"  # type: ignore[index]


def test_defaults_match_the_issue():
    facts = BreachFacts(discovered_on=date(2025, 9, 15), affected_total=10)

    assert dict(facts.residents_by_state) == {}
    assert facts.phi_secured is False
    assert facts.exception is None
    assert facts.low_probability_of_compromise is False
    assert facts.insufficient_contact_count == 0
    assert facts.business_associate is None
    assert facts.law_enforcement_delay is None


def test_invalid_facts_is_a_value_error():
    assert issubclass(InvalidFacts, ValueError)


def test_to_jsonable_uses_iso_dates_and_plain_types():
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15), affected_total=1500, residents_by_state={"TX": 900}
    )

    data = to_jsonable(evaluate(facts))

    assert data["reportable"] is True
    assert data["treated_discovery_on"] == "2025-09-15"
    assert data["obligations"][0] == {
        "kind": "individual_notice",
        "jurisdiction": "US",
        "due_on": "2025-11-14",
        "citation": "45 CFR 164.404(b)",
        "reason": data["obligations"][0]["reason"],
        "detail": data["obligations"][0]["detail"],
        "due_at": None,
    }
    assert isinstance(data["obligations"][0]["detail"], dict)
    assert isinstance(data["warnings"], list)


def test_to_jsonable_keeps_missing_dates_as_null():
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15), affected_total=10, residents_by_state={"MA": 10}
    )

    data = to_jsonable(evaluate(facts))

    assert [item["due_on"] for item in data["obligations"] if item["jurisdiction"] == "MA"] == [
        None,
        None,
    ]


def test_to_jsonable_of_a_not_reportable_determination():
    facts = BreachFacts(discovered_on=date(2025, 9, 15), affected_total=10, phi_secured=True)

    data = to_jsonable(evaluate(facts))

    assert data["reportable"] is False
    assert data["obligations"] == []
