"""The date the covered entity's clocks run from (45 CFR 164.404(a)(2), 164.410(a)(2))."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from incident_app.rules.facts import BreachFacts
from incident_app.rules.facts import BusinessAssociateFacts


@dataclass(frozen=True)
class TreatedDiscovery:
    on: date
    basis: str
    warnings: tuple[str, ...] = ()


def treated_discovery(facts: BreachFacts) -> TreatedDiscovery:
    """The covered entity's treated discovery date and the rule that produced it.

    164.404(a)(2): the first day the breach is known (or by reasonable diligence would have
    been known) to a workforce member or agent. A business associate's knowledge counts only
    when it is the covered entity's agent; otherwise the covered entity learns of the breach
    when the BA notifies it (HHS preamble, 74 FR 42740; REGULATORY.md §1.3).
    """
    own = facts.discovered_on
    if facts.business_associate is None:
        assert own is not None  # BreachFacts guarantees one of the two
        return TreatedDiscovery(own, f"the covered entity's own discovery on {own}")
    via_ba = _via_business_associate(facts.business_associate)
    if own is not None and own < via_ba.on:
        # The covered entity knew before the BA's knowledge reached it: its own date governs,
        # whatever the answer to the agency question, so no warning about it is needed.
        return TreatedDiscovery(
            own, f"the covered entity's own discovery on {own}, before {via_ba.on}"
        )
    return via_ba


def _via_business_associate(ba: BusinessAssociateFacts) -> TreatedDiscovery:
    if ba.is_agent:
        return TreatedDiscovery(
            ba.discovered_on,
            f"the business associate's discovery on {ba.discovered_on}: the BA is the covered "
            "entity's agent, so its knowledge is imputed",
        )
    notified = ba.notified_covered_entity_on
    if ba.is_agent is False and notified is not None:
        return TreatedDiscovery(
            notified,
            f"the date the business associate notified the covered entity ({notified}): the BA "
            "is an independent contractor",
        )
    return TreatedDiscovery(
        ba.discovered_on,
        f"the business associate's discovery on {ba.discovered_on} (the earlier, stricter date)",
        (_undetermined_warning(ba),),
    )


def _undetermined_warning(ba: BusinessAssociateFacts) -> str:
    if ba.is_agent is None:
        problem = "whether the business associate is the covered entity's agent is undetermined"
    else:
        problem = "the date the business associate notified the covered entity is unknown"
    later = ba.notified_covered_entity_on
    alternative = (
        f"; as an independent contractor the clock would run from {later}"
        if later is not None and later != ba.discovered_on
        else ""
    )
    return (
        f"Treated discovery: {problem}, so the covered entity's deadlines run from the BA's "
        f"discovery on {ba.discovered_on} (the stricter date){alternative}. Record the agency "
        "determination and the notification date to confirm."
    )
