"""Shipped state tables of AK AR DC GA GU HI IA ID KS KY MI MN MO MS (issue #17, R-data-1).

Expected obligations are written by hand from each statute's own period (the rows in
incident_app/rules/states/<CODE>.toml cite the subsection). Unless a case says otherwise the
breach is discovered on Monday 2025-09-15, so HIPAA's individual-notice deadline, which the
state clocks tied to "notice to individuals" fall back on, is Friday 2025-11-14 (60 days).
"No fixed period" statutes ("without unreasonable delay") have no due date (None).
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import NoticesSent
from incident_app.rules import evaluate
from incident_app.rules.state_table import jurisdictions

MINE = ("AK", "AR", "DC", "GA", "GU", "HI", "IA", "ID", "KS", "KY", "MI", "MN", "MO", "MS")
STATE_KINDS = {"state_individual_notice", "state_regulator_notice", "cra_notice"}
DISCOVERY = date(2025, 9, 15)

IND = "state_individual_notice"
REG = "state_regulator_notice"
CRA = "cra_notice"


def run(residents, discovered_on=DISCOVERY, notices_sent=None):
    facts = BreachFacts(
        discovered_on=discovered_on,
        affected_total=sum(residents.values()),
        residents_by_state=residents,
        notices_sent=notices_sent,
    )
    result = evaluate(facts)
    items = [item for item in result.obligations if item.kind in STATE_KINDS]
    return items, result.warnings


def table_of(items):
    return {
        item.detail["rule_id"]: (
            item.kind,
            item.jurisdiction,
            item.due_on,
            item.detail["recipient"],
        )
        for item in items
    }


# (facts, expected obligations {rule_id: (kind, jurisdiction, due_on, recipient)},
#  rule ids expected in warnings (HIPAA deemers))
CASES = {
    # AS 45.48.010(b): no fixed period. 45.48.040: CRAs only when MORE than 1,000 residents.
    "AK at 1,000: residents only": (
        {"AK": 1000},
        {"AK-45.48.010-residents": (IND, "AK", None, "residents")},
        [],
    ),
    "AK at 1,001: residents and CRAs": (
        {"AK": 1001},
        {
            "AK-45.48.010-residents": (IND, "AK", None, "residents"),
            "AK-45.48.040-cra": (CRA, "AK", None, "consumer_reporting_agencies"),
        },
        [],
    ),
    # Ark. Code 4-110-106: residents deemed (a HIPAA entity under a more protective law).
    # 4-110-105(b)(2): AG when MORE than 1,000, at the individual notice or 45 days after the
    # determination, whichever first: 2025-09-15 + 45 = 2025-10-30, before 2025-11-14.
    "AR at 1,000: deemed, no AG": ({"AR": 1000}, {}, ["AR-4-110-105-residents"]),
    "AR at 1,001: AG 45 days": (
        {"AR": 1001},
        {"AR-4-110-105-ag-2019": (REG, "AR", date(2025, 10, 30), "attorney_general")},
        ["AR-4-110-105-residents"],
    ),
    # GA: residents no fixed period; CRAs only for MORE than 10,000 (10-1-912(d)).
    "GA at 10,000": ({"GA": 10000}, {"GA-10-1-912-residents": (IND, "GA", None, "residents")}, []),
    "GA at 10,001": (
        {"GA": 10001},
        {
            "GA-10-1-912-residents": (IND, "GA", None, "residents"),
            "GA-10-1-912-cra": (CRA, "GA", None, "consumer_reporting_agencies"),
        },
        [],
    ),
    # 9 GCA 48.30(a): without unreasonable delay; nothing else.
    "GU": ({"GU": 5}, {"GU-48.30-residents": (IND, "GU", None, "residents")}, []),
    # HRS 487N-2(g)(2) deems HIPAA health plans/providers compliant with the whole section
    # (residents, OCP and CRAs); 487N-4 (government agencies: legislature within 20 days of
    # discovery, 2025-09-15 + 20 = 2025-10-05) is a separate section.
    "HI at 1,000": (
        {"HI": 1000},
        {"HI-487N-4-legislature": (REG, "HI", date(2025, 10, 5), "other_regulator")},
        ["HI-487N-2-residents"],
    ),
    "HI at 1,001": (
        {"HI": 1001},
        {"HI-487N-4-legislature": (REG, "HI", date(2025, 10, 5), "other_regulator")},
        ["HI-487N-2-residents", "HI-487N-2-ocp", "HI-487N-2-cra"],
    ),
    # Idaho Code 28-51-105(1): residents without a fixed period; a public agency tells the
    # AG within 24 hours of discovery (shown as the next day, 2025-09-16).
    "ID": (
        {"ID": 3},
        {
            "ID-28-51-105-residents": (IND, "ID", None, "residents"),
            "ID-28-51-105-agency-ag": (REG, "ID", date(2025, 9, 16), "attorney_general"),
        },
        [],
    ),
    # K.S.A. 50-7a02(a) and (f): no fixed periods; CRAs above 1,000.
    "KS at 1,001": (
        {"KS": 1001},
        {
            "KS-50-7a02-residents": (IND, "KS", None, "residents"),
            "KS-50-7a02-cra": (CRA, "KS", None, "consumer_reporting_agencies"),
        },
        [],
    ),
    # KRS 365.732(8): does not apply to a person subject to HIPAA.
    "KY at 2,000": ({"KY": 2000}, {}, ["KY-365.732-residents", "KY-365.732-cra"]),
    # MCL 445.72(10): HIPAA-compliant persons are in compliance with the whole section.
    "MI at 2,000": ({"MI": 2000}, {}, ["MI-445.72-residents", "MI-445.72-8-cra"]),
    # Minn. Stat. 325E.61 subd. 2: CRAs within 48 hours when MORE than 500 (2025-09-17).
    "MN at 500": ({"MN": 500}, {"MN-325E.61-residents": (IND, "MN", None, "residents")}, []),
    "MN at 501": (
        {"MN": 501},
        {
            "MN-325E.61-residents": (IND, "MN", None, "residents"),
            "MN-325E.61-2-cra": (CRA, "MN", date(2025, 9, 17), "consumer_reporting_agencies"),
        },
        [],
    ),
    # Mo. Rev. Stat. 407.1500.2(8): AG and CRAs when MORE than 1,000, without unreasonable delay.
    "MO at 1,000": ({"MO": 1000}, {"MO-407.1500-residents": (IND, "MO", None, "residents")}, []),
    "MO at 1,001": (
        {"MO": 1001},
        {
            "MO-407.1500-residents": (IND, "MO", None, "residents"),
            "MO-407.1500-ag": (REG, "MO", None, "attorney_general"),
            "MO-407.1500-cra": (CRA, "MO", None, "consumer_reporting_agencies"),
        },
        [],
    ),
    # Miss. Code 75-24-29(3): residents only.
    "MS": ({"MS": 7}, {"MS-75-24-29-residents": (IND, "MS", None, "residents")}, []),
    # D.C. Code 28-3852 after D.C. Law 23-98: residents deemed for HIPAA entities; AG for 50
    # or more, no later than the residents' notice (the day before 2025-11-14); CRAs above
    # 1,000 without a fixed period.
    "DC at 49": ({"DC": 49}, {}, ["DC-28-3852-residents-2020"]),
    "DC at 50": (
        {"DC": 50},
        {"DC-28-3852-ag-2020": (REG, "DC", date(2025, 11, 13), "attorney_general")},
        ["DC-28-3852-residents-2020"],
    ),
    "DC at 1,001": (
        {"DC": 1001},
        {
            "DC-28-3852-ag-2020": (REG, "DC", date(2025, 11, 13), "attorney_general"),
            "DC-28-3852-cra": (CRA, "DC", None, "consumer_reporting_agencies"),
        },
        ["DC-28-3852-residents-2020"],
    ),
}


@pytest.mark.parametrize(("residents", "expected", "deemed"), CASES.values(), ids=CASES.keys())
def test_jurisdiction_obligations_and_deemer_warnings(residents, expected, deemed):
    items, warnings = run(residents)

    assert table_of(items) == expected
    for rule_id in deemed:
        (warning,) = [text for text in warnings if f"({rule_id})" in text]
        assert "deemed compliant if" in warning


@pytest.mark.parametrize(
    ("residents", "expected", "deemed"),
    [
        pytest.param(
            # Iowa Code 715C.2(7): HIPAA entities deemed (residents); 715C.2(8): AG within 5
            # business days after the first consumer notice, when MORE than 500 Iowa
            # residents: 2025-11-14 (Fri) + 5 business days = Fri 2025-11-21 (no holiday).
            {"IA": 501},
            {"IA-715C.2-8-ag": (REG, "IA", date(2025, 11, 21), "attorney_general")},
            ["IA-715C.2-residents"],
            id="IA at 501: AG 5 business days after individual notice",
        ),
        pytest.param({"IA": 500}, {}, ["IA-715C.2-residents"], id="IA at 500"),
    ],
)
def test_iowa(residents, expected, deemed):
    items, warnings = run(residents)

    assert table_of(items) == expected
    for rule_id in deemed:
        assert any(f"({rule_id})" in text for text in warnings)


def test_arkansas_ag_before_act_1030_of_2019_does_not_exist():
    # Act 1030 (AG notice) in force from 2019-07-23; a breach found on 2019-07-22 only gets
    # the (deemed) residents row.
    items, warnings = run({"AR": 5000}, discovered_on=date(2019, 7, 22))

    assert items == []
    assert any("(AR-4-110-105-residents)" in text for text in warnings)


def test_arkansas_ag_falls_due_with_an_earlier_individual_notice():
    # "at the same time the breach is disclosed to an affected individual or within 45 days
    # ..., whichever occurs first": letters sent 2025-10-01, before 2025-10-30.
    items, _ = run({"AR": 1001}, notices_sent=NoticesSent(individuals_on=date(2025, 10, 1)))

    assert table_of(items) == {
        "AR-4-110-105-ag-2019": (REG, "AR", date(2025, 10, 1), "attorney_general")
    }


def test_dc_ag_due_no_later_than_the_recorded_resident_notice():
    items, _ = run({"DC": 60}, notices_sent=NoticesSent(individuals_on=date(2025, 10, 20)))

    assert table_of(items) == {
        "DC-28-3852-ag-2020": (REG, "DC", date(2025, 10, 20), "attorney_general")
    }


def test_dc_before_the_2020_amendment_residents_not_deemed_and_no_ag():
    # Before D.C. Law 23-98 (2020-06-17): no AG notice, and the deemer covered GLBA only.
    items, _ = run({"DC": 60}, discovered_on=date(2020, 1, 15))

    assert table_of(items) == {"DC-28-3852-residents-pre2020": (IND, "DC", None, "residents")}
    assert "medical" in items[0].detail["may_not_apply"]


@pytest.mark.parametrize(
    ("code", "rule_id", "words"),
    [
        ("GA", "GA-10-1-912-residents", "information brokers"),
        ("AK", "AK-45.48.010-residents", "medical or health-insurance information"),
        ("MN", "MN-325E.61-residents", "computerized data only"),
        ("MS", "MS-75-24-29-residents", "electronic files"),
        ("ID", "ID-28-51-105-agency-ag", "public agency"),
        ("HI", "HI-487N-4-legislature", "government agency"),
    ],
)
def test_may_not_apply_is_carried_into_the_obligation(code, rule_id, words):
    items, _ = run({code: 3})

    (item,) = [i for i in items if i.detail["rule_id"] == rule_id]
    assert words in item.detail["may_not_apply"]
    assert item.reason.startswith("may not apply: ")


def test_federal_regulator_deemers_keep_the_obligation_and_show_the_deemer():
    items, _ = run({"KS": 3, "MO": 3, "GU": 3, "ID": 3, "MS": 3})

    residents = {i.jurisdiction: i for i in items if i.kind == IND}
    assert sorted(residents) == ["GU", "ID", "KS", "MO", "MS"]
    for item in residents.values():
        assert item.detail["hipaa_deemed_compliant"] == "unknown"
        assert "regulator" in item.detail["deemer"]


def test_my_files_carry_provenance_on_every_row():
    table = jurisdictions()
    for code in MINE:
        item = table[code]
        assert item.statute_url.startswith("https://")
        assert item.rules, code
        for row in item.rules:
            assert row.checked_on == date(2026, 12, 6), row.id
            assert row.source and row.trigger and row.recipient_name, row.id
            assert row.id.startswith(f"{code}-"), row.id
            if row.checked_against == "statute":
                assert row.confidence == "[V]", row.id
