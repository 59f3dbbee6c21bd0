"""State breach-notification rules stricter than HIPAA, from the table in state_rules.toml.

State obligations are extra: they never change a HIPAA obligation. Their clocks are counted
from the covered entity's treated discovery date, or from the HIPAA deadline of the event
they are tied to (notice to HHS, notice to individuals), and each obligation's detail says
which, together with the row's confidence marker, source and last-verified date.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from functools import cache
from pathlib import Path

from incident_app.rules import holiday_calendar
from incident_app.rules.facts import STATE_CODES
from incident_app.rules.outcome import Obligation

RULES_FILE = Path(__file__).with_name("state_rules.toml")

RECIPIENTS = ("residents", "attorney_general", "other_regulator")
CLOCK_STARTS = ("discovery", "hhs_notice", "individual_notice", "before_individual_notice", "none")
DEEMED = ("yes", "partial", "no", "unknown")
CONFIDENCE = ("[V]", "[S]", "[M]")
OPERATORS = (">", ">=")
UNITS = ("calendar", "business")


@dataclass(frozen=True)
class StateRule:
    """One row of the state table (see the column notes at the top of state_rules.toml)."""

    id: str
    state: str
    statute: str
    recipient: str
    recipient_name: str
    threshold: int
    threshold_operator: str
    clock_start: str
    trigger: str
    hipaa_deemed_compliant: str
    confidence: str
    source: str
    last_verified: date
    length: int | None = None
    unit: str | None = None
    effective_from: date | None = None
    effective_until: date | None = None
    note: str = ""

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"state rule {self.id}: {name} {getattr(self, name)!r}")
        dated = self.clock_start not in ("none", "before_individual_notice")
        if dated != (self.length is not None and self.unit in UNITS):
            raise ValueError(f"state rule {self.id}: length/unit do not fit {self.clock_start}")
        if self.unit == "business" and self.state not in holiday_calendar.CALENDARS:
            raise ValueError(f"state rule {self.id}: no holiday calendar for {self.state}")

    @property
    def kind(self) -> str:
        if self.recipient == "residents":
            return "state_individual_notice"
        return "state_regulator_notice"

    def applies_to(self, residents: int, discovery: date) -> bool:
        """The threshold is met and the rule was in force on the treated discovery date."""
        met = (
            residents > self.threshold
            if self.threshold_operator == ">"
            else (residents >= self.threshold)
        )
        starts = self.effective_from or date.min
        ends = self.effective_until or date.max
        return met and residents > 0 and starts <= discovery <= ends

    def period(self) -> str:
        if self.clock_start == "before_individual_notice":
            return self.trigger
        if self.length is None:
            return f"with no fixed period ({self.trigger})"
        if self.length == 0:
            return f"no later than {self.trigger}"
        return f"within {self.length} {self.unit} days after {self.trigger}"

    def threshold_text(self) -> str:
        word = "more than" if self.threshold_operator == ">" else "at least"
        return f"{word} {self.threshold}"


_CHOICES = {
    "state": STATE_CODES,
    "recipient": RECIPIENTS,
    "clock_start": CLOCK_STARTS,
    "hipaa_deemed_compliant": DEEMED,
    "confidence": CONFIDENCE,
    "threshold_operator": OPERATORS,
}


@cache
def state_rules() -> tuple[StateRule, ...]:
    """Every row of the shipped state table, read once."""
    return load_state_rules(RULES_FILE)


def load_state_rules(path: Path) -> tuple[StateRule, ...]:
    """Every row of a state table; raises ValueError on a malformed row or duplicate id."""
    with path.open("rb") as handle:
        rows = tomllib.load(handle)["rule"]
    rules = tuple(StateRule(**row) for row in rows)
    if len({rule.id for rule in rules}) != len(rules):
        raise ValueError("state_rules.toml: duplicate rule id")
    return rules


@dataclass(frozen=True)
class StateClock:
    """The HIPAA facts a state clock can be tied to."""

    discovery: date
    residents_by_state: dict[str, int]
    hipaa_individual_due: date
    hipaa_hhs_due: date
    law_enforcement_delay: bool


def state_obligations(clock: StateClock) -> tuple[list[Obligation], list[str]]:
    """Obligations from every applicable state rule, and notes on the rules deemed satisfied.

    Resident notices come first: regulator clocks tied to "notice to individuals" use the
    earliest individual deadline, HIPAA's or the state's own.
    """
    obligations: list[Obligation] = []
    notes: list[str] = []
    applicable = [
        rule
        for rule in state_rules()
        if rule.applies_to(clock.residents_by_state.get(rule.state, 0), clock.discovery)
    ]
    for rule in sorted(applicable, key=lambda rule: rule.kind != "state_individual_notice"):
        if rule.hipaa_deemed_compliant == "yes":
            notes.append(_deemed_note(rule))
        else:
            obligations.append(_obligation(rule, clock, obligations))
    return sorted(obligations, key=lambda item: item.jurisdiction), notes


def _deemed_note(rule: StateRule) -> str:
    # Only [S]/[V] claims are marked "yes" in the table, and the user still sees this note.
    return (
        f"{rule.state}: {rule.statute} deems HIPAA-compliant entities compliant for notice to "
        f"{rule.recipient_name} {rule.confidence}, so no separate deadline is computed; the HIPAA "
        "notices satisfy it. Confirm with counsel."
    )


def _obligation(rule: StateRule, clock: StateClock, earlier: list[Obligation]) -> Obligation:
    due_on, start, basis = _due(rule, clock, _individual_due(rule, clock, earlier))
    detail = _detail(rule, clock, basis)
    if rule.unit == "business" and due_on is not None:
        detail.update(_business_day_detail(rule, start, due_on))
    residents = clock.residents_by_state[rule.state]
    reason = (
        f"{residents} {rule.state} resident(s) affected ({rule.threshold_text()}): "
        f"{rule.statute} requires notice to {rule.recipient_name}, {rule.period()}."
    )
    return Obligation(rule.kind, rule.state, due_on, rule.statute, reason, detail)


def _individual_due(rule: StateRule, clock: StateClock, earlier: list[Obligation]) -> date:
    # Notice to individuals is due at the earlier of HIPAA's deadline and the same statute's
    # own resident deadline (another statute's letter, e.g. 1280.15's, is not assumed to be it).
    own = [
        item.due_on
        for item in earlier
        if item.jurisdiction == rule.state
        and item.citation == rule.statute
        and item.kind == "state_individual_notice"
        and item.due_on is not None
    ]
    return min([clock.hipaa_individual_due, *own])


def _due(rule: StateRule, clock: StateClock, individual_due: date) -> tuple[date | None, date, str]:
    """The due date, the day the clock started, and how the date was reached."""
    if rule.clock_start == "none":
        return (
            None,
            clock.discovery,
            (
                f"The statute sets no fixed number of days ('{rule.trigger}'), so no date is "
                f"computed; the HIPAA individual-notice deadline ({clock.hipaa_individual_due}) "
                "is the outer limit for the HIPAA notices."
            ),
        )
    if rule.clock_start == "before_individual_notice":
        # "Before" notifying individuals: the day before the earliest individual deadline is
        # the latest date that is certainly before it.
        return (
            individual_due - timedelta(days=1),
            individual_due,
            (
                f"Must precede the notice to individuals, due by {individual_due}; the date shown "
                "is the day before. Send it before the first letter goes out."
            ),
        )
    start, basis = _clock_start(rule, clock, individual_due)
    return _add(start, rule), start, basis


def _clock_start(rule: StateRule, clock: StateClock, individual_due: date) -> tuple[date, str]:
    if rule.clock_start == "discovery":
        return clock.discovery, (
            f"Counted from the covered entity's treated discovery date ({clock.discovery}); "
            f"the statute's trigger ('{rule.trigger}') cannot fall earlier, so this is the "
            "conservative date."
        )
    if rule.clock_start == "hhs_notice":
        event, start = "notice to HHS", clock.hipaa_hhs_due
    else:
        event, start = "notice to individuals", individual_due
    # Tied to an event whose date is not yet known: assume it happens on its last permissible
    # day. That is an outer limit, not a safe target, and the detail says so.
    return start, (
        f"Runs from the {event}; assumes it is given on its last permissible day ({start}). "
        f"The real deadline is {rule.length} {rule.unit} days after the actual {event}: "
        "recompute when it is sent."
    )


def _add(start: date, rule: StateRule) -> date:
    assert rule.length is not None  # StateRule guarantees it for dated clocks
    if rule.unit == "business":
        return holiday_calendar.add_business_days(start, rule.length, rule.state)
    return start + timedelta(days=rule.length)


def _detail(rule: StateRule, clock: StateClock, basis: str) -> dict[str, str]:
    detail = {
        "rule_id": rule.id,
        "recipient": rule.recipient,
        "recipient_name": rule.recipient_name,
        "threshold": f"{rule.threshold_text()} residents of {rule.state}",
        "residents": str(clock.residents_by_state[rule.state]),
        "clock_start": rule.trigger,
        "period": rule.period(),
        "basis": basis,
        "hipaa_deemed_compliant": rule.hipaa_deemed_compliant,
        "confidence": rule.confidence,
        "source": rule.source,
        "last_verified": rule.last_verified.isoformat(),
    }
    if rule.note:
        detail["note"] = rule.note
    if clock.law_enforcement_delay and rule.clock_start == "discovery":
        detail["law_enforcement_delay"] = (
            "not applied: the state statute's own law-enforcement delay provision governs"
        )
    return detail


def _business_day_detail(rule: StateRule, start: date, due_on: date) -> dict[str, str]:
    skipped = holiday_calendar.non_business_days(start, due_on, rule.state)
    detail = {
        "business_days": f"weekends and {rule.state} state holidays excluded",
        "holidays_skipped": ", ".join(f"{day} {name}" for day, name in skipped) or "none",
    }
    gaps = {
        name
        for year in range(start.year, due_on.year + 1)
        for name in holiday_calendar.calendar_gaps(year, rule.state)
    }
    if gaps:
        detail["calendar_warning"] = (
            f"dates unknown for {', '.join(sorted(gaps))} in this period; "
            "check the deadline by hand"
        )
    return detail
