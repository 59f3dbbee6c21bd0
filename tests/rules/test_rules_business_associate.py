"""Business associates, 45 CFR 164.410 and the agent/contractor discovery rule (164.404(a)(2))."""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import BusinessAssociateFacts
from incident_app.rules import evaluate


def due(determination, kind):
    (match,) = [item.due_on for item in determination.obligations if item.kind == kind]
    return match


@pytest.mark.parametrize(
    ("is_agent", "notified", "treated", "individual_due", "warns"),
    [
        # Agent: the BA's knowledge is the covered entity's knowledge.
        (True, date(2025, 3, 20), date(2025, 3, 1), date(2025, 4, 30), False),
        (True, None, date(2025, 3, 1), date(2025, 4, 30), False),
        # Independent contractor: the covered entity's clock starts when the BA tells it.
        (False, date(2025, 3, 20), date(2025, 3, 20), date(2025, 5, 19), False),
        # Contractor that has not notified yet: use the stricter BA discovery date, and warn.
        (False, None, date(2025, 3, 1), date(2025, 4, 30), True),
        # Agency undetermined: the earlier (stricter) date, and warn.
        (None, date(2025, 3, 20), date(2025, 3, 1), date(2025, 4, 30), True),
        (None, None, date(2025, 3, 1), date(2025, 4, 30), True),
    ],
)
def test_treated_discovery_depends_on_agency(is_agent, notified, treated, individual_due, warns):
    facts = BreachFacts(
        discovered_on=None,
        affected_total=100,
        business_associate=BusinessAssociateFacts(
            discovered_on=date(2025, 3, 1), is_agent=is_agent, notified_covered_entity_on=notified
        ),
    )

    result = evaluate(facts)

    assert result.treated_discovery_on == treated
    assert due(result, "individual_notice") == individual_due
    assert due(result, "ba_to_ce_notice") == date(2025, 4, 30)  # always BA discovery + 60
    assert any(w.startswith("Treated discovery") for w in result.warnings) == warns


def test_undetermined_agency_warning_offers_the_contractor_date():
    facts = BreachFacts(
        discovered_on=None,
        affected_total=100,
        business_associate=BusinessAssociateFacts(
            discovered_on=date(2025, 3, 1), notified_covered_entity_on=date(2025, 3, 20)
        ),
    )

    (warning,) = [w for w in evaluate(facts).warnings if w.startswith("Treated discovery")]

    assert "undetermined" in warning
    assert "2025-03-20" in warning


def test_contractor_without_notification_date_warning_says_it_is_unknown():
    facts = BreachFacts(
        discovered_on=None,
        affected_total=100,
        business_associate=BusinessAssociateFacts(discovered_on=date(2025, 3, 1), is_agent=False),
    )

    (warning,) = [w for w in evaluate(facts).warnings if w.startswith("Treated discovery")]

    assert "notified the covered entity is unknown" in warning


def test_covered_entity_that_knew_first_uses_its_own_date():
    facts = BreachFacts(
        discovered_on=date(2025, 2, 20),
        affected_total=100,
        business_associate=BusinessAssociateFacts(
            discovered_on=date(2025, 3, 1),
            is_agent=False,
            notified_covered_entity_on=date(2025, 3, 20),
        ),
    )

    result = evaluate(facts)

    assert result.treated_discovery_on == date(2025, 2, 20)
    assert due(result, "individual_notice") == date(2025, 4, 21)
    assert "own discovery" in result.reason


def test_agent_discovery_before_the_covered_entity_own_date_wins():
    facts = BreachFacts(
        discovered_on=date(2025, 3, 25),
        affected_total=100,
        business_associate=BusinessAssociateFacts(discovered_on=date(2025, 3, 1), is_agent=True),
    )

    assert evaluate(facts).treated_discovery_on == date(2025, 3, 1)


def test_ba_notice_details_and_citation():
    facts = BreachFacts(
        discovered_on=None,
        affected_total=100,
        business_associate=BusinessAssociateFacts(
            discovered_on=date(2025, 3, 1),
            is_agent=False,
            notified_covered_entity_on=date(2025, 3, 20),
        ),
    )

    (notice,) = [i for i in evaluate(facts).obligations if i.kind == "ba_to_ce_notice"]

    assert notice.citation == "45 CFR 164.410(b)"
    assert notice.detail["business_associate_discovered_on"] == "2025-03-01"
    assert notice.detail["notified_covered_entity_on"] == "2025-03-20"


def test_no_ba_notice_without_a_business_associate():
    facts = BreachFacts(discovered_on=date(2025, 3, 1), affected_total=100)

    assert "ba_to_ce_notice" not in [item.kind for item in evaluate(facts).obligations]


def test_not_reportable_breach_at_a_ba_has_no_ba_notice():
    facts = BreachFacts(
        discovered_on=None,
        affected_total=100,
        phi_secured=True,
        business_associate=BusinessAssociateFacts(discovered_on=date(2025, 3, 1), is_agent=True),
    )

    result = evaluate(facts)

    assert result.obligations == ()
    assert result.treated_discovery_on == date(2025, 3, 1)


def test_own_earlier_discovery_makes_the_agency_question_moot():
    facts = BreachFacts(
        discovered_on=date(2025, 2, 20),
        affected_total=100,
        business_associate=BusinessAssociateFacts(discovered_on=date(2025, 3, 1)),
    )

    result = evaluate(facts)

    assert result.treated_discovery_on == date(2025, 2, 20)
    assert not any(w.startswith("Treated discovery") for w in result.warnings)
