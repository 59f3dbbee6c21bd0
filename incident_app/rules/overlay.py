"""State breach-notification obligations from the table in state_table.py.

State obligations are extra: they never change a HIPAA obligation. Their clocks run from the
covered entity's treated discovery date, or from the notice they are tied to (to HHS, to
individuals): the actual date when it is recorded, else the last date HIPAA allows for it.
Every jurisdiction with affected residents yields something: an obligation per applicable
row, or a warning naming the statute (never silence).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta

from incident_app.rules import holiday_calendar
from incident_app.rules.outcome import Obligation
from incident_app.rules.state_table import EVENTS
from incident_app.rules.state_table import Clock
from incident_app.rules.state_table import Jurisdiction
from incident_app.rules.state_table import StateRule
from incident_app.rules.state_table import clock_text
from incident_app.rules.state_table import jurisdictions

# ---------------------------------------------------------------- the engine


@dataclass(frozen=True)
class StateClock:
    """The HIPAA facts a state clock can be tied to.

    ``individuals_notified_on`` / ``hhs_notified_on``: the actual notice dates when recorded;
    clocks tied to those notices run from them instead of from HIPAA's last allowed date.
    """

    discovery: date
    residents_by_state: Mapping[str, int]
    hipaa_individual_due: date
    hipaa_hhs_due: date
    law_enforcement_delay: bool
    individuals_notified_on: date | None = None
    hhs_notified_on: date | None = None


@dataclass
class _Found:
    obligations: list[Obligation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def state_obligations(
    clock: StateClock, table: Mapping[str, Jurisdiction] | None = None
) -> tuple[list[Obligation], list[str]]:
    """Obligations from every applicable state row, and a warning for every deemed row and
    every jurisdiction with residents but no applicable row (never silence).

    Resident notices come first: clocks tied to "notice to individuals" use the earliest
    individual deadline, HIPAA's or the same statute's own.
    """
    table = jurisdictions() if table is None else table
    found = _Found()
    for code, residents in sorted(clock.residents_by_state.items()):
        if residents > 0:
            _jurisdiction_obligations(code, residents, clock, table.get(code), found)
    return sorted(found.obligations, key=lambda item: item.jurisdiction), found.warnings


def _jurisdiction_obligations(
    code: str, residents: int, clock: StateClock, item: Jurisdiction | None, found: _Found
) -> None:
    if item is None:
        found.warnings.append(
            f"{code}: {residents} resident(s) affected, but BreachDesk has no breach-notification "
            "table for this jurisdiction: check its law with counsel."
        )
        return
    rules = [rule for rule in item.rules if rule.applies_to(residents, clock.discovery)]
    mine: list[Obligation] = []
    for rule in sorted(rules, key=lambda rule: rule.kind != "state_individual_notice"):
        if rule.hipaa_deemed_compliant in ("yes", "conditional"):
            found.warnings.append(_deemed_warning(item, rule))
        else:
            mine.append(_obligation(item, rule, clock, mine))
    if not rules:
        found.warnings.append(_no_duty_warning(item, residents))
    found.obligations.extend(mine)


def _deemed_warning(item: Jurisdiction, rule: StateRule) -> str:
    follow = (
        "The condition is listed as its own obligation; if it is not met, the notice is due."
        if rule.hipaa_deemed_compliant == "conditional"
        else "No separate deadline is computed; the HIPAA notices satisfy it."
    )
    return (
        f"{item.name} ({item.code}): {rule.statute} — notice to {rule.recipient_name}: "
        f"deemed compliant if {rule.deemer} {rule.confidence}. {follow} Confirm with counsel "
        f"({rule.id})."
    )


def _no_duty_warning(item: Jurisdiction, residents: int) -> str:
    thresholds = (
        "; ".join(f"{rule.recipient_name}: {rule.threshold_text()}" for rule in item.rules)
        or "no notice duty is recorded"
    )
    return (
        f"{item.name} ({item.code}): {item.statute} — no notice duty reachable from these facts "
        f"({residents} resident(s); {thresholds}). Confirm with counsel."
    )


def _obligation(
    item: Jurisdiction, rule: StateRule, clock: StateClock, earlier: list[Obligation]
) -> Obligation:
    individual_due = _individual_due(rule, clock, earlier)
    due_on, detail = _due(rule, clock, individual_due)
    detail.update(_detail(item, rule, clock))
    residents = clock.residents_by_state[rule.state]
    reason = (
        f"{residents} {rule.state} resident(s) affected ({rule.threshold_text()}): "
        f"{rule.statute} requires notice to {rule.recipient_name}, {rule.period()}."
    )
    doubt = _may_not_apply(item, rule)
    if doubt:
        detail["may_not_apply"] = doubt
        reason = f"may not apply: {doubt}. {reason}"
    return Obligation(rule.kind, rule.state, due_on, rule.statute, reason, detail)


def _may_not_apply(item: Jurisdiction, rule: StateRule) -> str:
    return "; ".join(text for text in (item.applicability, rule.may_not_apply) if text)


def _individual_due(rule: StateRule, clock: StateClock, earlier: list[Obligation]) -> date:
    # Notice to individuals is due at the earlier of HIPAA's deadline and the same statute's
    # own resident deadline (another statute's letter, e.g. 1280.15's, is not assumed to be it).
    own = [
        item.due_on
        for item in earlier
        if item.citation == rule.statute
        and item.kind == "state_individual_notice"
        and item.due_on is not None
    ]
    return min([clock.hipaa_individual_due, *own])


def _due(
    rule: StateRule, clock: StateClock, individual_due: date
) -> tuple[date | None, dict[str, str]]:
    """The due date and the detail saying how it was reached."""
    if rule.clock_start == "none":
        return None, {
            "basis": (
                f"The statute sets no fixed number of days ('{rule.trigger}'), so no date is "
                f"computed; the HIPAA individual-notice deadline ({clock.hipaa_individual_due}) "
                "is the outer limit for the HIPAA notices."
            )
        }
    if rule.clock_start == "before_individual_notice":
        return _before_individual(clock, individual_due)
    assert rule.clock is not None  # the loader guarantees a clock for dated starts
    due, detail = _count(rule, rule.clock, clock, individual_due)
    if rule.alt_clock is None:
        return due, detail
    alt_due, alt_detail = _count(rule, rule.alt_clock, clock, individual_due)
    alt = clock_text(rule.alt_clock, EVENTS[rule.alt_clock.start])
    if alt_due < due:
        alt_detail["basis"] = (
            f"Whichever is sooner: the alternative clock ({alt}) ends first, on {alt_due}; "
            f"the main clock would end on {due}. {alt_detail['basis']}"
        )
        return alt_due, alt_detail
    detail["basis"] = (
        f"Whichever is sooner: the main clock ends first, on {due}; the alternative ({alt}) "
        f"would end on {alt_due}. {detail['basis']}"
    )
    return due, detail


def _before_individual(clock: StateClock, individual_due: date) -> tuple[date, dict[str, str]]:
    if clock.individuals_notified_on is not None:
        sent = clock.individuals_notified_on
        return sent, {
            "basis": (
                f"No later than the notice to residents, recorded as sent on {sent}: this "
                "notice was due that day at the latest."
            )
        }
    # "Before"/"no later than" notifying individuals: the day before the earliest individual
    # deadline is the latest date that is certainly not after it.
    return individual_due - timedelta(days=1), {
        "basis": (
            f"Must not follow the notice to individuals, due by {individual_due}; the date "
            "shown is the day before. Send it before the first letter goes out."
        )
    }


def _count(
    rule: StateRule, count: Clock, clock: StateClock, individual_due: date
) -> tuple[date, dict[str, str]]:
    start, basis = _start(rule, count, clock, individual_due)
    due = _add(start, count, rule.state)
    detail = {"basis": basis}
    if count.unit == "business":
        detail.update(_business_day_detail(rule.state, start, due))
    return due, detail


def _start(
    rule: StateRule, count: Clock, clock: StateClock, individual_due: date
) -> tuple[date, str]:
    if count.start == "discovery":
        return clock.discovery, (
            f"Counted from the covered entity's treated discovery date ({clock.discovery}); "
            f"the statute's trigger ('{rule.trigger}') cannot fall earlier, so this is the "
            "conservative date."
        )
    event = EVENTS[count.start]
    if count.start == "hhs_notice":
        sent, last = clock.hhs_notified_on, clock.hipaa_hhs_due
    else:
        sent, last = clock.individuals_notified_on, individual_due
    if sent is not None:
        return sent, f"Counted from the {event}, recorded as sent on {sent}."
    # Tied to a notice not yet sent: assume it goes out on its last allowed day. That is an
    # outer limit, not a safe target, and the detail says so.
    return last, (
        f"Counted from the last allowed date of the {event} ({last}); recomputed when the "
        f"notice is recorded. The real deadline is {count.length} {count.unit} days after "
        f"the actual {event}."
    )


def _add(start: date, count: Clock, state: str) -> date:
    if count.unit == "business":
        return holiday_calendar.add_business_days(start, count.length, state)
    return start + timedelta(days=count.length)


def _detail(item: Jurisdiction, rule: StateRule, clock: StateClock) -> dict[str, str]:
    detail = {
        "rule_id": rule.id,
        "jurisdiction_name": item.name,
        "recipient": rule.recipient,
        "recipient_name": rule.recipient_name,
        "threshold": f"{rule.threshold_text()} residents of {rule.state}",
        "residents": str(clock.residents_by_state[rule.state]),
        "clock_start": rule.trigger,
        "period": rule.period(),
        "hipaa_deemed_compliant": rule.hipaa_deemed_compliant,
        "confidence": rule.confidence,
        "checked_against": rule.checked_against,
        "checked_on": rule.checked_on.isoformat(),
        # Kept for the determination page, which shows "last verified".
        "last_verified": rule.checked_on.isoformat(),
        "statute_url": rule.statute_url,
        "source": rule.source,
    }
    optional = {"deemer": rule.deemer, "note": rule.note}
    detail.update({key: value for key, value in optional.items() if value})
    if rule.verify_with_counsel:
        detail["verify_with_counsel"] = (
            f"{rule.confidence} row checked against a {rule.checked_against} source: "
            "verify with counsel"
        )
    if clock.law_enforcement_delay and rule.clock_start == "discovery":
        detail["law_enforcement_delay"] = (
            "not applied: the state statute's own law-enforcement delay provision governs"
        )
    return detail


def _business_day_detail(state: str, start: date, due_on: date) -> dict[str, str]:
    skipped = holiday_calendar.non_business_days(start, due_on, state)
    detail = {
        "business_days": f"weekends and {state} state holidays excluded",
        "holidays_skipped": ", ".join(f"{day} {name}" for day, name in skipped) or "none",
    }
    gaps = {
        name
        for year in range(start.year, due_on.year + 1)
        for name in holiday_calendar.calendar_gaps(year, state)
    }
    if gaps:
        detail["calendar_warning"] = (
            f"dates unknown for {', '.join(sorted(gaps))} in this period; "
            "check the deadline by hand"
        )
    return detail
