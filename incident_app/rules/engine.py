"""Facts in, determination out: the one entry point of the rules package."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from incident_app.rules import holiday_calendar
from incident_app.rules.clients import ClientFacts
from incident_app.rules.clients import client_notices
from incident_app.rules.clients import delegated_notices
from incident_app.rules.delay import delay_window
from incident_app.rules.discovery import treated_discovery
from incident_app.rules.facts import FTC_ROLES
from incident_app.rules.facts import BreachFacts
from incident_app.rules.facts import InvalidFacts
from incident_app.rules.hipaa import MEDIA_THRESHOLD
from incident_app.rules.hipaa import Clock
from incident_app.rules.outcome import Determination
from incident_app.rules.outcome import Obligation
from incident_app.rules.overlay import StateClock
from incident_app.rules.overlay import state_obligations
from incident_app.rules.regimes import breach_reportability
from incident_app.rules.regimes import independent_obligations
from incident_app.rules.regimes import not_reportable_notes
from incident_app.rules.regimes import primary_obligations
from incident_app.rules.regimes import with_facility_rules

FTC_KINDS = ("ftc_notice", "ftc_annual_log")
NON_HIPAA_STATE_NOTE = (
    "The entity is not a HIPAA covered entity or business associate (16 CFR 318): state "
    "provisions that deem HIPAA-compliant entities compliant do not help it, and clocks tied "
    "to 'notice to HHS' are shown from the FTC notice. Confirm each state's duty with counsel."
)
STATE_LAW_CAVEAT = (
    "State breach laws define 'breach' and their exemptions differently; confirm with counsel "
    "that no state notice is due (REGULATORY.md §4)."
)


def evaluate(facts: BreachFacts, clients: Sequence[ClientFacts] = ()) -> Determination:
    """Determine whether the incident is a reportable breach and every notice that follows.

    The primary regime's obligations come first: HIPAA (45 CFR 164.404-164.410, delayed
    under 164.412) with 42 CFR Part 2, or for PHR vendors the FTC rule (16 CFR 318); then the
    state obligations from the overlay table, then SEC Item 1.05 and GDPR Art. 33/34, whose
    triggers are their own (so they appear even when the breach is not reportable). Invalid
    facts cannot reach this function: BreachFacts raises InvalidFacts when it is built.

    ``clients``: in business-associate mode, the covered-entity clients whose PHI the breach
    touched; each gets its 164.410 notice and its contractual deadline (rules.clients).
    Raises InvalidFacts for clients under an FTC role (16 CFR 318 entities are not HIPAA
    business associates).
    """
    if clients and facts.entity_role in FTC_ROLES:
        raise InvalidFacts(
            "entity_role",
            f"{facts.entity_role} is an FTC role: covered-entity clients (45 CFR 164.410) "
            "belong to a HIPAA business associate",
        )
    discovery = treated_discovery(facts)
    reportable, reason = breach_reportability(facts)
    independent, independent_notes = independent_obligations(facts, discovery.on)
    if not reportable:
        notes = (STATE_LAW_CAVEAT, *not_reportable_notes(facts, discovery.on), *independent_notes)
        return Determination(False, reason, discovery.on, tuple(independent), notes)
    window = delay_window(facts.law_enforcement_delay) if facts.law_enforcement_delay else None
    clock = Clock(facts, discovery.on, window)
    primary, primary_notes = primary_obligations(facts, clock)
    states, state_notes = _states(facts, discovery.on, primary)
    per_client, client_notes = client_notices(clock, clients)
    delegated, delegated_notes = delegated_notices(facts, discovery.on, clients, evaluate)
    obligations = (*primary, *per_client, *delegated, *states, *independent)
    warnings = [
        *discovery.warnings,
        *_count_warnings(facts),
        *(window.warnings if window else ()),
        *([_delay_summary(window.basis)] if window else []),
        *primary_notes,
        *client_notes,
        *delegated_notes,
        *state_notes,
        *independent_notes,
        *filter(None, map(weekend_warning, obligations)),
    ]
    reason = f"{reason} Deadlines run from {discovery.basis}."
    return Determination(True, reason, discovery.on, obligations, tuple(warnings))


def _states(
    facts: BreachFacts, discovery: date, primary: list[Obligation]
) -> tuple[list[Obligation], list[str]]:
    if facts.entity_role == "third_party_service_provider":
        return [], []  # no notice to individuals of its own; ftc.py says why
    states, notes = state_obligations(_state_clock(facts, discovery, primary))
    if facts.entity_role in FTC_ROLES and states:
        notes = [*notes, NON_HIPAA_STATE_NOTE]
    return with_facility_rules(facts, discovery, states), notes


def _state_clock(facts: BreachFacts, discovery: date, hipaa: list[Obligation]) -> StateClock:
    return StateClock(
        discovery=discovery,
        residents_by_state=dict(facts.residents_by_state),
        hipaa_individual_due=_hipaa_due(hipaa, ("individual_notice",)),
        # For a PHR vendor (no HIPAA notices) the FTC notice stands in for the HHS one.
        hipaa_hhs_due=_hipaa_due(hipaa, ("hhs_notice", "hhs_annual_log", *FTC_KINDS)),
        law_enforcement_delay=facts.law_enforcement_delay is not None,
        # State clocks tied to a notice run from its actual date once it is recorded.
        individuals_notified_on=sent.individuals_on if (sent := facts.notices_sent) else None,
        hhs_notified_on=sent.hhs_on if sent else None,
    )


def _hipaa_due(hipaa: list[Obligation], kinds: tuple[str, ...]) -> date:
    # Every HIPAA obligation has a date; exactly one of the HHS kinds is present.
    return next(item.due_on for item in hipaa if item.kind in kinds and item.due_on is not None)


def _count_warnings(facts: BreachFacts) -> list[str]:
    warnings = []
    if facts.affected_total == 0:
        warnings.append(
            "affected_total is 0: record the number of individuals affected (an estimate is "
            "allowed); the obligations assume someone was affected."
        )
    unassigned = facts.affected_total - sum(facts.residents_by_state.values())
    if unassigned == 0:
        return warnings
    largest = max(facts.residents_by_state.values(), default=0)
    if largest + unassigned > MEDIA_THRESHOLD:
        # The unassigned individuals could all live in one state and push it over 500.
        warnings.append(
            f"{unassigned} affected individual(s) have no state of residence recorded: media "
            "notice (45 CFR 164.406, more than 500 residents of a State) cannot be ruled out "
            "until every individual's state is known."
        )
    warnings.append(
        f"{unassigned} affected individual(s) have no state of residence recorded: state-law "
        "notices for their states are not computed."
    )
    return warnings


def _delay_summary(basis: str) -> str:
    return (
        f"Law-enforcement delay (45 CFR 164.412): {basis}. Each delayed deadline is the later "
        "of its original date and the end of the delay (end-of-delay model); the tolling "
        "reading (original deadline plus the length of the delay) is in each obligation's "
        "detail as tolling_reading_due_on. Confirm the model with counsel."
    )


def weekend_warning(obligation: Obligation) -> str | None:
    """A warning when a due date falls on a weekend or US federal holiday (no roll-forward)."""
    due = obligation.due_on
    if due is None:
        return None
    holiday = holiday_calendar.holiday_name(due)
    if due.weekday() < holiday_calendar.SAT and holiday is None:
        return None
    what = holiday if holiday else holiday_calendar.WEEKDAY_NAMES[due.weekday()]
    return (
        f"{obligation.kind} ({obligation.jurisdiction}) is due {due}, a {what}. The rule does "
        "not move the deadline: plan to send by "
        f"{holiday_calendar.previous_business_day(due)}, the previous federal business day."
    )
