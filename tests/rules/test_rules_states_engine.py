"""State engine semantics (issue #17) on small hand-made tables, independent of the shipped data.

Every expected date is worked out by hand in the comment beside it. Discovery is Monday
2025-09-15 unless a case says otherwise; the HIPAA individual and HHS deadlines handed to
the state clock are 2025-11-14 (60 days).
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import NoticesSent
from incident_app.rules import evaluate
from incident_app.rules.overlay import StateClock
from incident_app.rules.overlay import state_obligations
from incident_app.rules.state_table import Clock
from incident_app.rules.state_table import Jurisdiction
from incident_app.rules.state_table import StateRule

DISCOVERY = date(2025, 9, 15)
HIPAA_DUE = date(2025, 11, 14)


def rule(code="TX", rule_id="x", **change):
    start = change.pop("clock_start", "discovery")
    length, unit = change.pop("length", 30), change.pop("unit", "calendar")
    values = {
        "id": f"{code}-{rule_id}",
        "state": code,
        "statute": "Test Stat. 1",
        "statute_url": "https://example.org/1",
        "recipient": "residents",
        "recipient_name": "affected residents",
        "threshold": 1,
        "threshold_operator": ">=",
        "clock_start": start,
        "trigger": "the event",
        "hipaa_deemed_compliant": "no",
        "confidence": "[S]",
        "checked_against": "secondary",
        "checked_on": date(2026, 12, 6),
        "source": "hand-made",
        "clock": Clock(start, length, unit)
        if start in ("discovery", "hhs_notice", "individual_notice")
        else None,
    }
    return StateRule(**{**values, **change})


def table(*rules, code="TX", **head):
    values = {
        "code": code,
        "name": "Testland",
        "statute": "Test Stat. 1",
        "statute_url": "https://example.org/1",
        "hipaa_interplay": "unknown",
    }
    return {code: Jurisdiction(**{**values, **head}, rules=tuple(rules))}


def run(states, residents, discovery=DISCOVERY, **notices):
    clock = StateClock(
        discovery=discovery,
        residents_by_state=residents,
        hipaa_individual_due=HIPAA_DUE,
        hipaa_hhs_due=HIPAA_DUE,
        law_enforcement_delay=False,
        **notices,
    )
    return state_obligations(clock, states)


def dues(states, residents, **kwargs):
    obligations, _ = run(states, residents, **kwargs)
    return {item.detail["rule_id"]: item.due_on for item in obligations}


AG = {"recipient": "attorney_general", "recipient_name": "the Attorney General"}


@pytest.mark.parametrize(
    ("rules", "kwargs", "expected"),
    [
        # 30 calendar days after discovery: 2025-09-15 + 30 = 2025-10-15.
        ([rule()], {}, {"TX-x": date(2025, 10, 15)}),
        # 5 NY business days from Thursday 2025-11-06: Fri 7, Mon 10, (Tue 11 Veterans Day),
        # Wed 12, Thu 13, Fri 14.
        (
            [rule("NY", clock_start="hhs_notice", length=5, unit="business")],
            {"hhs_notified_on": date(2025, 11, 6)},
            {"NY-x": date(2025, 11, 14)},
        ),
        # 30 days after notice to HHS, not yet sent: from its last allowed day 2025-11-14.
        ([rule(clock_start="hhs_notice", **AG)], {}, {"TX-x": date(2025, 12, 14)}),
        # ... and from the actual notice, sent 2025-10-01: 2025-10-31.
        (
            [rule(clock_start="hhs_notice", **AG)],
            {"hhs_notified_on": date(2025, 10, 1)},
            {"TX-x": date(2025, 10, 31)},
        ),
        # 10 days after notice to individuals, HIPAA's last day 2025-11-14: 2025-11-24.
        (
            [rule(clock_start="individual_notice", length=10, **AG)],
            {},
            {"TX-x": date(2025, 11, 24)},
        ),
        # The state's own 30-day resident deadline (2025-10-15) is earlier: 2025-10-25.
        (
            [rule(rule_id="r"), rule(clock_start="individual_notice", length=10, **AG)],
            {},
            {"TX-r": date(2025, 10, 15), "TX-x": date(2025, 10, 25)},
        ),
        # Individuals actually notified 2025-10-03: 2025-10-13.
        (
            [rule(clock_start="individual_notice", length=10, **AG)],
            {"individuals_notified_on": date(2025, 10, 3)},
            {"TX-x": date(2025, 10, 13)},
        ),
        # No later than the notice to residents: the day before HIPAA's 2025-11-14 ...
        ([rule(clock_start="before_individual_notice", **AG)], {}, {"TX-x": date(2025, 11, 13)}),
        # ... or the day the residents were actually notified.
        (
            [rule(clock_start="before_individual_notice", **AG)],
            {"individuals_notified_on": date(2025, 10, 3)},
            {"TX-x": date(2025, 10, 3)},
        ),
        # No fixed period.
        ([rule(clock_start="none")], {}, {"TX-x": None}),
    ],
)
def test_clock_shapes(rules, kwargs, expected):
    assert dues(table(*rules, code=rules[0].state), {rules[0].state: 5}, **kwargs) == expected


VT_PRELIMINARY = rule(
    "VT",
    **AG,
    length=14,
    unit="business",
    alt_clock=Clock("individual_notice", 0, "calendar"),
)


@pytest.mark.parametrize(
    ("notified", "expected", "says"),
    [
        # 14 VT business days from Wednesday 2025-10-01 (Columbus Day is not a VT holiday):
        # Oct 2, 3, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 20, 21 -> 2025-10-21. Residents not
        # yet notified (last allowed 2025-11-14): the 14-day clock ends first.
        (None, date(2025, 10, 21), "the main clock ends first"),
        # Residents notified 2025-10-10, before the 14 business days run out: that day.
        (date(2025, 10, 10), date(2025, 10, 10), "the alternative clock"),
    ],
)
def test_whichever_is_sooner(notified, expected, says):
    obligations, _ = run(
        table(VT_PRELIMINARY, code="VT"),
        {"VT": 1},
        discovery=date(2025, 10, 1),
        individuals_notified_on=notified,
    )

    (item,) = obligations
    assert item.due_on == expected
    assert says in item.detail["basis"]
    assert "whichever is sooner" in item.reason


def test_an_estimated_clock_says_it_will_be_recomputed():
    obligations, _ = run(table(rule(clock_start="hhs_notice", **AG)), {"TX": 5})

    basis = obligations[0].detail["basis"]
    assert "last allowed date of the notice to HHS (2025-11-14)" in basis
    assert "recomputed when the notice is recorded" in basis


STRADDLE = (
    rule(rule_id="old", clock_start="none", effective_until=date(2025, 12, 31)),
    rule(rule_id="new", effective_from=date(2026, 1, 1)),
)


@pytest.mark.parametrize(
    ("discovery", "expected"),
    [
        (date(2025, 12, 31), {"TX-old": None}),
        # 2026-01-01 + 30 = 2026-01-31.
        (date(2026, 1, 1), {"TX-new": date(2026, 1, 31)}),
    ],
)
def test_effective_dates_straddling_a_discovery(discovery, expected):
    assert dues(table(*STRADDLE), {"TX": 5}, discovery=discovery) == expected


def test_yes_deemer_is_a_warning_naming_statute_and_condition():
    deemed = rule(hipaa_deemed_compliant="yes", deemer="the entity complies with HIPAA")

    obligations, warnings = run(table(deemed), {"TX": 5})

    assert obligations == []
    assert warnings == [
        "Testland (TX): Test Stat. 1 — notice to affected residents: deemed compliant if the "
        "entity complies with HIPAA [S]. No separate deadline is computed; the HIPAA notices "
        "satisfy it. Confirm with counsel (TX-x)."
    ]


def test_conditional_deemer_yields_the_condition_as_an_obligation():
    residents = rule(
        rule_id="r",
        clock_start="none",
        hipaa_deemed_compliant="conditional",
        deemer="the entity notifies the AG within 30 days of notifying HHS",
    )
    condition = rule(rule_id="ag", clock_start="hhs_notice", **AG)

    obligations, warnings = run(table(residents, condition), {"TX": 5})

    assert [(item.kind, item.due_on) for item in obligations] == [
        ("state_regulator_notice", date(2025, 12, 14))
    ]
    (warning,) = warnings
    assert "deemed compliant if the entity notifies the AG within 30 days" in warning
    assert "listed as its own obligation" in warning


def test_partial_deemer_keeps_the_obligation_and_says_why():
    partial = rule(hipaa_deemed_compliant="partial", deemer="content only")

    obligations, warnings = run(table(partial), {"TX": 5})

    assert obligations[0].detail["deemer"] == "content only"
    assert warnings == []


CRA = rule(
    rule_id="cra",
    recipient="consumer_reporting_agencies",
    recipient_name="the nationwide consumer reporting agencies",
    threshold=1000,
    threshold_operator=">",
    clock_start="none",
)


@pytest.mark.parametrize(("residents", "expected"), [(1000, []), (1001, ["cra_notice"])])
def test_cra_threshold_more_than_1000(residents, expected):
    obligations, _ = run(table(rule(), CRA), {"TX": residents})

    cra = [item for item in obligations if item.kind == "cra_notice"]
    assert [item.kind for item in cra] == expected
    assert all(item.detail["recipient"] == "consumer_reporting_agencies" for item in cra)


@pytest.mark.parametrize(
    ("applicability", "row", "expected"),
    [
        ("covers government bodies only", "", "covers government bodies only"),
        ("", "only electronic data", "only electronic data"),
        ("covers brokers", "only licensees", "covers brokers; only licensees"),
    ],
)
def test_may_not_apply_still_yields_the_obligation(applicability, row, expected):
    states = table(rule(may_not_apply=row), applicability=applicability)

    (item,) = run(states, {"TX": 5})[0]

    assert item.detail["may_not_apply"] == expected
    assert item.reason.startswith(f"may not apply: {expected}. 5 TX resident(s)")


def test_without_doubt_there_is_no_may_not_apply():
    (item,) = run(table(rule()), {"TX": 5})[0]

    assert "may_not_apply" not in item.detail
    assert item.reason.startswith("5 TX resident(s)")


@pytest.mark.parametrize(
    ("states", "residents", "expected"),
    [
        # A row whose threshold is not met: the state is still answered for.
        (
            table(rule(threshold=500, threshold_operator=">", **AG)),
            {"TX": 10},
            "Testland (TX): Test Stat. 1 — no notice duty reachable from these facts (10 "
            "resident(s); the Attorney General: more than 500). Confirm with counsel.",
        ),
        (
            table(),
            {"TX": 3},
            "Testland (TX): Test Stat. 1 — no notice duty reachable from these facts (3 "
            "resident(s); no notice duty is recorded). Confirm with counsel.",
        ),
        (
            table(rule()),
            {"AS": 2},
            "AS: 2 resident(s) affected, but BreachDesk has no breach-notification table for "
            "this jurisdiction: check its law with counsel.",
        ),
    ],
)
def test_never_silence(states, residents, expected):
    assert run(states, residents) == ([], [expected])


def test_no_residents_no_answer():
    assert run(table(rule()), {"TX": 0}) == ([], [])


@pytest.mark.parametrize(
    ("confidence", "checked_against", "flagged"),
    [("[V]", "statute", False), ("[V]", "secondary", True), ("[M]", "secondary", True)],
)
def test_verify_with_counsel_mark(confidence, checked_against, flagged):
    states = table(rule(confidence=confidence, checked_against=checked_against))

    (item,) = run(states, {"TX": 5})[0]

    assert ("verify_with_counsel" in item.detail) is flagged
    assert item.detail["checked_against"] == checked_against
    assert item.detail["statute_url"] == "https://example.org/1"


def test_recording_the_hhs_notice_moves_the_new_york_copy_through_evaluate():
    def ny_copy(notices):
        facts = BreachFacts(
            discovered_on=DISCOVERY,
            affected_total=1500,
            residents_by_state={"NY": 10},
            notices_sent=notices,
        )
        (item,) = [
            item
            for item in evaluate(facts).obligations
            if item.detail.get("rule_id") == "NY-899-aa-9-ag-hhs-copy"
        ]
        return item.due_on

    # HHS's last allowed day 2025-11-14 (Fri) + 5 NY business days: 17, 18, 19, 20, 21.
    assert ny_copy(None) == date(2025, 11, 21)
    assert ny_copy(NoticesSent(individuals_on=date(2025, 10, 1))) == date(2025, 11, 21)
    # Sent Wednesday 2025-10-01: Oct 2, 3, 6, 7, 8.
    assert ny_copy(NoticesSent(hhs_on=date(2025, 10, 1))) == date(2025, 10, 8)
