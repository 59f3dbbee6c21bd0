"""State tables MT NC ND NE NH NV OK PA SC UT VA VI WV WY (issue #17, helper R-data-2).

Expected obligations are written by hand from each statute's period (see the rows' sources in
incident_app/rules/states/<CODE>.toml), never computed by the code under test:

- "without unreasonable delay" and similar: no fixed period, so no date (None);
- "simultaneously/concurrently with the notice to residents" (MT, PA): the notice to residents
  is not yet sent, so HIPAA's last allowed individual-notice date, discovery + 60 calendar days;
- "not later than / before the notice to residents" (NE, NH, MT's CRA coordination): the table's
  convention is the day before that last allowed date (a date certainly not after the letters);
- "60 days after notifying residents" (OK from 2026): HIPAA's last allowed individual-notice
  date + 60 calendar days.

Discovery 2025-09-15 (a Monday) unless a case says otherwise; HIPAA's individual-notice outer
date is then 2025-11-14 (Sept 15 + 15 = Sept 30, + 31 = Oct 31, + 14 = Nov 14).
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import evaluate

MINE = frozenset("MT NC ND NE NH NV OK PA SC UT VA VI WV WY".split())
STATE_KINDS = {"state_individual_notice", "state_regulator_notice", "cra_notice"}
IND = "state_individual_notice"
REG = "state_regulator_notice"
CRA = "cra_notice"
SEPT_15 = date(2025, 9, 15)
HIPAA_DUE = date(2025, 11, 14)  # 60 calendar days after 2025-09-15
DAY_BEFORE = date(2025, 11, 13)


def evaluate_states(residents, discovered_on=SEPT_15):
    facts = BreachFacts(
        discovered_on=discovered_on,
        affected_total=sum(residents.values()),
        residents_by_state=residents,
    )
    result = evaluate(facts)
    items = [
        item
        for item in result.obligations
        if item.kind in STATE_KINDS and item.jurisdiction in MINE
    ]
    return items, result.warnings


def summary(items):
    return sorted(
        ((item.kind, item.jurisdiction, item.due_on, item.detail["recipient"]) for item in items),
        key=repr,
    )


CASES = [
    # Montana: residents without a fixed period; AG copy simultaneously with that notice; CRA
    # coordination before the notice (only if the notice points to credit reports).
    (
        "MT",
        {"MT": 5},
        SEPT_15,
        [
            (IND, "MT", None, "residents"),
            (REG, "MT", HIPAA_DUE, "attorney_general"),
            (CRA, "MT", DAY_BEFORE, "consumer_reporting_agencies"),
        ],
        [],
    ),
    # North Carolina: AG Consumer Protection Division for every breach; CRAs above 1,000.
    (
        "NC-1000",
        {"NC": 1000},
        SEPT_15,
        [(IND, "NC", None, "residents"), (REG, "NC", None, "attorney_general")],
        [],
    ),
    (
        "NC-1001",
        {"NC": 1001},
        SEPT_15,
        [
            (IND, "NC", None, "residents"),
            (REG, "NC", None, "attorney_general"),
            (CRA, "NC", None, "consumer_reporting_agencies"),
        ],
        [],
    ),
    # North Dakota: HIPAA entities considered in compliance with ch. 51-30, AG row included.
    ("ND-300", {"ND": 300}, SEPT_15, [], ["North Dakota (ND)", "North Dakota (ND)"]),
    ("ND-250", {"ND": 250}, SEPT_15, [], ["North Dakota (ND)"]),
    # Nebraska: conditional deemer (warning) and the AG no later than the residents' notice.
    (
        "NE",
        {"NE": 5},
        SEPT_15,
        [(REG, "NE", DAY_BEFORE, "attorney_general")],
        ["Nebraska (NE)"],
    ),
    # New Hampshire: AG before the notice to individuals; CRAs above 1,000.
    (
        "NH-1000",
        {"NH": 1000},
        SEPT_15,
        [(IND, "NH", None, "residents"), (REG, "NH", DAY_BEFORE, "attorney_general")],
        [],
    ),
    (
        "NH-1001",
        {"NH": 1001},
        SEPT_15,
        [
            (IND, "NH", None, "residents"),
            (REG, "NH", DAY_BEFORE, "attorney_general"),
            (CRA, "NH", None, "consumer_reporting_agencies"),
        ],
        [],
    ),
    # Nevada: no regulator; CRAs above 1,000.
    ("NV-1000", {"NV": 1000}, SEPT_15, [(IND, "NV", None, "residents")], []),
    (
        "NV-1001",
        {"NV": 1001},
        SEPT_15,
        [(IND, "NV", None, "residents"), (CRA, "NV", None, "consumer_reporting_agencies")],
        [],
    ),
    # Oklahoma straddle (SB 626, effective for breaches discovered from 2026-01-01).
    ("OK-2025-12-31", {"OK": 600}, date(2025, 12, 31), [(IND, "OK", None, "residents")], []),
    (
        # 2026-01-01 + 60 = 2026-03-02 (HIPAA individual outer date); + 60 = 2026-05-01.
        "OK-2026-01-01",
        {"OK": 600},
        date(2026, 1, 1),
        [(REG, "OK", date(2026, 5, 1), "attorney_general")],
        ["Oklahoma (OK)"],
    ),
    ("OK-2026-499", {"OK": 499}, date(2026, 1, 1), [], ["Oklahoma (OK)"]),
    (
        "OK-2026-500",
        {"OK": 500},
        date(2026, 1, 1),
        [(REG, "OK", date(2026, 5, 1), "attorney_general")],
        ["Oklahoma (OK)"],
    ),
    # Pennsylvania straddle (Act 33 of 2024, effective 2024-09-26). Residents: HIPAA deemer.
    ("PA-2024-09-25", {"PA": 600}, date(2024, 9, 25), [], ["Pennsylvania (PA)"]),
    (
        "PA-2024-09-25-cra",
        {"PA": 1001},
        date(2024, 9, 25),
        [(CRA, "PA", None, "consumer_reporting_agencies")],
        ["Pennsylvania (PA)"],
    ),
    (
        # 2024-09-26 + 60 = 2024-11-25 (Sept 26 + 4 = Sept 30, + 31 = Oct 31, + 25 = Nov 25):
        # the AG concurrently with the residents' notice, at its last allowed date.
        "PA-2024-09-26",
        {"PA": 600},
        date(2024, 9, 26),
        [
            (REG, "PA", date(2024, 11, 25), "attorney_general"),
            (CRA, "PA", None, "consumer_reporting_agencies"),
            (IND, "PA", None, "residents"),  # credit monitoring offer (may not apply)
        ],
        ["Pennsylvania (PA)"],
    ),
    (
        "PA-2024-09-26-500",
        {"PA": 500},
        date(2024, 9, 26),
        [(CRA, "PA", None, "consumer_reporting_agencies"), (IND, "PA", None, "residents")],
        ["Pennsylvania (PA)"],
    ),
    # South Carolina: Department of Consumer Affairs and CRAs at 1,000 (conservative reading).
    ("SC-999", {"SC": 999}, SEPT_15, [(IND, "SC", None, "residents")], []),
    (
        "SC-1000",
        {"SC": 1000},
        SEPT_15,
        [
            (IND, "SC", None, "residents"),
            (REG, "SC", None, "other_regulator"),
            (CRA, "SC", None, "consumer_reporting_agencies"),
        ],
        [],
    ),
    # Utah: AG and Utah Cyber Center at 500, CRAs at 1,000, from 2023-05-03.
    ("UT-499", {"UT": 499}, SEPT_15, [(IND, "UT", None, "residents")], []),
    (
        "UT-1000",
        {"UT": 1000},
        SEPT_15,
        [
            (IND, "UT", None, "residents"),
            (REG, "UT", None, "attorney_general"),
            (REG, "UT", None, "other_regulator"),
            (CRA, "UT", None, "consumer_reporting_agencies"),
        ],
        [],
    ),
    ("UT-2023-05-02", {"UT": 1000}, date(2023, 5, 2), [(IND, "UT", None, "residents")], []),
    # Virginia: AG for every breach; CRAs above 1,000; 32.1-127.1:05 rows kept as may-not-apply.
    (
        "VA-5",
        {"VA": 5},
        SEPT_15,
        [
            (IND, "VA", None, "residents"),
            (IND, "VA", None, "residents"),
            (REG, "VA", None, "attorney_general"),
            (REG, "VA", None, "attorney_general"),
        ],
        [],
    ),
    (
        "VA-1001",
        {"VA": 1001},
        SEPT_15,
        [
            (IND, "VA", None, "residents"),
            (IND, "VA", None, "residents"),
            (REG, "VA", None, "attorney_general"),
            (REG, "VA", None, "attorney_general"),
            (CRA, "VA", None, "consumer_reporting_agencies"),
        ],
        [],
    ),
    # Virgin Islands: residents only.
    ("VI", {"VI": 3}, SEPT_15, [(IND, "VI", None, "residents")], []),
    # West Virginia: no AG; CRAs above 1,000.
    (
        "WV-1001",
        {"WV": 1001},
        SEPT_15,
        [(IND, "WV", None, "residents"), (CRA, "WV", None, "consumer_reporting_agencies")],
        [],
    ),
    # Wyoming: HIPAA deemer since 2015-07-01: a warning, no deadline.
    ("WY", {"WY": 5}, SEPT_15, [], ["Wyoming (WY)"]),
    ("WY-2015-06-30", {"WY": 5}, date(2015, 6, 30), [(IND, "WY", None, "residents")], []),
]


@pytest.mark.parametrize(
    ("residents", "discovered_on", "expected", "warned"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_state_rows(residents, discovered_on, expected, warned):
    items, warnings = evaluate_states(residents, discovered_on)

    assert summary(items) == sorted(expected, key=repr)
    for prefix in set(warned):
        assert sum(warning.startswith(prefix) for warning in warnings) == warned.count(prefix)


def test_every_jurisdiction_of_mine_is_covered_by_a_case():
    assert {code for _, residents, *_ in CASES for code in residents} == MINE


@pytest.mark.parametrize(
    ("residents", "rule_id", "words"),
    [
        ({"VA": 5}, "VA-32.1-127.1-05-residents", "public bodies"),
        ({"VA": 5}, "VA-32.1-127.1-05-ag", "business associates"),
        ({"MT": 5}, "MT-30-14-1704-cra-coordination", "credit file"),
    ],
)
def test_may_not_apply_rows_still_yield_an_obligation_that_says_so(residents, rule_id, words):
    items, _ = evaluate_states(residents)

    (item,) = [item for item in items if item.detail["rule_id"] == rule_id]
    assert words in item.detail["may_not_apply"]
    assert item.reason.startswith("may not apply: ")


def test_pennsylvania_credit_monitoring_row_says_when_it_applies():
    items, _ = evaluate_states({"PA": 600}, date(2024, 9, 26))

    (item,) = [i for i in items if i.detail["rule_id"] == "PA-credit-monitoring-2024"]
    assert "Social Security number" in item.detail["may_not_apply"]


@pytest.mark.parametrize(
    ("residents", "discovered_on", "words"),
    [
        ({"ND": 5}, SEPT_15, "45 CFR Part 164 Subpart D"),
        ({"WY": 5}, SEPT_15, "HIPAA covered entity or business associate"),
        ({"PA": 5}, SEPT_15, "2305c"),
        ({"NE": 5}, SEPT_15, "AND the Attorney General"),
        ({"OK": 5}, date(2026, 1, 1), "gives the Attorney General"),
    ],
)
def test_deemer_warnings_name_the_condition(residents, discovered_on, words):
    _, warnings = evaluate_states(residents, discovered_on)

    assert any(words in warning for warning in warnings)


def test_oklahoma_ag_row_is_counted_from_the_recorded_residents_notice():
    # The AG clock runs 60 days from the actual notice to residents once it is recorded:
    # notice sent 2026-02-10, AG due 2026-04-11 (Feb 10 + 18 = Feb 28, + 31 = Mar 31, + 11).
    from incident_app.rules import NoticesSent

    facts = BreachFacts(
        discovered_on=date(2026, 1, 1),
        affected_total=600,
        residents_by_state={"OK": 600},
        notices_sent=NoticesSent(individuals_on=date(2026, 2, 10)),
    )
    result = evaluate(facts)

    (item,) = [i for i in result.obligations if i.detail.get("rule_id") == "OK-24-163-ag-2026"]
    assert item.due_on == date(2026, 4, 11)
