"""The shipped table after the issue #17 review: the defects it found, CRA rows, and every one
of the 26 jurisdictions migrated from state_rules.toml at least once.

Dates by hand. Discovery is Monday 2025-09-15 unless a case says otherwise: HIPAA's 60-day
individual deadline is then 2025-11-14; 30 days is 2025-10-15, 45 days 2025-10-30.
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import NoticesSent
from incident_app.rules import evaluate

STATE_KINDS = {"state_individual_notice", "state_regulator_notice", "cra_notice"}
DISCOVERY = date(2025, 9, 15)


def run(residents, discovered_on=DISCOVERY, **kwargs):
    facts = BreachFacts(
        discovered_on=discovered_on,
        affected_total=sum(residents.values()),
        residents_by_state=residents,
        **kwargs,
    )
    result = evaluate(facts)
    items = {
        item.detail["rule_id"]: item for item in result.obligations if item.kind in STATE_KINDS
    }
    return items, result.warnings


def dues(residents, **kwargs):
    return {rule_id: item.due_on for rule_id, item in run(residents, **kwargs)[0].items()}


def about(warnings, name):
    return [warning for warning in warnings if warning.startswith(name)]


@pytest.mark.parametrize(
    ("residents", "expected"),
    [
        ({"AL": 5}, {"AL-8-38-5-residents": date(2025, 10, 30)}),
        ({"AZ": 5}, {}),  # HIPAA entities exempt: warnings only
        ({"DE": 5}, {}),  # conditional deemer; AG only above 500
        ({"IN": 5}, {"IN-24-4.9-3-3-residents": date(2025, 10, 30), "IN-24-4.9-ag": None}),
        ({"ME": 5}, {"ME-1346-residents": date(2025, 10, 15), "ME-1346-ag": None}),
        ({"OH": 5}, {"OH-1349.19-residents": date(2025, 10, 30)}),
        ({"OR": 5}, {}),  # conditional deemer; AG only above 250
        ({"RI": 5}, {"RI-11-49.3-4-residents": date(2025, 10, 30)}),
        ({"SD": 5}, {"SD-22-40-20-residents": date(2025, 11, 14), "SD-22-40-cra": None}),
        ({"WI": 5}, {"WI-134.98-residents": date(2025, 10, 30)}),
    ],
)
def test_migrated_jurisdictions_not_covered_elsewhere(residents, expected):
    assert dues(residents) == expected


@pytest.mark.parametrize("code", ["AZ", "DE", "OR", "TN", "NM", "CT", "IL", "WA"])
def test_deemed_jurisdictions_are_never_silent(code):
    _, warnings = run({code: 5})

    assert [w for w in warnings if f"({code}):" in w and "deemed compliant if" in w]


@pytest.mark.parametrize(
    ("notices", "expected"),
    [
        # 14 VT business days after Wednesday 2025-10-01 end on 2025-10-21 (Columbus Day is
        # not a VT holiday); residents not yet notified, their deadline is 2025-11-15.
        (None, {"prelim": date(2025, 10, 21), "copy": date(2025, 11, 15)}),
        # Residents notified 2025-10-10: sooner than the 14 business days.
        (
            NoticesSent(individuals_on=date(2025, 10, 10)),
            {"prelim": date(2025, 10, 10), "copy": date(2025, 10, 10)},
        ),
    ],
)
def test_vermont_preliminary_notice_whichever_is_sooner(notices, expected):
    items, _ = run({"VT": 3}, discovered_on=date(2025, 10, 1), notices_sent=notices)

    assert items["VT-2435-ag-preliminary"].due_on == expected["prelim"]
    assert items["VT-2435-ag-consumer-notice"].due_on == expected["copy"]
    assert "attestation changes the timing" in items["VT-2435-ag-preliminary"].detail["note"]
    assert items["VT-2435-residents"].detail["checked_against"] == "statute"


@pytest.mark.parametrize(
    ("count", "expected"),
    # More than 250: the AG within 45 days of discovery, 2025-10-30.
    [(250, {}), (251, {"OR-646A.604-ag": date(2025, 10, 30)})],
)
def test_oregon_ag_has_the_45_day_limit(count, expected):
    items, warnings = run({"OR": count})

    assert {key: item.due_on for key, item in items.items()} == expected
    assert about(warnings, "Oregon (OR): ORS 646A.604 — notice to affected Oregon")


@pytest.mark.parametrize(
    ("count", "notices", "expected"),
    [
        (500, None, {}),
        # More than 500: no later than the resident notice, HIPAA's 2025-11-14 ...
        (501, None, {"DE-12B-102-ag": date(2025, 11, 14)}),
        # ... or the day the residents were actually notified.
        (
            501,
            NoticesSent(individuals_on=date(2025, 10, 20)),
            {"DE-12B-102-ag": date(2025, 10, 20)},
        ),
    ],
)
def test_delaware_ag_no_later_than_the_resident_notice(count, notices, expected):
    assert dues({"DE": count}, notices_sent=notices) == expected


@pytest.mark.parametrize(
    ("discovered_on", "count", "deemed_rows", "obligations"),
    [
        # Since HB 2154 (2018-08-03): AG and the three largest CRAs above 1,000, HIPAA exempt.
        (date(2020, 3, 2), 1001, ["residents", "ag", "cra"], {}),
        (date(2020, 3, 2), 1000, ["residents"], {}),
        # HB 2146 added the Director of Homeland Security (from 2022-09-24).
        (DISCOVERY, 1001, ["residents", "ag", "cra", "dohs"], {}),
        # Before 2018-08-03: the old 18-545, no fixed period, no exemption known.
        (date(2018, 8, 2), 1001, [], {"AZ-18-545-residents-pre2018": None}),
    ],
)
def test_arizona_second_recipient_and_hipaa_exemption(
    discovered_on, count, deemed_rows, obligations
):
    assert dues({"AZ": count}, discovered_on=discovered_on) == obligations
    _, warnings = run({"AZ": count}, discovered_on=discovered_on)
    deemed = about(warnings, "Arizona (AZ): A.R.S. 18-552 (definitions in 18-551) — notice to")
    assert sorted(w.rsplit("(AZ-18-552-", 1)[1].rstrip(").") for w in deemed) == sorted(deemed_rows)
    assert all("HIPAA covered entity or business associate" in w for w in deemed)


@pytest.mark.parametrize(
    ("notices", "expected"),
    [
        (None, date(2025, 11, 14)),  # with HIPAA's individual notice
        (NoticesSent(individuals_on=date(2025, 10, 1)), date(2025, 10, 1)),
    ],
)
def test_washington_hitech_deemer_and_ag_on_the_hitech_timeline(notices, expected):
    items, warnings = run({"WA": 501}, notices_sent=notices)

    assert {key: item.due_on for key, item in items.items()} == {"WA-19.255.010-ag": expected}
    (deemer,) = about(warnings, "Washington (WA): RCW 19.255.010")
    assert "complies with HITECH 13402" in deemer


@pytest.mark.parametrize(
    ("notices", "expected"),
    [
        # Residents within 60 days (2025-11-14), the AG within 10 days of that: 2025-11-24.
        (None, date(2025, 11, 24)),
        # Residents notified 2025-10-01: the AG by 2025-10-11.
        (NoticesSent(individuals_on=date(2025, 10, 1)), date(2025, 10, 11)),
    ],
)
def test_louisiana_ag_rule_citation_and_clock(notices, expected):
    items, _ = run({"LA": 3}, notices_sent=notices)

    ag = items["LA-51-3074-ag"]
    assert ag.citation == "La. Admin. Code tit. 16, pt. III, §701 (under La. R.S. 51:3074)"
    assert ag.due_on == expected
    assert ag.detail["checked_against"] == "statute"
    assert ag.detail["recipient_name"].startswith("Consumer Protection Section")


@pytest.mark.parametrize(
    ("residents", "rule_id", "present"),
    [
        ({"CO": 1000}, "CO-6-1-716-cra", False),
        ({"CO": 1001}, "CO-6-1-716-cra", True),
        ({"TX": 10000}, "TX-521.053-cra", False),
        ({"TX": 10001}, "TX-521.053-cra", True),
        ({"MD": 999}, "MD-14-3506-cra", False),
        ({"MD": 1000}, "MD-14-3506-cra", True),  # "1,000 or more"
        ({"RI": 500}, "RI-11-49.3-4-cra", False),
        ({"RI": 501}, "RI-11-49.3-4-cra", True),
    ],
)
def test_cra_thresholds(residents, rule_id, present):
    items, _ = run(residents)

    assert (rule_id in items) is present
    if present:
        assert items[rule_id].kind == "cra_notice"
        assert items[rule_id].detail["recipient"] == "consumer_reporting_agencies"
        assert "verify_with_counsel" in items[rule_id].detail


def test_california_1280_15_rows_may_not_apply_to_other_entities():
    items, _ = run({"CA": 3}, discovered_on=date(2026, 1, 10))

    cdph = items["CA-HS-1280.15-cdph"]
    assert cdph.reason.startswith("may not apply: applies only to licensed clinics")
    assert "may_not_apply" not in items["CA-1798.82-residents-2026"].detail
