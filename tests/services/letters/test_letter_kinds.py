"""Every obligation kind the rules can emit has a letter, or an explicit "no letter" reason.

The kinds are read from incident_app/rules itself (the string literals its modules pass as an
obligation's kind, the state table's recipient kinds and the Part 2 mirrors), not copied here,
and checked once more against what rules.evaluate actually returns for a wide set of facts.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

import pytest

from incident_app import letters
from incident_app import rules
from incident_app.rules import part2
from incident_app.rules import state_table
from incident_app.services.letters import context as letter_context

RULES_DIR = Path(rules.__file__).parent
KIND = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*_(notice|log)")


def _string_arguments() -> set[str]:
    """String literals passed positionally to a call in rules/ (Obligation(kind, ...) or a
    helper such as hipaa._delayable(clock, kind, ...)) that look like a kind."""
    found = set()
    for path in RULES_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for argument in node.args:
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    if KIND.fullmatch(argument.value):
                        found.add(argument.value)
    return found


def kinds_the_rules_can_emit() -> set[str]:
    static = _string_arguments() | set(state_table.KINDS.values())
    return static | {f"part2_{kind}" for kind in part2.MIRRORED}


def test_the_derivation_finds_the_kinds_of_every_regime():
    kinds = kinds_the_rules_can_emit()
    # A floor, so a broken derivation cannot pass by finding nothing.
    assert {"individual_notice", "hhs_notice", "cra_notice", "ftc_notice"} <= kinds
    assert {"supervisory_authority_notice", "sec_8k_notice", "part2_hhs_notice"} <= kinds


@pytest.mark.parametrize("kind", sorted(kinds_the_rules_can_emit()))
def test_every_kind_has_a_letter_or_a_reason_for_none(kind):
    templates = letter_context.templates_for(kind)
    reason = letter_context.NO_LETTER.get(kind, "")
    assert bool(templates) != bool(reason.strip()), kind
    for name in templates:
        assert name in letters.known_templates()
        assert name in letter_context.TEMPLATE_LABELS
        assert name in letter_context._BUILDERS


def _fact_sets() -> list[rules.BreachFacts]:
    residents = {state: 1500 for state in ("CA", "IL", "MN", "NY", "TX", "UT", "WA", "PR")}
    gdpr = rules.GdprFacts(aware_at=datetime(2026, 3, 1, tzinfo=UTC), data_subjects=9)
    common = {"discovered_on": date(2026, 3, 1), "residents_by_state": residents}
    total = sum(residents.values())
    return [
        rules.BreachFacts(
            affected_total=total,
            part2_records=True,
            insufficient_contact_count=20,
            licensed_facility_states=frozenset({"CA"}),
            gdpr=rules.GdprFacts(aware_at=gdpr.aware_at, data_subjects=9, high_risk=True),
            materiality_determined_on=date(2026, 3, 3),
            **common,
        ),
        rules.BreachFacts(
            affected_total=40,
            discovered_on=date(2026, 3, 1),
            residents_by_state={"IL": 40},
            gdpr=rules.GdprFacts(aware_at=gdpr.aware_at, data_subjects=9, controller=False),
            part2_records=True,
        ),
        rules.BreachFacts(affected_total=total, entity_role="phr_vendor", **common),
        rules.BreachFacts(
            affected_total=40,
            discovered_on=date(2026, 3, 1),
            residents_by_state={"IL": 40},
            entity_role="phr_vendor",
        ),
        rules.BreachFacts(
            affected_total=total, entity_role="third_party_service_provider", **common
        ),
    ]


def test_what_the_engine_returns_is_within_the_derived_kinds_and_has_letters():
    derived = kinds_the_rules_can_emit()
    emitted = {o.kind for facts in _fact_sets() for o in rules.evaluate(facts).obligations}
    assert emitted <= derived, emitted - derived
    assert all(
        letter_context.templates_for(kind) or letter_context.NO_LETTER.get(kind) for kind in emitted
    )
    assert len(emitted) >= 15
