"""How long an identity-protection (credit monitoring) offer must last, state by state, and
whether the incident's offer is shorter.

HIPAA itself requires no offer (45 CFR 164.404(c) asks only what the covered entity is doing
to mitigate harm); some state laws do. The lengths come from the state table's residents rows
that carry ``offer_months`` (states/<CODE>.toml), with the row's confidence and source: only
what the repository's sources support (PA 12 months, Act 33 of 2024; DC 18 months, D.C. Code
28-3852.02). Each applies only under its condition (which data were breached), which this
module cannot see: it says when the condition matters instead of deciding it.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from incident_app.rules.state_table import StateRule


@dataclass(frozen=True)
class OfferRequirement:
    """One state's required offer length beside the incident's offer."""

    state: str
    rule_id: str
    statute: str
    months: int
    condition: str
    confidence: str
    verify_with_counsel: bool
    residents: int
    offered_months: int | None  # None: no offer recorded yet

    @property
    def short(self) -> bool:
        """The offer is missing or shorter than the state requires (when its condition holds)."""
        return self.offered_months is None or self.offered_months < self.months


def offer_requirements(
    rules: Iterable[StateRule],
    *,
    residents_by_state: Mapping[str, int],
    discovered_on: date | None,
    offered_months: int | None,
) -> list[OfferRequirement]:
    """The offer lengths required in the states the incident's residents live in, longest
    first. Without a discovery date every row counts (the conservative reading)."""
    found = []
    for rule in rules:
        residents = residents_by_state.get(rule.state, 0)
        if rule.offer_months is None or residents <= 0:
            continue
        if discovered_on is not None and not rule.applies_to(residents, discovered_on):
            continue
        found.append(
            OfferRequirement(
                state=rule.state,
                rule_id=rule.id,
                statute=rule.statute,
                months=rule.offer_months,
                condition=rule.offer_condition,
                confidence=rule.confidence,
                verify_with_counsel=rule.verify_with_counsel,
                residents=residents,
                offered_months=offered_months,
            )
        )
    return sorted(found, key=lambda r: (-r.months, r.state))


def longest_required(requirements: Iterable[OfferRequirement]) -> int | None:
    """The longest offer any of the states requires, or None when none does."""
    return max((r.months for r in requirements), default=None)
