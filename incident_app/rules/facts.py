"""The facts of an incident that the breach rules read, validated when they are built.

Validation happens in ``__post_init__`` so an invalid set of facts can never reach the rules:
every problem raises ``InvalidFacts`` naming the field, never a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from types import MappingProxyType

# USPS codes the HIPAA media rule ("State or jurisdiction", 45 CFR 164.406) can apply to:
# the 50 states, DC and the five inhabited territories.
STATE_CODES = frozenset(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP
    """.split()
)

# The three statutory exclusions from "breach", 45 CFR 164.402 paragraph (1)(i)-(iii).
EXCEPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "unintentional_workforce_use": "45 CFR 164.402(1)(i)",
        "inadvertent_authorized_disclosure": "45 CFR 164.402(1)(ii)",
        "unable_to_retain": "45 CFR 164.402(1)(iii)",
    }
)

STATEMENT_KINDS = ("written", "oral")


class InvalidFacts(ValueError):
    """The facts cannot be evaluated; the message starts with the offending field's name."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name


@dataclass(frozen=True)
class BusinessAssociateFacts:
    """A breach discovered by a business associate (45 CFR 164.410).

    ``is_agent``: the BA acts as the covered entity's agent under the federal common law of
    agency; None means not yet determined.
    """

    discovered_on: date
    is_agent: bool | None = None
    notified_covered_entity_on: date | None = None

    def __post_init__(self) -> None:
        prefix = "business_associate."
        _require_date(prefix + "discovered_on", self.discovered_on)
        _optional_date(prefix + "notified_covered_entity_on", self.notified_covered_entity_on)
        if self.is_agent not in (True, False, None):
            raise InvalidFacts(prefix + "is_agent", "must be True, False or None (undetermined)")
        notified = self.notified_covered_entity_on
        if notified is not None and notified < self.discovered_on:
            raise InvalidFacts(
                prefix + "notified_covered_entity_on",
                f"{notified} is before the business associate discovered the breach "
                f"({self.discovered_on})",
            )


@dataclass(frozen=True)
class LawEnforcementDelay:
    """A law-enforcement official's statement that notice would impede an investigation.

    45 CFR 164.412. ``delay_until`` is the end of the period a written statement specifies;
    ``written_received_on`` is a written statement that followed an oral one.
    """

    statement: str
    stated_on: date
    delay_until: date | None = None
    written_received_on: date | None = None

    def __post_init__(self) -> None:
        prefix = "law_enforcement_delay."
        if self.statement not in STATEMENT_KINDS:
            raise InvalidFacts(
                prefix + "statement", f"{self.statement!r} is not 'written' or 'oral'"
            )
        _require_date(prefix + "stated_on", self.stated_on)
        _optional_date(prefix + "delay_until", self.delay_until)
        _optional_date(prefix + "written_received_on", self.written_received_on)
        _check_not_before(prefix + "delay_until", self.delay_until, self.stated_on)
        _check_not_before(prefix + "written_received_on", self.written_received_on, self.stated_on)
        if self.statement == "written":
            self._check_written()
        elif self.written_received_on is not None and self.delay_until is None:
            raise InvalidFacts(
                prefix + "delay_until",
                "a written statement that follows an oral one must specify its period (164.412(a))",
            )

    def _check_written(self) -> None:
        # 164.412(a) applies only to a written statement that "specifies the time for which a
        # delay is required"; one that does not is recorded as oral (30 days at most).
        if self.delay_until is None:
            raise InvalidFacts(
                "law_enforcement_delay.delay_until",
                "a written statement must specify the delay period (164.412(a)); "
                "record an unspecified one as oral",
            )
        if self.written_received_on is not None:
            raise InvalidFacts(
                "law_enforcement_delay.written_received_on",
                "only for a written statement that followed an oral one",
            )


@dataclass(frozen=True)
class BreachFacts:
    """Everything the HIPAA breach rules need to know about one incident.

    ``discovered_on`` is the first day the breach was known, or by reasonable diligence would
    have been known, to a workforce member or agent other than the wrongdoer (164.404(a)(2)).
    ``insufficient_contact_count`` counts LIVING individuals only: substitute notice is not
    required for the deceased (164.404(d)(2)).
    """

    discovered_on: date | None
    affected_total: int
    residents_by_state: Mapping[str, int] = field(default_factory=dict)
    phi_secured: bool = False
    exception: str | None = None
    low_probability_of_compromise: bool = False
    insufficient_contact_count: int = 0
    business_associate: BusinessAssociateFacts | None = None
    law_enforcement_delay: LawEnforcementDelay | None = None

    def __post_init__(self) -> None:
        _optional_date("discovered_on", self.discovered_on)
        if self.discovered_on is None and self.business_associate is None:
            raise InvalidFacts(
                "discovered_on", "required unless a business associate discovered the breach"
            )
        _require_count("affected_total", self.affected_total)
        _require_count("insufficient_contact_count", self.insufficient_contact_count)
        if self.insufficient_contact_count > self.affected_total:
            raise InvalidFacts(
                "insufficient_contact_count",
                f"{self.insufficient_contact_count} is more than affected_total "
                f"({self.affected_total})",
            )
        _check_exception(self.exception)
        _check_types(self)
        object.__setattr__(self, "residents_by_state", _frozen_counts(self))


def _check_types(facts: BreachFacts) -> None:
    for name in ("phi_secured", "low_probability_of_compromise"):
        if not isinstance(getattr(facts, name), bool):
            raise InvalidFacts(name, "must be True or False")
    if not isinstance(facts.business_associate, BusinessAssociateFacts | None):
        raise InvalidFacts("business_associate", "must be BusinessAssociateFacts or None")
    if not isinstance(facts.law_enforcement_delay, LawEnforcementDelay | None):
        raise InvalidFacts("law_enforcement_delay", "must be LawEnforcementDelay or None")


def _check_exception(exception: str | None) -> None:
    if exception is not None and exception not in EXCEPTIONS:
        known = ", ".join(EXCEPTIONS)
        raise InvalidFacts("exception", f"{exception!r} is not one of: {known}")


def _frozen_counts(facts: BreachFacts) -> Mapping[str, int]:
    if not isinstance(facts.residents_by_state, Mapping):
        raise InvalidFacts("residents_by_state", "must be a mapping of USPS code to count")
    counts = dict(facts.residents_by_state)
    for state, count in counts.items():
        if state not in STATE_CODES:
            raise InvalidFacts(
                "residents_by_state", f"unknown state code {state!r} (use USPS codes, e.g. 'TX')"
            )
        _require_count(f"residents_by_state[{state}]", count)
    if sum(counts.values()) > facts.affected_total:
        raise InvalidFacts(
            "residents_by_state",
            f"counts sum to {sum(counts.values())}, more than affected_total "
            f"({facts.affected_total})",
        )
    return MappingProxyType(counts)


def _require_count(name: str, value: object) -> None:
    # bool is an int subclass; True as a head count is a bug upstream, not a count of one.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidFacts(name, f"must be a whole number, got {value!r}")
    if value < 0:
        raise InvalidFacts(name, f"must not be negative, got {value}")


def _require_date(name: str, value: object) -> None:
    # A datetime is a date subclass, but deadlines are calendar dates: reject it explicitly.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidFacts(name, f"must be a datetime.date, got {value!r}")


def _optional_date(name: str, value: object) -> None:
    if value is not None:
        _require_date(name, value)


def _check_not_before(name: str, value: date | None, earliest: date) -> None:
    if value is not None and value < earliest:
        raise InvalidFacts(name, f"{value} is before the statement was made ({earliest})")
