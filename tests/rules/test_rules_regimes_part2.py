"""42 CFR Part 2 breach notification (42 CFR 2.16(a), compliance date 2026-02-16).

The HIPAA breach provisions apply to Part 2 records as to a covered entity's PHI, so the
expected dates are the 164.404-408 dates, counted by hand: discovery + 60 calendar days, or
60 days after the end of the calendar year for the annual log.
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import BusinessAssociateFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import evaluate


def part2_items(determination):
    return [item for item in determination.obligations if item.kind.startswith("part2_")]


def test_large_breach_on_the_compliance_date_mirrors_every_hipaa_notice():
    # 16 Feb 2026 + 60 days: 12 more days in February, 31 in March, 17 in April -> 17 Apr.
    facts = BreachFacts(
        discovered_on=date(2026, 2, 16),
        affected_total=600,
        residents_by_state={"NY": 600},
        part2_records=True,
    )

    determination = evaluate(facts)

    found = {(item.kind, item.jurisdiction): item for item in part2_items(determination)}
    assert sorted(found) == [
        ("part2_hhs_notice", "US"),
        ("part2_individual_notice", "US"),
        ("part2_media_notice", "NY"),
    ]
    assert {item.due_on for item in found.values()} == {date(2026, 4, 17)}
    assert found["part2_individual_notice", "US"].citation == "42 CFR 2.16(a); 45 CFR 164.404(b)"
    assert found["part2_hhs_notice", "US"].citation == "42 CFR 2.16(a); 45 CFR 164.408(b)"
    assert found["part2_media_notice", "NY"].citation == "42 CFR 2.16(a); 45 CFR 164.406"
    assert "separate Part 2 breach report" in found["part2_hhs_notice", "US"].detail["filing"]
    assert "one letter" in found["part2_individual_notice", "US"].detail["letter"]
    # The HIPAA obligations are still there, unchanged.
    kinds = [item.kind for item in determination.obligations]
    assert {"individual_notice", "hhs_notice", "media_notice"} <= set(kinds)


def test_small_breach_goes_in_the_part2_annual_log():
    # Dec 31 2026 + 60 days: 31 in January, 28 in February (2027 is not a leap year), 1 Mar.
    facts = BreachFacts(
        discovered_on=date(2026, 3, 10),
        affected_total=20,
        insufficient_contact_count=3,
        part2_records=True,
    )

    found = {item.kind: item for item in part2_items(evaluate(facts))}

    assert sorted(found) == [
        "part2_hhs_annual_log",
        "part2_individual_notice",
        "part2_substitute_notice",
    ]
    assert found["part2_hhs_annual_log"].due_on == date(2027, 3, 1)
    assert found["part2_substitute_notice"].citation == "42 CFR 2.16(a); 45 CFR 164.404(d)(2)(i)"


@pytest.mark.parametrize("discovered_on", [date(2026, 2, 15), date(2025, 9, 15)])
def test_before_the_compliance_date_a_warning_and_no_obligation(discovered_on):
    facts = BreachFacts(discovered_on=discovered_on, affected_total=600, part2_records=True)

    determination = evaluate(facts)

    assert part2_items(determination) == []
    assert any("2026-02-16" in w and "42 CFR 2.16" in w for w in determination.warnings)


def test_the_business_associate_notice_is_not_mirrored():
    facts = BreachFacts(
        discovered_on=None,
        affected_total=20,
        business_associate=BusinessAssociateFacts(date(2026, 3, 2), is_agent=True),
        part2_records=True,
    )

    kinds = [item.kind for item in part2_items(evaluate(facts))]

    assert "part2_ba_to_ce_notice" not in kinds
    assert kinds == ["part2_individual_notice", "part2_hhs_annual_log"]


def test_law_enforcement_delay_moves_the_part2_dates_like_the_hipaa_ones():
    # Written statement of 1 Mar 2026 delaying until 30 Jun 2026: the 17 Apr deadline moves.
    delay = LawEnforcementDelay("written", date(2026, 3, 1), delay_until=date(2026, 6, 30))
    facts = BreachFacts(
        discovered_on=date(2026, 2, 16),
        affected_total=600,
        part2_records=True,
        law_enforcement_delay=delay,
    )

    found = {item.kind: item for item in part2_items(evaluate(facts))}

    assert found["part2_individual_notice"].due_on == date(2026, 6, 30)
    assert found["part2_individual_notice"].detail["original_due_on"] == "2026-04-17"


def test_no_part2_records_no_part2_obligations():
    facts = BreachFacts(discovered_on=date(2026, 3, 10), affected_total=20)

    assert part2_items(evaluate(facts)) == []
