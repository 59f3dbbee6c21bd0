"""The state breach-notification table: one file per jurisdiction in states/<CODE>.toml.

What each row says (recipient, threshold, clock, HIPAA interplay, provenance) and the loader
that validates every column: an unknown key or a bad value raises ValueError naming the rule id
and the file. The engine that turns rows into obligations is overlay.py.

The table's columns follow the issue #17 schema, with one addition: a row may carry its own
``statute`` (shown as the obligation's citation) when it comes from another provision than the
jurisdiction's main statute, as ``statute_url`` may; and (issue 23) a residents row may
carry ``offer_months`` (and ``offer_condition``): the months of free credit monitoring or
identity protection the law makes the notifier offer (rules/identity_protection.py).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from functools import cache
from pathlib import Path

from incident_app.rules import holiday_calendar

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
    # Issue 23: months of free credit monitoring / identity protection the row requires the
    # notifier to offer residents (None: the row requires no offer), and when it does.
    offer_months: int | None = None
    offer_condition: str = ""

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
        text = clock_text(self.clock, self.trigger)
        if self.alt_clock is not None:
            alt = clock_text(self.alt_clock, EVENTS[self.alt_clock.start])
            text = f"{text}, or {alt}, whichever is sooner"
        return text

    def threshold_text(self) -> str:
        word = "more than" if self.threshold_operator == ">" else "at least"
        return f"{word} {self.threshold}"

    @property
    def verify_with_counsel(self) -> bool:
        return self.confidence == "[M]" or self.checked_against == "secondary"


def clock_text(clock: Clock, trigger: str) -> str:
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
        offer_months=row.count("offer_months", required=False),
        offer_condition=row.text("offer_condition", required=False),
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
    if rule.offer_months is not None and (rule.offer_months < 1 or rule.recipient != "residents"):
        raise row.fail("offer_months is a positive offer to residents (recipient = 'residents')")
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
