"""Business-associate mode: each client's 164.410(b) notice and its BAA deadline beside it."""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import ClientFacts
from incident_app.rules import InvalidFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import evaluate

CAL = {"key": "k", "name": "A", "period_unit": "calendar_days"}
MON = date(2026, 3, 2)  # a Monday; + 60 calendar days = Friday 2026-05-01


def run(*clients, discovered_on=MON, role="business_associate", delay=None, low=False):
    facts = BreachFacts(
        discovered_on=discovered_on,
        affected_total=40,
        entity_role=role,
        law_enforcement_delay=delay,
        low_probability_of_compromise=low,
    )
    return evaluate(facts, clients)


def of_client(determination, key):
    return {
        item.kind: item
        for item in determination.obligations
        if item.detail.get("client_key") == key
    }


def test_a_client_without_a_contract_clause_gets_the_statutory_notice_only():
    found = of_client(run(ClientFacts("client:1", "Elm Clinic")), "client:1")

    assert set(found) == {"ba_to_ce_notice"}
    notice = found["ba_to_ce_notice"]
    assert notice.due_on == date(2026, 5, 1)
    assert notice.citation == "45 CFR 164.410(b)"
    assert notice.detail["binding"] == "statute"
    assert notice.detail["client"] == "Elm Clinic"
    assert notice.detail["business_associate_discovered_on"] == "2026-03-02"


@pytest.mark.parametrize(
    ("count", "unit", "discovered_on", "contract_due", "binding"),
    [
        # Mon + 5 business days: Tue, Wed, Thu, Fri, Mon.
        (5, "business_days", MON, date(2026, 3, 9), "contract"),
        # Wed 2026-07-01: Thu (1), Fri 3 July is Independence Day observed, Mon (2) ... Thu 9.
        (5, "business_days", date(2026, 7, 1), date(2026, 7, 9), "contract"),
        (10, "calendar_days", MON, date(2026, 3, 12), "contract"),
        # Exactly the statute's 60 days: the statute's date, no warning.
        (60, "calendar_days", MON, date(2026, 5, 1), "statute"),
    ],
)
def test_the_contract_deadline_sits_beside_the_statute(
    count, unit, discovered_on, contract_due, binding
):
    determination = run(
        ClientFacts("client:2", "Oak Practice", count, unit), discovered_on=discovered_on
    )
    found = of_client(determination, "client:2")

    contract = found["ba_to_ce_contract"]
    assert contract.due_on == contract_due
    assert contract.detail["binding"] == binding
    assert found["ba_to_ce_notice"].detail["binding"] == binding
    assert found["ba_to_ce_notice"].detail["contract_due_on"] == contract_due.isoformat()
    assert contract.citation == "Business associate agreement with Oak Practice"
    assert "capped_by_statute" not in contract.detail
    assert not [w for w in determination.warnings if "Oak Practice" in w]


def test_a_contract_period_longer_than_the_statute_is_capped_and_warned():
    determination = run(ClientFacts("client:3", "Pine Hospital", 90, "calendar_days"))
    found = of_client(determination, "client:3")

    assert found["ba_to_ce_contract"].due_on == date(2026, 5, 1)
    assert found["ba_to_ce_contract"].detail["capped_by_statute"] == "yes"
    assert found["ba_to_ce_contract"].detail["contract_end_on"] == "2026-05-31"
    assert found["ba_to_ce_notice"].due_on == date(2026, 5, 1)
    (warning,) = [w for w in determination.warnings if w.startswith("Pine Hospital")]
    assert "The statute wins" in warning
    assert "2026-05-31" in warning


def test_three_clients_each_get_their_own_obligations():
    determination = run(
        ClientFacts("client:1", "Elm Clinic"),
        ClientFacts("client:2", "Oak Practice", 5, "business_days"),
        ClientFacts("client:3", "Pine Hospital"),
    )
    keys = sorted(
        (item.detail["client_key"], item.kind)
        for item in determination.obligations
        if "client_key" in item.detail
    )
    assert keys == [
        ("client:1", "ba_to_ce_notice"),
        ("client:2", "ba_to_ce_contract"),
        ("client:2", "ba_to_ce_notice"),
        ("client:3", "ba_to_ce_notice"),
    ]


def test_a_law_enforcement_delay_moves_both_deadlines():
    delay = LawEnforcementDelay("written", date(2026, 3, 5), delay_until=date(2026, 6, 30))
    found = of_client(
        run(ClientFacts("client:2", "Oak Practice", 5, "business_days"), delay=delay), "client:2"
    )

    assert found["ba_to_ce_notice"].due_on == date(2026, 6, 30)
    assert found["ba_to_ce_contract"].due_on == date(2026, 6, 30)
    assert found["ba_to_ce_contract"].detail["binding"] == "statute"


