"""Which breach regimes the facts call for, and how they combine (issue #17 §2).

The primary regime follows the entity's role: HIPAA (45 CFR 164.400-414) for covered entities
and business associates, plus 42 CFR Part 2 for Part 2 records; the FTC rule (16 CFR 318) for
PHR vendors, PHR related entities and their service providers, which never get HIPAA
obligations. SEC Form 8-K Item 1.05 and GDPR Art. 33/34 have their own triggers (a materiality
determination; EU/EEA data subjects) and are computed whatever the HIPAA/FTC determination is.
Cal. Health & Safety Code 1280.15 replaces the state table's 1280.15 rows when the entity is a
licensed California facility.
"""

from __future__ import annotations

from datetime import date

from incident_app.rules import ca_facility
from incident_app.rules.facts import FTC_ROLES
from incident_app.rules.facts import BreachFacts
from incident_app.rules.ftc import ftc_obligations
from incident_app.rules.ftc import ftc_reportability
from incident_app.rules.gdpr import gdpr_obligations
from incident_app.rules.hipaa import Clock
from incident_app.rules.hipaa import hipaa_obligations
from incident_app.rules.hipaa import reportability
from incident_app.rules.outcome import Obligation
from incident_app.rules.part2 import part2_obligations
from incident_app.rules.sec import sec_8k_notice

Found = tuple[list[Obligation], list[str]]


def is_ftc_entity(facts: BreachFacts) -> bool:
    return facts.entity_role in FTC_ROLES


def breach_reportability(facts: BreachFacts) -> tuple[bool, str]:
    """The primary regime's answer: 16 CFR 318.2 for FTC roles, else 45 CFR 164.402."""
    return ftc_reportability(facts) if is_ftc_entity(facts) else reportability(facts)


def primary_obligations(facts: BreachFacts, clock: Clock) -> Found:
    """HIPAA (with Part 2 and the BA role note) or the FTC rule, by the entity's role."""
    warnings: list[str] = []
    if is_ftc_entity(facts):
        obligations, warnings = ftc_obligations(facts, clock.discovery, clock.delay)
        part2_base = hipaa_obligations(clock) if facts.part2_records else []
    else:
        obligations = part2_base = hipaa_obligations(clock)
        if facts.entity_role == "business_associate":
            warnings.append(_business_associate_note(facts))
    if facts.part2_records:
        part2, part2_notes = part2_obligations(part2_base, clock.discovery)
        obligations = [*obligations, *part2]
        warnings.extend(part2_notes)
    return obligations, warnings


def independent_obligations(facts: BreachFacts, discovery: date) -> Found:
    """SEC Item 1.05 and GDPR Art. 33/34: triggered by their own facts."""
    obligations: list[Obligation] = []
    warnings: list[str] = []
    if facts.materiality_determined_on is not None:
        obligations.append(sec_8k_notice(facts.materiality_determined_on, discovery))
    if facts.gdpr is not None:
        found, notes = gdpr_obligations(facts.gdpr)
        obligations.extend(found)
        warnings.extend(notes)
    return obligations, warnings


def with_facility_rules(
    facts: BreachFacts, discovery: date, states: list[Obligation]
) -> list[Obligation]:
    """The state obligations, with 1280.15 computed here for a licensed CA facility."""
    if not ca_facility.applies(facts):
        return states
    kept = [item for item in states if not ca_facility.is_table_row(item)]
    return [*kept, *ca_facility.facility_obligations(facts, discovery)]


def not_reportable_notes(facts: BreachFacts, discovery: date) -> list[str]:
    """What a 'not reportable' answer must not hide: 1280.15 has no risk-of-harm test."""
    if not ca_facility.applies(facts):
        return []
    due = ca_facility.facility_obligations(facts, discovery)[0].due_on
    return [
        "Cal. Health & Safety Code 1280.15 (licensed California facility) has its own "
        "definition of unauthorized access, use or disclosure and no low-probability test: if "
        f"it applies, CDPH and each patient must be told by {due} (15 business days after "
        "detection). Confirm with counsel."
    ]


def _business_associate_note(facts: BreachFacts) -> str:
    return (
        "Entity role: business associate. The notices to individuals, HHS and the media are "
        "the covered entity's duties (45 CFR 164.404-408); the business associate's own duty "
        "is to notify the covered entity within 60 days of its discovery (164.410), unless the "
        "business associate agreement delegates the notices."
        + (
            ""
            if facts.business_associate is not None
            else " Record the business associate facts to compute that deadline."
        )
    )
