"""State breach-notification rules, one table per jurisdiction in states/<CODE>.toml.

State obligations are extra: they never change a HIPAA obligation. Their clocks run from the
covered entity's treated discovery date, or from the notice they are tied to (to HHS, to
individuals): the actual date when it is recorded, else the last date HIPAA allows for it.
Every jurisdiction with affected residents yields something: an obligation per applicable
row, or a warning naming the statute (never silence).

The table's columns follow the issue #17 schema (the shared brief for the rules helpers), with
one addition: a row may carry its own ``statute`` (shown as the obligation's citation) when it
comes from another provision than the jurisdiction's main statute, as ``statute_url`` may.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta
from functools import cache
from pathlib import Path

from incident_app.rules import holiday_calendar
from incident_app.rules.outcome import Obligation

STATES_DIR = Path(__file__).with_name("states")

# The 54 jurisdictions the table must cover: the 50 states, DC, PR, GU, VI (AS and MP have
# no breach statute table; a breach touching them still yields a warning).
COVERED_CODES = tuple(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI
    """.split()
)

RECIPIENTS = ("residents", "attorney_general", "other_regulator", "consumer_reporting_agencies")
DATED_STARTS = ("discovery", "hhs_notice", "individual_notice")
CLOCK_STARTS = (*DATED_STARTS, "before_individual_notice", "none")
DEEMED = ("yes", "conditional", "partial", "no", "unknown")
INTERPLAY = ("none", "deemed", "conditional", "partial", "unknown")
CONFIDENCE = ("[V]", "[S]", "[M]")
CHECKED_AGAINST = ("statute", "secondary")
OPERATORS = (">", ">=")
UNITS = ("calendar", "business")
KINDS = {
    "residents": "state_individual_notice",
    "attorney_general": "state_regulator_notice",
    "other_regulator": "state_regulator_notice",
    "consumer_reporting_agencies": "cra_notice",
}
EVENTS = {
    "discovery": "discovery",
    "hhs_notice": "notice to HHS",
    "individual_notice": "notice to individuals",
}


@dataclass(frozen=True)
class Clock:
    """One way of counting a deadline: from an event, a number of calendar or business days."""

    start: str
    length: int
    unit: str


@dataclass(frozen=True)
class StateRule:
    """One [[rule]] row of a jurisdiction's table, already validated by the loader."""

    id: str
    state: str
    statute: str
    statute_url: str
    recipient: str
    recipient_name: str
    threshold: int
    threshold_operator: str
    clock_start: str
    trigger: str
    hipaa_deemed_compliant: str
    confidence: str
    checked_against: str
    checked_on: date
    source: str
    clock: Clock | None = None
    alt_clock: Clock | None = None
    effective_from: date | None = None
    effective_until: date | None = None
    deemer: str = ""
    may_not_apply: str = ""
    note: str = ""

    @property
    def kind(self) -> str:
        return KINDS[self.recipient]

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
            return f"no later than the notice to residents ({self.trigger})"
        if self.clock is None:
            return f"with no fixed period ({self.trigger})"
        text = _clock_text(self.clock, self.trigger)
        if self.alt_clock is not None:
            alt = _clock_text(self.alt_clock, EVENTS[self.alt_clock.start])
            text = f"{text}, or {alt}, whichever is sooner"
        return text

    def threshold_text(self) -> str:
        word = "more than" if self.threshold_operator == ">" else "at least"
        return f"{word} {self.threshold}"

    @property
    def verify_with_counsel(self) -> bool:
        return self.confidence == "[M]" or self.checked_against == "secondary"


def _clock_text(clock: Clock, trigger: str) -> str:
    if clock.length == 0:
        return f"no later than {trigger}"
    return f"within {clock.length} {clock.unit} days after {trigger}"


@dataclass(frozen=True)
class Jurisdiction:
    """One states/<CODE>.toml file: the statute and its rows."""

    code: str
    name: str
    statute: str
    statute_url: str
    hipaa_interplay: str
    applicability: str = ""
    rules: tuple[StateRule, ...] = ()


