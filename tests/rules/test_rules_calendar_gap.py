"""A business-day deadline that crosses a year the holiday table does not cover says so."""

from __future__ import annotations

from datetime import date

from incident_app.rules import BreachFacts
from incident_app.rules import evaluate


def test_california_business_days_in_2036_warn_about_the_missing_diwali_date():
    facts = BreachFacts(
        discovered_on=date(2036, 10, 20), affected_total=5, residents_by_state={"CA": 5}
    )

    (cdph,) = [
        item
        for item in evaluate(facts).obligations
        if item.detail.get("rule_id") == "CA-HS-1280.15-cdph"
    ]

    assert "Diwali" in cdph.detail["calendar_warning"]
