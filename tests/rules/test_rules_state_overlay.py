"""The state overlay (REGULATORY.md §4): extra obligations, never a change to HIPAA's.

Expected dates are worked out by hand, business days with the state's holiday list.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import evaluate
from incident_app.rules.state_table import state_rules

REQUIRED_STATES = {
    "CA", "NY", "TX", "CO", "FL", "WA", "ME", "VT", "RI", "OR", "MD", "IN", "TN", "NM", "AL",
    "AZ", "OH", "WI", "PR", "CT", "DE", "LA", "SD", "IL", "MA", "NJ",
}  # fmt: skip
STATE_KINDS = {"state_individual_notice", "state_regulator_notice"}


def state_items(residents, discovered_on=date(2025, 9, 15), affected=None, **kwargs):
    facts = BreachFacts(
        discovered_on=discovered_on,
        affected_total=sum(residents.values()) if affected is None else affected,
        residents_by_state=residents,
        **kwargs,
    )
    result = evaluate(facts)
    return [item for item in result.obligations if item.kind in STATE_KINDS], result


def by_rule(items):
    return {item.detail["rule_id"]: item.due_on for item in items}


def test_table_covers_every_state_in_regulatory_md():
    assert {rule.state for rule in state_rules()} >= REQUIRED_STATES


def test_every_row_carries_citation_source_confidence_and_verification_date():
    for rule in state_rules():
        assert rule.statute and rule.source and rule.recipient_name and rule.trigger
        assert rule.confidence in ("[V]", "[S]", "[M]")
        assert rule.checked_against in ("statute", "secondary")
        assert isinstance(rule.checked_on, date)
        assert rule.statute_url.startswith(("https://", "http://"))


@pytest.mark.parametrize(
    ("residents", "expected"),
    [
        # TX AG at 250 or more, 30 days after determination (counted from discovery).
        ({"TX": 249}, {"TX-521.053-residents": date(2025, 11, 14)}),
        (
            {"TX": 250},
            {"TX-521.053-residents": date(2025, 11, 14), "TX-521.053-ag": date(2025, 10, 15)},
        ),
        # CO AG at 500 or more.
        ({"CO": 499}, {"CO-6-1-716-residents": date(2025, 10, 15)}),
        (
            {"CO": 500},
            {"CO-6-1-716-residents": date(2025, 10, 15), "CO-6-1-716-ag": date(2025, 10, 15)},
        ),
        # WA: a covered entity complying with HITECH is deemed compliant for residents (a
        # warning); the AG (more than 500) is told on the HITECH timeline, with the individual
        # notice due 2025-11-14.
        ({"WA": 500}, {}),
        ({"WA": 501}, {"WA-19.255.010-ag": date(2025, 11, 14)}),
        # FL 30 days, AG at 500 or more.
        ({"FL": 499}, {"FL-501.171-residents": date(2025, 10, 15)}),
        # Maryland: 45 days; the AG must hear of it before the individuals do.
        (
            {"MD": 5},
            {"MD-14-3504-residents": date(2025, 10, 30), "MD-14-3504-ag": date(2025, 10, 29)},
        ),
        # Louisiana AG within 10 days of distributing the (60-day) notice.
        (
            {"LA": 5},
            {"LA-51-3074-residents": date(2025, 11, 14), "LA-51-3074-ag": date(2025, 11, 24)},
        ),
        # New Jersey: no fixed resident period; State Police before the individuals (HIPAA's
        # 60-day date applies, so the day before it).
        (
            {"NJ": 5},
            {"NJ-56-8-163-residents": None, "NJ-56-8-163-state-police": date(2025, 11, 13)},
        ),
        # Connecticut: residents deemed satisfied by HIPAA; AG no later than the residents.
        ({"CT": 5}, {"CT-36a-701b-ag": date(2025, 11, 14)}),
        # Puerto Rico DACO: 10 days of detection.
        ({"PR": 5}, {"PR-residents": None, "PR-daco": date(2025, 9, 25)}),
        # Vermont 45 days for residents (2025-10-30); AG preliminary notice 14 VT business days
        # (Sep 16 ... Oct 3), sooner than the consumer notice; the AG copy of the consumer
        # notice goes with it (2025-10-30).
        (
            {"VT": 1},
            {
                "VT-2435-residents": date(2025, 10, 30),
                "VT-2435-ag-preliminary": date(2025, 10, 3),
                "VT-2435-ag-consumer-notice": date(2025, 10, 30),
            },
        ),
        ({"TN": 900}, {}),  # HIPAA entities exempt
    ],
)
def test_state_deadlines(residents, expected):
    items, _ = state_items(residents)

    assert by_rule(items) == expected


def test_texas_ag_row_details_carry_confidence_source_and_verification():
    items, _ = state_items({"TX": 900})

    (ag,) = [item for item in items if item.detail["rule_id"] == "TX-521.053-ag"]
    assert ag.kind == "state_regulator_notice"
    assert ag.jurisdiction == "TX"
    assert ag.citation == "Tex. Bus. & Com. Code 521.053"
    assert ag.detail["confidence"] == "[S]"
    assert ag.detail["source"]
    assert ag.detail["last_verified"] == "2026-11-28"
    assert ag.detail["threshold"] == "at least 250 residents of TX"
    assert "conservative" in ag.detail["basis"]


@pytest.mark.parametrize(
    ("discovered_on", "residents", "expected"),
    [
        # From 2026-01-01: 30 days to residents; AG sample copy for more than 500, within 15
        # days of notifying consumers (assumed on the 30th day, 2026-02-09).
        (
            date(2026, 1, 10),
            {"CA": 500},
            {
                "CA-1798.82-residents-2026": date(2026, 2, 9),
                "CA-HS-1280.15-patients": date(2026, 2, 2),
                "CA-HS-1280.15-cdph": date(2026, 2, 2),
            },
        ),
        (
            date(2026, 1, 10),
            {"CA": 501},
            {
                "CA-1798.82-residents-2026": date(2026, 2, 9),
                "CA-1798.82-ag-2026": date(2026, 2, 24),
                "CA-HS-1280.15-patients": date(2026, 2, 2),
                "CA-HS-1280.15-cdph": date(2026, 2, 2),
            },
        ),
        # Before 2026: no fixed period under 1798.82.
        (
            date(2025, 12, 20),
            {"CA": 501},
            {
                "CA-1798.82-residents-pre2026": None,
                "CA-1798.82-ag-pre2026": None,
                "CA-HS-1280.15-patients": date(2026, 1, 13),
                "CA-HS-1280.15-cdph": date(2026, 1, 13),
            },
        ),
        # Thanksgiving week: CA also closes the day after Thanksgiving.
        (
            date(2025, 11, 20),
            {"CA": 10},
            {
                "CA-1798.82-residents-pre2026": None,
                "CA-HS-1280.15-patients": date(2025, 12, 15),
                "CA-HS-1280.15-cdph": date(2025, 12, 15),
            },
        ),
        # Before 2015, 1280.15 allowed 5 business days.
        (
            date(2014, 6, 2),
            {"CA": 10},
            {
                "CA-1798.82-residents-pre2026": None,
                "CA-HS-1280.15-patients-pre2015": date(2014, 6, 9),
                "CA-HS-1280.15-cdph-pre2015": date(2014, 6, 9),
            },
        ),
    ],
)
def test_california(discovered_on, residents, expected):
    items, _ = state_items(residents, discovered_on=discovered_on)

    assert by_rule(items) == expected


def test_business_day_detail_lists_the_holidays_skipped():
    items, _ = state_items({"CA": 10}, discovered_on=date(2025, 11, 20))

    (cdph,) = [item for item in items if item.detail["rule_id"] == "CA-HS-1280.15-cdph"]
    assert cdph.detail["holidays_skipped"] == (
        "2025-11-27 Thanksgiving Day, 2025-11-28 Day After Thanksgiving"
    )


def test_business_day_detail_says_none_when_no_holiday_falls_inside():
    items, _ = state_items({"VT": 1}, discovered_on=date(2025, 10, 1))

    (prelim,) = [i for i in items if i.detail["rule_id"] == "VT-2435-ag-preliminary"]
    assert prelim.due_on == date(2025, 10, 21)
    assert prelim.detail["holidays_skipped"] == "none"


@pytest.mark.parametrize(
    ("discovered_on", "affected", "residents", "expected_due"),
    [
        # 500 or more: HHS due with the individual notice on 2025-11-14 (Friday), then 5 NY
        # business days.
        (date(2025, 9, 15), 1500, {"NY": 10}, date(2025, 11, 21)),
        # HHS due 2025-11-04 (NY Election Day); Veterans Day 2025-11-11 is skipped.
        (date(2025, 9, 5), 1500, {"NY": 10}, date(2025, 11, 12)),
        # Fewer than 500: the annual log is due Sunday 2026-03-01.
        (date(2025, 9, 15), 300, {"NY": 250}, date(2026, 3, 6)),
    ],
)
def test_new_york_ag_copy_within_5_business_days_of_notifying_hhs(
    discovered_on, affected, residents, expected_due
):
    items, _ = state_items(residents, discovered_on=discovered_on, affected=affected)

    (copy,) = [item for item in items if item.detail["rule_id"] == "NY-899-aa-9-ag-hhs-copy"]
    assert copy.due_on == expected_due
    assert "recompute" in copy.detail["basis"]


def test_illinois_ag_within_5_business_days_of_hhs_and_residents_deemed_compliant():
    items, result = state_items({"IL": 10}, affected=300)

    # Annual log 2026-03-01 (Sunday); Casimir Pulaski Day 2026-03-02 is an IL holiday.
    assert by_rule(items) == {"IL-815-530-50-ag": date(2026, 3, 9)}
    assert any(w.startswith("Illinois (IL): 815 ILCS 530 — ") for w in result.warnings)


def test_new_mexico_is_exempt_but_says_so():
    items, result = state_items({"NM": 1001})

    assert items == []
    notes = [w for w in result.warnings if w.startswith("New Mexico (NM):")]
    assert len(notes) == 3  # residents, AG and consumer reporting agencies


def test_no_fixed_period_explains_and_points_to_hipaa_date():
    items, _ = state_items({"MA": 3})

    assert [item.due_on for item in items] == [None, None]
    assert all("2025-11-14" in item.detail["basis"] for item in items)


def test_hipaa_obligations_never_change_because_of_the_overlay():
    def hipaa(residents):
        facts = BreachFacts(
            discovered_on=date(2025, 9, 15), affected_total=900, residents_by_state=residents
        )
        return [
            dataclasses.replace(item, jurisdiction="?", reason="", detail={})
            for item in evaluate(facts).obligations
            if item.kind not in STATE_KINDS
        ]

    assert hipaa({"CA": 900}) == hipaa({"AS": 900}) == hipaa({"NY": 900})


def test_state_clock_from_discovery_ignores_hipaa_law_enforcement_delay():
    delay = LawEnforcementDelay("written", date(2025, 10, 1), delay_until=date(2025, 12, 31))

    items, _ = state_items({"TX": 300, "NJ": 5}, law_enforcement_delay=delay)

    rules = {item.detail["rule_id"]: item for item in items}
    assert rules["TX-521.053-ag"].due_on == date(2025, 10, 15)
    assert "not applied" in rules["TX-521.053-ag"].detail["law_enforcement_delay"]
    # Tied to the (delayed) HIPAA individual deadline, 2025-12-31.
    assert rules["NJ-56-8-163-state-police"].due_on == date(2025, 12, 30)
    assert "law_enforcement_delay" not in rules["NJ-56-8-163-state-police"].detail


def test_not_reportable_means_no_state_obligations_but_a_caveat():
    items, result = state_items({"CA": 900}, phi_secured=True)

    assert items == []
    assert any("State breach laws" in w for w in result.warnings)


def test_states_are_listed_after_hipaa_and_sorted():
    _, result = state_items({"TX": 300, "MD": 5, "CO": 5})

    jurisdictions = [i.jurisdiction for i in result.obligations if i.kind in STATE_KINDS]
    assert jurisdictions == sorted(jurisdictions)
    assert result.obligations[0].kind == "individual_notice"