# ---------------------------------------------------------------- loading and validation


class _Row:
    """Reads one TOML table, remembering which keys were used so unknown ones are reported."""

    def __init__(self, data: Mapping[str, object], where: str) -> None:
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"state rule {self.where}: {problem}")

    def raw(self, key: str) -> object:
        self.used.add(key)
        return self.data.get(key)

    def text(self, key: str, required: bool = True) -> str:
        value = self.raw(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(f"{key} must be a non-empty string, got {value!r}")
        return value

    def choice(self, key: str, allowed: Iterable[str]) -> str:
        value = self.raw(key)
        if value not in tuple(allowed):
            raise self.fail(f"{key} {value!r} is not one of {', '.join(allowed)}")
        return str(value)

    def count(self, key: str, required: bool = True) -> int | None:
        value = self.raw(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"{key} must be a whole number >= 0, got {value!r}")
        return value

    def day(self, key: str, required: bool = True) -> date | None:
        value = self.raw(key)
        if value is None and not required:
            return None
        if not isinstance(value, date) or isinstance(value, datetime):
            raise self.fail(f"{key} must be a TOML date (YYYY-MM-DD), got {value!r}")
        return value

    def url(self, key: str, required: bool = True) -> str:
        value = self.text(key, required)
        if value and not value.startswith(("https://", "http://")):
            raise self.fail(f"{key} must be an http(s) URL, got {value!r}")
        return value

    def check_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(f"unknown key(s) {', '.join(unknown)}")


def load_jurisdiction(path: Path) -> Jurisdiction:
    """One jurisdiction file; raises ValueError naming the file and rule id on any bad value."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"state rule file {path.name}: {error}") from error
    top = _Row(data, path.name)
    head = top.raw("jurisdiction")
    if not isinstance(head, dict):
        raise top.fail("missing [jurisdiction] table")
    rows = top.raw("rule")
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise top.fail("rule must be an array of [[rule]] tables")
    top.check_unknown()
    jurisdiction = _jurisdiction(_Row(head, f"{path.name} [jurisdiction]"), path.stem)
    rules = tuple(_rule(row, jurisdiction, path.name) for row in rows)
    return dataclasses.replace(jurisdiction, rules=rules)


def _jurisdiction(row: _Row, stem: str) -> Jurisdiction:
    code = row.choice("code", COVERED_CODES)
    if code != stem:
        raise row.fail(f"code {code!r} does not match the file name {stem}.toml")
    jurisdiction = Jurisdiction(
        code=code,
        name=row.text("name"),
        statute=row.text("statute"),
        statute_url=row.url("statute_url"),
        hipaa_interplay=row.choice("hipaa_interplay", INTERPLAY),
        applicability=row.text("applicability", required=False),
    )
    row.check_unknown()
    return jurisdiction


def _rule(data: object, jurisdiction: Jurisdiction, file_name: str) -> StateRule:
    if not isinstance(data, dict):
        raise ValueError(f"state rule {file_name}: every [[rule]] must be a table")
    rule_id = data.get("id")
    row = _Row(data, f"{rule_id} ({file_name})")
    row.text("id")
    if not str(rule_id).startswith(f"{jurisdiction.code}-"):
        raise row.fail(f"id must start with '{jurisdiction.code}-'")
    clock_start = row.choice("clock_start", CLOCK_STARTS)
    rule = StateRule(
        id=str(rule_id),
        state=jurisdiction.code,
        statute=row.text("statute", required=False) or jurisdiction.statute,
        statute_url=row.url("statute_url", required=False) or jurisdiction.statute_url,
        recipient=row.choice("recipient", RECIPIENTS),
        recipient_name=row.text("recipient_name"),
        threshold=_required_count(row, "threshold"),
        threshold_operator=row.choice("threshold_operator", OPERATORS),
        clock_start=clock_start,
        trigger=row.text("trigger"),
        hipaa_deemed_compliant=row.choice("hipaa_deemed_compliant", DEEMED),
        confidence=row.choice("confidence", CONFIDENCE),
        checked_against=row.choice("checked_against", CHECKED_AGAINST),
        checked_on=_required_day(row, "checked_on"),
        source=row.text("source"),
        clock=_clock(row, clock_start, ""),
        alt_clock=_alt_clock(row, clock_start),
        effective_from=row.day("effective_from", required=False),
        effective_until=row.day("effective_until", required=False),
        deemer=row.text("deemer", required=False),
        may_not_apply=row.text("may_not_apply", required=False),
        note=row.text("note", required=False),
    )
    row.check_unknown()
    _check_rule(rule, row)
    return rule


def _required_count(row: _Row, key: str) -> int:
    value = row.count(key)
    assert value is not None  # required=True never returns None
    return value


def _required_day(row: _Row, key: str) -> date:
    value = row.day(key)
    assert value is not None  # required=True never returns None
    return value


def _clock(row: _Row, start: str, prefix: str) -> Clock | None:
    """The (alt_)length/(alt_)unit pair: present exactly when the clock is dated."""
    length = row.count(f"{prefix}length", required=False)
    unit = row.raw(f"{prefix}unit")
    if start not in DATED_STARTS:
        if length is not None or unit is not None:
            raise row.fail(f"{prefix}length/{prefix}unit must be absent for clock_start {start}")
        return None
    if length is None:
        raise row.fail(f"{prefix}length is required for clock_start {start}")
    return Clock(start, length, row.choice(f"{prefix}unit", UNITS))


def _alt_clock(row: _Row, clock_start: str) -> Clock | None:
    alt = row.raw("alt_clock_start")
    if alt is None:
        return _clock(row, "none", "alt_")
    if clock_start not in DATED_STARTS:
        raise row.fail("alt_clock_start needs a dated clock_start to compare with")
    return _clock(row, row.choice("alt_clock_start", DATED_STARTS), "alt_")


def _check_rule(rule: StateRule, row: _Row) -> None:
    needs_deemer = rule.hipaa_deemed_compliant in ("yes", "conditional", "partial")
    if needs_deemer and not rule.deemer:
        raise row.fail(
            f"deemer is required when hipaa_deemed_compliant = {rule.hipaa_deemed_compliant!r}"
        )
    if rule.hipaa_deemed_compliant == "no" and rule.deemer:
        raise row.fail("deemer must be empty when hipaa_deemed_compliant = 'no'")
    if rule.checked_against == "statute" and rule.confidence != "[V]":
        raise row.fail("checked_against = 'statute' means the text was read: confidence [V]")
    starts, ends = rule.effective_from or date.min, rule.effective_until or date.max
    if starts > ends:
        raise row.fail("effective_from is after effective_until")
    for clock in (rule.clock, rule.alt_clock):
        if clock and clock.unit == "business" and rule.state not in holiday_calendar.CALENDARS:
            raise row.fail(f"business days need a holiday calendar for {rule.state}")


def load_states(directory: Path) -> dict[str, Jurisdiction]:
    """Every states/<CODE>.toml in a directory, by code; rule ids must be unique across files."""
    table = {path.stem: load_jurisdiction(path) for path in sorted(directory.glob("*.toml"))}
    seen: set[str] = set()
    for jurisdiction in table.values():
        for rule in jurisdiction.rules:
            if rule.id in seen:
                raise ValueError(f"state rule {rule.id} ({rule.state}.toml): duplicate rule id")
            seen.add(rule.id)
    return table


@cache
def jurisdictions() -> Mapping[str, Jurisdiction]:
    """The shipped table, read once."""
    return load_states(STATES_DIR)


def state_rules() -> tuple[StateRule, ...]:
    """Every row of the shipped table."""
    return tuple(rule for item in jurisdictions().values() for rule in item.rules)


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
    alt = _clock_text(rule.alt_clock, EVENTS[rule.alt_clock.start])
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
