"""Cal. Health & Safety Code 1280.15 for licensed California facilities.

CDPH and each affected patient within 15 business days after detection (5 before 2015-01-01,
AB 1755). Expected dates counted by hand, skipping weekends and California state holidays.
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import evaluate

CITATION = "Cal. Health & Safety Code 1280.15"


def facility_obligations(determination):
    return [item for item in determination.obligations if "1280.15" in item.citation]


def licensed(discovered_on: date, **kwargs: object) -> BreachFacts:
    arguments = {
        "discovered_on": discovered_on,
        "affected_total": 20,
        "licensed_facility_states": frozenset({"CA"}),
        **kwargs,
    }
    return BreachFacts(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("detected", "due_on", "days", "skipped"),
    [
        # Mon 17 Nov 2025: 18-21 (4), 24-26 (7), Thanksgiving 27 and the day after (28,
        # a California holiday) skipped, 1-5 Dec (12), 8, 9, 10 Dec (15).
        (
            date(2025, 11, 17),
            date(2025, 12, 10),
            15,
            "2025-11-27 Thanksgiving Day, 2025-11-28 Day After Thanksgiving",
        ),
        # Mon 23 Mar 2026: 24-27 (4), 30 (5), Cesar Chavez Day Tue 31 skipped, 1-3 Apr (8),
        # 6-10 Apr (13), 13, 14 Apr (15).
        (date(2026, 3, 23), date(2026, 4, 14), 15, "2026-03-31 Cesar Chavez Day"),
        # Before AB 1755 took effect: 5 business days. Mon 15 Sep 2014 -> Mon 22 Sep 2014.
        (date(2014, 9, 15), date(2014, 9, 22), 5, "none"),
    ],
)
def test_cdph_and_patients_within_15_business_days(detected, due_on, days, skipped):
    determination = evaluate(licensed(detected))

    found = facility_obligations(determination)
    assert [(item.kind, item.detail["recipient"]) for item in found] == [
        ("state_individual_notice", "residents"),
        ("state_regulator_notice", "other_regulator"),
    ]
    for item in found:
        assert item.citation == CITATION
        assert item.jurisdiction == "CA"
        assert item.due_on == due_on
        assert item.detail["period"] == f"within {days} business days"
        assert item.detail["holidays_skipped"] == skipped
        assert item.detail["patients"] == "20"
    assert "CDPH" in found[1].detail["recipient_name"]


def test_every_patient_counts_whatever_their_state_of_residence():
    determination = evaluate(licensed(date(2025, 11, 17), residents_by_state={"NV": 20}))

    assert [item.detail["patients"] for item in facility_obligations(determination)] == ["20", "20"]


def test_the_regime_replaces_the_state_tables_1280_15_rows():
    facts = licensed(date(2025, 11, 17), residents_by_state={"CA": 20})

    found = facility_obligations(evaluate(facts))

    # Exactly the two from this regime (marked by their scope), none from the table.
    assert len(found) == 2
    assert all("scope" in item.detail for item in found)


def test_without_licensed_facility_states_the_table_is_left_as_it_was():
    facts = BreachFacts(
        discovered_on=date(2025, 11, 17), affected_total=20, residents_by_state={"CA": 20}
    )

    found = facility_obligations(evaluate(facts))

    # Today the table has residents-driven 1280.15 rows (R-engine's data); they stay untouched.
    assert all(item.detail["rule_id"].startswith("CA-HS-1280.15") for item in found)
    assert not any("scope" in item.detail for item in found)


def test_other_licensed_states_do_not_trigger_1280_15():
    facts = licensed(date(2025, 11, 17), licensed_facility_states=frozenset({"NV"}))

    assert facility_obligations(evaluate(facts)) == []


def test_law_enforcement_delay_is_left_to_the_statutes_own_provision():
    delay = LawEnforcementDelay("oral", date(2025, 11, 18))

    found = facility_obligations(
        evaluate(licensed(date(2025, 11, 17), law_enforcement_delay=delay))
    )

    assert all("own delay" in item.detail["law_enforcement_delay"] for item in found)
    assert all(item.due_on == date(2025, 12, 10) for item in found)


def test_a_year_without_a_known_diwali_date_is_flagged():
    found = facility_obligations(evaluate(licensed(date(2036, 10, 20))))

    assert all("Diwali" in item.detail["calendar_warning"] for item in found)


def test_not_reportable_under_hipaa_still_names_the_1280_15_date():
    # 1280.15 has no low-probability-of-compromise test of its own.
    facts = licensed(date(2025, 11, 17), low_probability_of_compromise=True)

    determination = evaluate(facts)

    assert determination.reportable is False
    assert determination.obligations == ()
    assert any("1280.15" in w and "2025-12-10" in w for w in determination.warnings)
