"""Law-enforcement delay, 45 CFR 164.412: written, oral, and oral followed by written.

Discovery 2025-09-15, so every undelayed 60-day deadline is 2025-11-14.
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import BusinessAssociateFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import evaluate


def individual(delay, discovered_on=date(2025, 9, 15), affected=1500):
    facts = BreachFacts(
        discovered_on=discovered_on, affected_total=affected, law_enforcement_delay=delay
    )
    result = evaluate(facts)
    (notice,) = [item for item in result.obligations if item.kind == "individual_notice"]
    return notice, result


@pytest.mark.parametrize(
    ("delay", "expected_due", "tolling_due"),
    [
        # Written: delay for the period the statement specifies.
        (
            LawEnforcementDelay("written", date(2025, 10, 1), delay_until=date(2025, 12, 31)),
            date(2025, 12, 31),
            date(2026, 2, 13),  # 2025-11-14 + 91 days of delay
        ),
        # Written delay that ends before the deadline: the deadline stays.
        (
            LawEnforcementDelay("written", date(2025, 10, 1), delay_until=date(2025, 10, 20)),
            date(2025, 11, 14),
            date(2025, 12, 3),  # + 19 days
        ),
        # Oral, nothing in writing: at most 30 days from the statement (to 2025-11-19).
        (
            LawEnforcementDelay("oral", date(2025, 10, 20)),
            date(2025, 11, 19),
            date(2025, 12, 14),  # + 30 days
        ),
        # Oral, then written within the 30 days: the written period governs.
        (
            LawEnforcementDelay(
                "oral",
                date(2025, 10, 20),
                delay_until=date(2026, 1, 15),
                written_received_on=date(2025, 11, 10),
            ),
            date(2026, 1, 15),
            date(2026, 2, 9),  # + 87 days
        ),
        # Written arriving on day 30 exactly is still "during that time".
        (
            LawEnforcementDelay(
                "oral",
                date(2025, 10, 20),
                delay_until=date(2026, 1, 15),
                written_received_on=date(2025, 11, 19),
            ),
            date(2026, 1, 15),
            date(2026, 2, 9),
        ),
        # Written arriving on day 31: too late to extend the oral delay.
        (
            LawEnforcementDelay(
                "oral",
                date(2025, 10, 20),
                delay_until=date(2026, 1, 15),
                written_received_on=date(2025, 11, 20),
            ),
            date(2025, 11, 19),
            date(2025, 12, 14),
        ),
        # Oral statement asking for less than 30 days.
        (
            LawEnforcementDelay("oral", date(2025, 10, 20), delay_until=date(2025, 11, 16)),
            date(2025, 11, 16),
            date(2025, 12, 11),  # + 27 days
        ),
        # Oral statement asking for more than 30 days is capped at 30.
        (
            LawEnforcementDelay("oral", date(2025, 10, 20), delay_until=date(2025, 12, 31)),
            date(2025, 11, 19),
            date(2025, 12, 14),
        ),
    ],
)
def test_delay_moves_the_deadline_to_the_end_of_the_delay(delay, expected_due, tolling_due):
    notice, result = individual(delay)

    assert notice.due_on == expected_due
    assert notice.detail["original_due_on"] == "2025-11-14"
    assert notice.detail["tolling_reading_due_on"] == tolling_due.isoformat()
    assert notice.detail["delay_model"].startswith("end_of_delay")
    assert any("tolling" in warning for warning in result.warnings)


def test_every_hipaa_notice_is_delayed_including_hhs_and_media():
    delay = LawEnforcementDelay("written", date(2025, 10, 1), delay_until=date(2025, 12, 31))
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15),
        affected_total=1500,
        residents_by_state={"TX": 900},
        insufficient_contact_count=20,
        law_enforcement_delay=delay,
    )

    dues = {item.kind: item.due_on for item in evaluate(facts).obligations if item.jurisdiction}

    for kind in ("individual_notice", "substitute_notice", "hhs_notice"):
        assert dues[kind] == date(2025, 12, 31)
    media = [i for i in evaluate(facts).obligations if i.kind == "media_notice"]
    assert media[0].due_on == date(2025, 12, 31)


def test_ba_notice_is_delayed_too():
    delay = LawEnforcementDelay("written", date(2025, 3, 10), delay_until=date(2025, 6, 1))
    facts = BreachFacts(
        discovered_on=None,
        affected_total=100,
        business_associate=BusinessAssociateFacts(discovered_on=date(2025, 3, 1), is_agent=True),
        law_enforcement_delay=delay,
    )

    (notice,) = [i for i in evaluate(facts).obligations if i.kind == "ba_to_ce_notice"]

    assert notice.due_on == date(2025, 6, 1)


def test_annual_log_is_unchanged_by_a_delay_that_ends_first_but_shows_tolling():
    delay = LawEnforcementDelay("oral", date(2025, 10, 20))
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15), affected_total=100, law_enforcement_delay=delay
    )

    (log,) = [i for i in evaluate(facts).obligations if i.kind == "hhs_annual_log"]

    assert log.due_on == date(2026, 3, 1)
    assert log.detail["tolling_reading_due_on"] == "2026-03-31"


def test_statement_after_the_deadline_does_not_extend_it():
    delay = LawEnforcementDelay("oral", date(2025, 4, 1))

    notice, _ = individual(delay, discovered_on=date(2025, 1, 2), affected=100)

    assert notice.due_on == date(2025, 3, 3)
    assert "not extended" in notice.detail["law_enforcement_delay"]
    assert "tolling_reading_due_on" not in notice.detail


def test_oral_statement_must_be_documented():
    _, result = individual(LawEnforcementDelay("oral", date(2025, 10, 20)))

    assert any("document the oral statement" in warning for warning in result.warnings)
    assert any("lapses on 2025-11-19" in warning for warning in result.warnings)


def test_late_written_statement_is_offered_as_an_alternative_never_applied():
    delay = LawEnforcementDelay(
        "oral",
        date(2025, 10, 20),
        delay_until=date(2026, 1, 15),
        written_received_on=date(2025, 11, 20),
    )

    notice, result = individual(delay)

    assert notice.due_on == date(2025, 11, 19)
    (warning,) = [w for w in result.warnings if "arrived after" in w]
    assert "2026-01-15" in warning


def test_oral_request_beyond_30_days_is_capped_with_a_warning():
    delay = LawEnforcementDelay("oral", date(2025, 10, 20), delay_until=date(2025, 12, 31))

    _, result = individual(delay)

    assert any("at most 30 days" in warning for warning in result.warnings)


def test_no_delay_means_no_delay_detail():
    notice, _ = individual(None)

    assert "original_due_on" not in notice.detail
