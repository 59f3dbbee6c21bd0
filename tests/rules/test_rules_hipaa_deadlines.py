"""HIPAA deadlines, 45 CFR 164.404-164.408: expected dates are worked out by hand.

Day 0 is the discovery day; "60 calendar days after" is discovery + 60, with no roll-forward.
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import evaluate

HIPAA_KINDS = {
    "individual_notice",
    "substitute_notice",
    "hhs_notice",
    "hhs_annual_log",
    "media_notice",
    "ba_to_ce_notice",
}


def due(determination, kind, jurisdiction="US"):
    matches = [
        item.due_on
        for item in determination.obligations
        if item.kind == kind and item.jurisdiction == jurisdiction
    ]
    assert len(matches) == 1, (kind, jurisdiction, determination.obligations)
    return matches[0]


def kinds(determination):
    return [item.kind for item in determination.obligations if item.kind in HIPAA_KINDS]


def test_issue_example_texas_media_notice_but_not_oklahoma():
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15),
        affected_total=1500,
        residents_by_state={"TX": 900, "OK": 500, "AR": 100},
    )

    result = evaluate(facts)

    assert result.reportable
    assert result.treated_discovery_on == date(2025, 9, 15)
    assert due(result, "individual_notice") == date(2025, 11, 14)
    assert due(result, "hhs_notice") == date(2025, 11, 14)
    assert due(result, "media_notice", "TX") == date(2025, 11, 14)
    media = [item.jurisdiction for item in result.obligations if item.kind == "media_notice"]
    assert media == ["TX"]
    # Only state-law warnings (never silence: every state with residents is answered for).
    assert [w for w in result.warnings if not w.startswith(("AR", "OK", "Ark", "Okl"))] == []


@pytest.mark.parametrize(
    ("discovered_on", "expected_due"),
    [
        (date(2025, 9, 15), date(2025, 11, 14)),
        (date(2024, 5, 15), date(2024, 7, 14)),
        (date(2024, 1, 1), date(2024, 3, 1)),  # through Feb 29 of a leap year
        (date(2025, 1, 1), date(2025, 3, 2)),  # through Feb 28 of a common year
        (date(2025, 12, 15), date(2026, 2, 13)),  # December discovery crosses the year
        (date(2023, 12, 31), date(2024, 2, 29)),  # lands on a leap day
        (date(2024, 12, 31), date(2025, 3, 1)),
    ],
)
def test_individual_notice_is_due_sixty_calendar_days_after_discovery(discovered_on, expected_due):
    result = evaluate(BreachFacts(discovered_on=discovered_on, affected_total=50))

    assert due(result, "individual_notice") == expected_due


@pytest.mark.parametrize(
    ("affected", "expected_kind", "expected_due"),
    [
        (499, "hhs_annual_log", date(2026, 3, 1)),  # fewer than 500: annual log
        (500, "hhs_notice", date(2025, 11, 14)),  # "500 or more": with individual notice
        (501, "hhs_notice", date(2025, 11, 14)),
        (1, "hhs_annual_log", date(2026, 3, 1)),
    ],
)
def test_hhs_notice_threshold_is_500_or_more(affected, expected_kind, expected_due):
    result = evaluate(BreachFacts(discovered_on=date(2025, 9, 15), affected_total=affected))

    assert due(result, expected_kind) == expected_due
    other = {"hhs_notice", "hhs_annual_log"} - {expected_kind}
    assert not other & set(kinds(result))


@pytest.mark.parametrize(
    ("discovered_on", "expected_due"),
    [
        (date(2019, 6, 1), date(2020, 2, 29)),  # 2020 is a leap year
        (date(2020, 2, 29), date(2021, 3, 1)),
        (date(2021, 12, 31), date(2022, 3, 1)),
        (date(2022, 1, 1), date(2023, 3, 1)),
        (date(2023, 12, 1), date(2024, 2, 29)),  # December discovery, leap year after
        (date(2024, 7, 4), date(2025, 3, 1)),
        (date(2025, 12, 31), date(2026, 3, 1)),
        (date(2027, 3, 15), date(2028, 2, 29)),
        (date(2028, 12, 31), date(2029, 3, 1)),
    ],
)
def test_annual_log_is_due_sixty_days_after_the_year_of_discovery(discovered_on, expected_due):
    result = evaluate(BreachFacts(discovered_on=discovered_on, affected_total=12))

    assert due(result, "hhs_annual_log") == expected_due


@pytest.mark.parametrize(
    ("residents", "media_states"),
    [
        ({"TX": 499}, []),
        ({"TX": 500}, []),  # "more than 500": exactly 500 is not enough
        ({"TX": 501}, ["TX"]),
        ({"TX": 500, "OK": 500, "AR": 500}, []),  # 1,500 in total, no state over 500
        ({"TX": 501, "OK": 501, "AR": 498}, ["OK", "TX"]),
        ({"PR": 600, "GU": 501}, ["GU", "PR"]),  # territories are jurisdictions too
    ],
)
def test_media_notice_for_each_state_with_more_than_500_residents(residents, media_states):
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15),
        affected_total=sum(residents.values()),
        residents_by_state=residents,
    )

    result = evaluate(facts)

    media = [item for item in result.obligations if item.kind == "media_notice"]
    assert [item.jurisdiction for item in media] == media_states
    assert all(item.due_on == date(2025, 11, 14) for item in media)
    assert all(item.citation == "45 CFR 164.406" for item in media)


@pytest.mark.parametrize(
    ("living_without_contact", "method", "citation"),
    [
        (0, None, None),
        (1, "alternative", "45 CFR 164.404(d)(2)(i)"),
        (9, "alternative", "45 CFR 164.404(d)(2)(i)"),  # fewer than 10
        (10, "conspicuous", "45 CFR 164.404(d)(2)(ii)"),  # 10 or more
        (250, "conspicuous", "45 CFR 164.404(d)(2)(ii)"),
    ],
)
def test_substitute_notice_method_depends_on_living_individuals(
    living_without_contact, method, citation
):
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15),
        affected_total=300,
        insufficient_contact_count=living_without_contact,
    )

    substitutes = [item for item in evaluate(facts).obligations if item.kind == "substitute_notice"]

    if method is None:
        assert substitutes == []
        return
    (substitute,) = substitutes
    assert substitute.detail["method"] == method
    assert substitute.citation == citation
    assert substitute.due_on == date(2025, 11, 14)


def test_deceased_without_next_of_kin_address_are_not_counted():
    # 12 records lack usable addresses; 3 of them are deceased with no next-of-kin address.
    # 164.404(d)(2) needs no substitute notice for those, so only 9 living people count and the
    # alternative (fewer than 10) method applies.
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15), affected_total=40, insufficient_contact_count=12 - 3
    )

    (substitute,) = [i for i in evaluate(facts).obligations if i.kind == "substitute_notice"]

    assert substitute.detail["method"] == "alternative"


def test_conspicuous_substitute_notice_requires_90_day_posting_and_toll_free_number():
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15), affected_total=40, insufficient_contact_count=10
    )

    (substitute,) = [i for i in evaluate(facts).obligations if i.kind == "substitute_notice"]

    assert substitute.detail["posting_days"] == "90"
    assert substitute.detail["toll_free_days"] == "90"
    assert "toll-free" in substitute.reason


@pytest.mark.parametrize(
    ("field", "value", "reason_mentions"),
    [
        ("phi_secured", True, "secured"),
        ("exception", "unintentional_workforce_use", "164.402(1)(i)"),
        ("exception", "inadvertent_authorized_disclosure", "164.402(1)(ii)"),
        ("exception", "unable_to_retain", "164.402(1)(iii)"),
        ("low_probability_of_compromise", True, "low probability"),
    ],
)
def test_not_reportable_has_a_reason_and_no_obligations(field, value, reason_mentions):
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15),
        affected_total=5000,
        residents_by_state={"TX": 5000},
        **{field: value},
    )

    result = evaluate(facts)

    assert result.reportable is False
    assert reason_mentions in result.reason
    assert result.obligations == ()
    assert result.treated_discovery_on == date(2025, 9, 15)
    assert any("State breach laws" in warning for warning in result.warnings)


def test_every_reason_that_applies_is_recorded():
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15),
        affected_total=5,
        phi_secured=True,
        low_probability_of_compromise=True,
    )

    reason = evaluate(facts).reason

    assert "secured" in reason
    assert "low probability" in reason


def test_presumed_breach_reason_names_the_test():
    result = evaluate(BreachFacts(discovered_on=date(2025, 9, 15), affected_total=5))

    assert result.reportable is True
    assert "164.402(2)" in result.reason


@pytest.mark.parametrize(
    ("discovered_on", "due_on", "what", "send_by"),
    [
        (date(2025, 6, 10), date(2025, 8, 9), "Saturday", "2025-08-08"),
        (date(2025, 8, 31), date(2025, 10, 30), None, None),  # a Thursday: no warning
        (date(2025, 9, 28), date(2025, 11, 27), "Thanksgiving Day", "2025-11-26"),
        (date(2025, 10, 26), date(2025, 12, 25), "Christmas Day", "2025-12-24"),
        (date(2025, 9, 6), date(2025, 11, 5), None, None),
    ],
)
def test_weekend_or_federal_holiday_due_date_warns_but_never_moves(
    discovered_on, due_on, what, send_by
):
    result = evaluate(BreachFacts(discovered_on=discovered_on, affected_total=600))

    assert due(result, "individual_notice") == due_on
    warnings = [w for w in result.warnings if w.startswith("individual_notice (US)")]
    if what is None:
        assert warnings == []
    else:
        (warning,) = warnings
        assert what in warning
        assert send_by in warning


def test_annual_log_on_a_sunday_warns():
    result = evaluate(BreachFacts(discovered_on=date(2025, 4, 1), affected_total=20))

    assert due(result, "hhs_annual_log") == date(2026, 3, 1)
    assert any(
        w.startswith("hhs_annual_log (US) is due 2026-03-01, a Sunday") for w in result.warnings
    )


def test_zero_affected_is_flagged():
    result = evaluate(BreachFacts(discovered_on=date(2025, 9, 15), affected_total=0))

    assert any(w.startswith("affected_total is 0") for w in result.warnings)


@pytest.mark.parametrize(
    ("affected", "residents", "media_warning", "state_warning"),
    [
        (1500, {}, True, True),  # no state recorded at all
        (1500, {"TX": 1000}, True, True),  # 500 unassigned could all be in TX
        (600, {"TX": 100, "OK": 100}, False, True),  # 400 unassigned cannot push one over 500
        (600, {"TX": 500}, True, True),  # 100 unassigned would make TX 600
        (600, {"TX": 300, "OK": 300}, False, False),  # everyone placed
        (400, {}, False, True),  # under 500 in total: no media notice possible
    ],
)
def test_missing_state_counts_warn_that_media_notice_cannot_be_ruled_out(
    affected, residents, media_warning, state_warning
):
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15), affected_total=affected, residents_by_state=residents
    )

    warnings = evaluate(facts).warnings

    assert any("media notice" in w and "cannot be ruled out" in w for w in warnings) == (
        media_warning
    )
    assert any("state-law notices" in w for w in warnings) == state_warning


def test_every_obligation_has_a_citation_and_a_reason():
    facts = BreachFacts(
        discovered_on=date(2025, 9, 15),
        affected_total=5000,
        residents_by_state={"TX": 900, "CA": 700, "NY": 600, "MD": 30, "NJ": 20, "MA": 10},
        insufficient_contact_count=15,
    )

    for obligation in evaluate(facts).obligations:
        assert obligation.citation.strip()
        assert obligation.reason.strip()
