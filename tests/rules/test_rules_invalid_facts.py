"""Invalid facts raise InvalidFacts naming the field: never a silent default."""

from __future__ import annotations

from datetime import date
from datetime import datetime

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import BusinessAssociateFacts
from incident_app.rules import InvalidFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import evaluate

DAY = date(2025, 9, 15)
BA = BusinessAssociateFacts(discovered_on=DAY)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"affected_total": -1}, "affected_total"),
        ({"affected_total": True}, "affected_total"),
        ({"affected_total": "12"}, "affected_total"),
        ({"affected_total": 12.0}, "affected_total"),
        ({"residents_by_state": {"TX": -5}}, "residents_by_state[TX]"),
        ({"residents_by_state": {"TX": "5"}}, "residents_by_state[TX]"),
        ({"residents_by_state": {"XX": 1}}, "residents_by_state"),
        ({"residents_by_state": {"tx": 1}}, "residents_by_state"),
        ({"residents_by_state": {"UK": 1}}, "residents_by_state"),
        ({"residents_by_state": [("TX", 1)]}, "residents_by_state"),
        ({"residents_by_state": {"TX": 60, "OK": 41}}, "residents_by_state"),  # 101 > 100
        ({"insufficient_contact_count": -1}, "insufficient_contact_count"),
        ({"insufficient_contact_count": 101}, "insufficient_contact_count"),
        ({"exception": "no_harm"}, "exception"),
        ({"exception": ""}, "exception"),
        ({"discovered_on": None}, "discovered_on"),
        ({"discovered_on": "2025-09-15"}, "discovered_on"),
        ({"discovered_on": datetime(2025, 9, 15, 8, 30)}, "discovered_on"),
        ({"phi_secured": "yes"}, "phi_secured"),
        ({"low_probability_of_compromise": 1}, "low_probability_of_compromise"),
        ({"business_associate": {"discovered_on": DAY}}, "business_associate"),
        ({"law_enforcement_delay": "oral"}, "law_enforcement_delay"),
    ],
)
def test_breach_facts_reject_bad_values(kwargs, field):
    arguments = {"discovered_on": DAY, "affected_total": 100, **kwargs}

    with pytest.raises(InvalidFacts) as caught:
        evaluate(BreachFacts(**arguments))

    assert caught.value.field == field
    assert str(caught.value).startswith(field + ":")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (
            {"discovered_on": date(2025, 3, 10), "notified_covered_entity_on": date(2025, 3, 9)},
            "business_associate.notified_covered_entity_on",
        ),
        ({"discovered_on": None}, "business_associate.discovered_on"),
        ({"discovered_on": DAY, "is_agent": "yes"}, "business_associate.is_agent"),
        (
            {"discovered_on": DAY, "notified_covered_entity_on": "2025-09-20"},
            "business_associate.notified_covered_entity_on",
        ),
    ],
)
def test_business_associate_facts_reject_bad_values(kwargs, field):
    with pytest.raises(InvalidFacts) as caught:
        BusinessAssociateFacts(**kwargs)

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"statement": "email", "stated_on": DAY}, "law_enforcement_delay.statement"),
        ({"statement": "Written", "stated_on": DAY}, "law_enforcement_delay.statement"),
        ({"statement": "oral", "stated_on": None}, "law_enforcement_delay.stated_on"),
        ({"statement": "written", "stated_on": DAY}, "law_enforcement_delay.delay_until"),
        (
            {"statement": "written", "stated_on": DAY, "delay_until": date(2025, 9, 14)},
            "law_enforcement_delay.delay_until",
        ),
        (
            {
                "statement": "written",
                "stated_on": DAY,
                "delay_until": date(2025, 12, 1),
                "written_received_on": DAY,
            },
            "law_enforcement_delay.written_received_on",
        ),
        (
            {
                "statement": "oral",
                "stated_on": DAY,
                "delay_until": date(2025, 12, 1),
                "written_received_on": date(2025, 9, 1),
            },
            "law_enforcement_delay.written_received_on",
        ),
        (
            {"statement": "oral", "stated_on": DAY, "written_received_on": date(2025, 9, 20)},
            "law_enforcement_delay.delay_until",
        ),
        (
            {"statement": "oral", "stated_on": DAY, "delay_until": "2025-10-01"},
            "law_enforcement_delay.delay_until",
        ),
    ],
)
def test_law_enforcement_delay_rejects_bad_values(kwargs, field):
    with pytest.raises(InvalidFacts) as caught:
        LawEnforcementDelay(**kwargs)

    assert caught.value.field == field


def test_discovered_on_may_be_none_when_a_business_associate_discovered_it():
    facts = BreachFacts(discovered_on=None, affected_total=10, business_associate=BA)

    assert evaluate(facts).treated_discovery_on == DAY


def test_states_summing_to_the_total_are_fine():
    facts = BreachFacts(discovered_on=DAY, affected_total=100, residents_by_state={"TX": 100})

    assert facts.residents_by_state == {"TX": 100}


def test_message_is_readable():
    with pytest.raises(InvalidFacts, match=r"^residents_by_state: counts sum to 101, more than"):
        BreachFacts(discovered_on=DAY, affected_total=100, residents_by_state={"TX": 101})
