"""Entity roles and how the regimes combine in one determination."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

from incident_app.rules import BreachFacts
from incident_app.rules import BusinessAssociateFacts
from incident_app.rules import GdprFacts
from incident_app.rules import evaluate

DAY = date(2026, 3, 2)


def test_business_associate_role_keeps_the_obligations_and_explains_whose_they_are():
    base = BreachFacts(discovered_on=DAY, affected_total=40)
    as_ba = BreachFacts(discovered_on=DAY, affected_total=40, entity_role="business_associate")

    determination = evaluate(as_ba)

    assert determination.obligations == evaluate(base).obligations
    [note] = [w for w in determination.warnings if w.startswith("Entity role: business associate")]
    assert "Record the business associate facts" in note


def test_business_associate_role_with_its_facts_does_not_ask_for_them():
    facts = BreachFacts(
        discovered_on=None,
        affected_total=40,
        entity_role="business_associate",
        business_associate=BusinessAssociateFacts(DAY, is_agent=True),
    )

    [note] = [w for w in evaluate(facts).warnings if w.startswith("Entity role")]
    assert "Record the business associate facts" not in note


def test_every_regime_at_once_each_with_its_own_citation():
    facts = BreachFacts(
        discovered_on=DAY,
        affected_total=700,
        residents_by_state={"CA": 650},
        part2_records=True,
        licensed_facility_states=frozenset({"CA"}),
        gdpr=GdprFacts(datetime(2026, 3, 2, 15, 0, tzinfo=UTC), 50, high_risk=True),
        materiality_determined_on=date(2026, 3, 9),
    )

    determination = evaluate(facts)

    cited = {(o.kind, o.citation) for o in determination.obligations}
    assert ("individual_notice", "45 CFR 164.404(b)") in cited
    assert ("part2_individual_notice", "42 CFR 2.16(a); 45 CFR 164.404(b)") in cited
    assert ("state_regulator_notice", "Cal. Health & Safety Code 1280.15") in cited
    assert ("supervisory_authority_notice", "GDPR Art. 33(1)") in cited
    assert ("data_subject_notice", "GDPR Art. 34(1)") in cited
    assert ("sec_8k_notice", "SEC Form 8-K Item 1.05; General Instruction B.1") in cited
    due = {o.kind: o.due_on for o in determination.obligations if o.jurisdiction != "CA"}
    # 2 Mar 2026 + 60 days: 29 more in March, 30 in April, 1 May.
    assert due["individual_notice"] == due["part2_individual_notice"] == date(2026, 5, 1)
    # 15:00 UTC on 2 Mar + 72 hours.
    assert due["supervisory_authority_notice"] == date(2026, 3, 5)
    # Mon 9 Mar 2026: Tue 10 ... Fri 13.
    assert due["sec_8k_notice"] == date(2026, 3, 13)
    every = determination.obligations
    assert all(o.citation for o in every)