def test_a_delay_stated_after_the_contract_deadline_does_not_move_it():
    delay = LawEnforcementDelay("written", date(2026, 3, 20), delay_until=date(2026, 6, 30))
    found = of_client(
        run(ClientFacts("client:2", "Oak Practice", 5, "business_days"), delay=delay), "client:2"
    )

    assert found["ba_to_ce_contract"].due_on == date(2026, 3, 9)
    assert found["ba_to_ce_notice"].due_on == date(2026, 6, 30)
    assert found["ba_to_ce_contract"].detail["binding"] == "contract"


def test_no_breach_means_no_client_notice():
    determination = run(ClientFacts("client:1", "Elm Clinic"), low=True)

    assert not [item for item in determination.obligations if "client_key" in item.detail]


def test_a_covered_entity_that_is_also_a_business_associate_gets_both():
    determination = run(ClientFacts("client:1", "Elm Clinic"), role="covered_entity")
    kinds = {item.kind for item in determination.obligations}

    assert {"individual_notice", "ba_to_ce_notice"} <= kinds


def test_period_label():
    assert ClientFacts("k", "A", 5, "business_days").period_label == (
        "5 business days after discovery"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": "", "name": "A"}, "clients"),
        ({"key": "k", "name": ""}, "clients"),
        ({"key": "k", "name": "A", "period_count": 5}, "clients.period"),
        ({"key": "k", "name": "A", "period_unit": "business_days"}, "clients.period"),
        ({"key": "k", "name": "A", "period_count": 5, "period_unit": "weeks"}, "clients.period"),
        (
            {**CAL, "period_count": 1.5},
            "clients.period",
        ),
        (
            {**CAL, "period_count": True},
            "clients.period",
        ),
        (
            {**CAL, "period_count": 0},
            "clients.period",
        ),
    ],
)
def test_invalid_client_facts_name_the_field(kwargs, field):
    with pytest.raises(InvalidFacts) as raised:
        ClientFacts(**kwargs)
    assert raised.value.field == field


def test_clients_are_refused_under_an_ftc_role():
    with pytest.raises(InvalidFacts) as raised:
        run(ClientFacts("client:1", "Elm Clinic"), role="phr_vendor")
    assert raised.value.field == "entity_role"


# -- a client that delegates individual notice to us ------------------------------------------


def _delegating(**overrides):
    values = {
        "key": "client:3",
        "name": "Pine Hospital",
        "delegates": True,
        "residents_by_state": {"NY": 600, "NJ": 10},
        "affected_total": 610,
    }
    return ClientFacts(**{**values, **overrides})


@pytest.mark.parametrize(
    ("agent", "notified_on", "individual_due"),
    [
        # Our agency imputes our discovery to the client (164.404(a)(2)).
        (True, date(2026, 3, 20), date(2026, 5, 1)),
        # An independent contractor: its clock runs from our notice to it.
        (False, date(2026, 3, 20), date(2026, 5, 19)),
        # Undetermined: the stricter date, ours, with a warning naming the client.
        (None, None, date(2026, 5, 1)),
    ],
)
def test_a_delegating_client_gets_its_own_notices_from_its_treated_discovery(
    agent, notified_on, individual_due
):
    result = run(_delegating(ba_is_agent=agent, notified_on=notified_on))
    theirs = [o for o in result.obligations if o.detail.get("delegated") == "yes"]
    kinds = {(o.kind, o.jurisdiction) for o in theirs}

    assert ("individual_notice", "US") in kinds
    assert ("hhs_notice", "US") in kinds  # its own 610 people: 500 or more
    assert ("media_notice", "NY") in kinds and ("media_notice", "NJ") not in kinds
    assert any(kind.startswith("state_") for kind, _ in kinds)
    individual = next(o for o in theirs if o.kind == "individual_notice")
    assert individual.due_on == individual_due
    assert individual.detail["client_key"] == "client:3"
    assert individual.reason.startswith("On behalf of Pine Hospital")
    state_keys = {o.detail["client_key"] for o in theirs if o.kind.startswith("state_")}
    assert all(key.startswith("client:3 ") for key in state_keys)
    warned = [w for w in result.warnings if w.startswith("Pine Hospital: Treated discovery")]
    assert bool(warned) == (agent is None)


def test_a_client_that_does_not_delegate_gets_only_the_notice_to_it():
    result = run(_delegating(delegates=False))
    assert {o.kind for o in result.obligations if o.detail.get("client_key")} == {"ba_to_ce_notice"}


def test_a_client_with_fewer_people_than_its_residents_per_state_is_refused():
    with pytest.raises(InvalidFacts, match="fewer people"):
        _delegating(affected_total=5)
