"""FTC Health Breach Notification Rule, 16 CFR 318 (as amended effective 2024-07-29).

Expected dates counted by hand: discovery + 60 calendar days (318.4(a)); the annual log is due
60 days after 31 December of the year of discovery (318.5(c)).
"""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import InvalidFacts
from incident_app.rules import LawEnforcementDelay
from incident_app.rules import evaluate

DAY = date(2025, 9, 15)  # + 60 days: 15 more in September, 31 in October, 14 in November
SIXTY = date(2025, 11, 14)
HIPAA_KINDS = {
    "individual_notice",
    "hhs_notice",
    "hhs_annual_log",
    "media_notice",
    "substitute_notice",
    "ba_to_ce_notice",
}


def vendor(**kwargs: object) -> BreachFacts:
    arguments = {"discovered_on": DAY, "affected_total": 1200, "entity_role": "phr_vendor"}
    return BreachFacts(**{**arguments, **kwargs})  # type: ignore[arg-type]


def federal(determination):
    return [item for item in determination.obligations if not item.kind.startswith("state_")]


@pytest.mark.parametrize("role", ["phr_vendor", "phr_related_entity"])
def test_large_breach_individuals_ftc_and_media_with_ftc_citations(role):
    facts = vendor(entity_role=role, residents_by_state={"TX": 700, "OK": 300})

    determination = evaluate(facts)

    assert determination.reportable is True
    found = [(o.kind, o.jurisdiction, o.due_on, o.citation) for o in federal(determination)]
    assert found == [
        ("individual_notice", "US", SIXTY, "16 CFR 318.4(a); 318.5(a)"),
        ("ftc_notice", "US", SIXTY, "16 CFR 318.5(c)"),
        ("media_notice", "TX", SIXTY, "16 CFR 318.5(b)"),
    ]
    # No HIPAA obligation at all: nothing cites 45 CFR.
    assert not any(o.citation.startswith("45 CFR") for o in determination.obligations)
    assert "16 CFR 318.2" in determination.reason


@pytest.mark.parametrize(
    ("discovered_on", "affected", "kind", "due_on"),
    [
        (DAY, 500, "ftc_notice", SIXTY),  # "500 or more"
        # Dec 31 2025 + 60 days: 31 in January, 28 in February 2026, 1 March.
        (date(2025, 3, 10), 499, "ftc_annual_log", date(2026, 3, 1)),
        # Dec 31 2027 + 60 days: 2028 is a leap year, so 29 February.
        (date(2027, 11, 20), 10, "ftc_annual_log", date(2028, 2, 29)),
    ],
)
def test_ftc_notice_or_annual_log(discovered_on, affected, kind, due_on):
    determination = evaluate(vendor(discovered_on=discovered_on, affected_total=affected))

    [notice] = [o for o in determination.obligations if o.kind.startswith("ftc_")]
    assert (notice.kind, notice.due_on, notice.citation) == (kind, due_on, "16 CFR 318.5(c)")


@pytest.mark.parametrize(("residents", "media"), [(500, []), (501, ["NV"])])
def test_media_only_for_more_than_500_residents_of_a_state(residents, media):
    determination = evaluate(vendor(residents_by_state={"NV": residents}))

    assert [o.jurisdiction for o in determination.obligations if o.kind == "media_notice"] == media


def test_substitute_notice_for_ten_or_more_unreachable_individuals():
    determination = evaluate(vendor(insufficient_contact_count=10))

    [notice] = [o for o in determination.obligations if o.kind == "substitute_notice"]
    assert (notice.citation, notice.due_on) == ("16 CFR 318.5(a)(2)", SIXTY)


def test_fewer_than_ten_unreachable_individuals_is_a_warning():
    determination = evaluate(vendor(insufficient_contact_count=9))

    assert not [o for o in determination.obligations if o.kind == "substitute_notice"]
    assert any("318.5(a)(2)" in w and "ten or more" in w for w in determination.warnings)


def test_third_party_service_provider_notifies_the_vendor_only():
    facts = vendor(entity_role="third_party_service_provider", residents_by_state={"CA": 900})

    determination = evaluate(facts)

    assert [(o.kind, o.due_on, o.citation) for o in determination.obligations] == [
        ("vendor_notice", SIXTY, "16 CFR 318.3(b); 318.4(a)")
    ]
    assert any("318.3(b)" in w and "not computed" in w for w in determination.warnings)


def test_law_enforcement_delay_under_318_4_c():
    # Written statement of 20 Sep 2025 delaying until 31 Dec 2025: the 14 Nov deadline moves to
    # 31 Dec; the tolling reading adds the 102 days (20 Sep -> 31 Dec) to 14 Nov: 24 Feb 2026.
    delay = LawEnforcementDelay("written", date(2025, 9, 20), delay_until=date(2025, 12, 31))

    determination = evaluate(vendor(law_enforcement_delay=delay))

    [notice] = [o for o in determination.obligations if o.kind == "individual_notice"]
    assert notice.due_on == date(2025, 12, 31)
    assert notice.citation == "16 CFR 318.4(a); 318.5(a); 318.4(c)"
    assert notice.detail["tolling_reading_due_on"] == "2026-02-24"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"phi_secured": True}, "was secured"),
        ({"low_probability_of_compromise": True}, "reliable evidence"),
    ],
)
def test_not_a_breach_of_security_under_318_2(kwargs, words):
    determination = evaluate(vendor(**kwargs))

    assert determination.reportable is False
    assert "16 CFR 318.2" in determination.reason and words in determination.reason
    assert determination.obligations == ()


def test_hipaa_exceptions_do_not_exist_under_the_ftc_rule():
    with pytest.raises(InvalidFacts) as caught:
        vendor(exception="unable_to_retain")

    assert caught.value.field == "exception"


def test_state_notices_for_a_vendor_carry_the_non_hipaa_note():
    facts = vendor(residents_by_state={"CA": 400, "TX": 400, "NY": 400})

    determination = evaluate(facts)

    assert any(o.kind.startswith("state_") for o in determination.obligations)
    assert any("not a HIPAA covered entity" in w for w in determination.warnings)


def test_no_residents_recorded_no_state_note():
    determination = evaluate(vendor())

    assert not any("not a HIPAA covered entity" in w for w in determination.warnings)


def test_a_vendor_with_part2_records_gets_part2_but_no_hipaa_obligations():
    facts = vendor(discovered_on=date(2026, 3, 2), affected_total=20, part2_records=True)

    kinds = [o.kind for o in evaluate(facts).obligations]

    assert not HIPAA_KINDS & {k for k in kinds if k != "individual_notice"}
    assert "part2_individual_notice" in kinds and "part2_hhs_annual_log" in kinds
    assert kinds.count("individual_notice") == 1  # the FTC one
