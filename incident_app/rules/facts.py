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

# Who the organisation is for this incident. HIPAA covered entities and business associates
# (45 CFR 160.103) fall under 164.400-414; the last three are the FTC Health Breach
# Notification Rule's roles (16 CFR 318.2, 318.3), which apply only to entities that are NOT
# HIPAA covered entities or business associates.
HIPAA_ROLES = ("covered_entity", "business_associate")
FTC_ROLES = ("phr_vendor", "phr_related_entity", "third_party_service_provider")
ENTITY_ROLES = HIPAA_ROLES + FTC_ROLES


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
class NoticesSent:
    """The dates notices were actually given, for clocks counted from a real notice.

    State statutes that run "N days after notice to HHS / to residents" are recomputed from
    these once they are recorded; until then the HIPAA outer deadline stands in.
    """

    individuals_on: date | None = None
    hhs_on: date | None = None
    media_on: date | None = None

    def __post_init__(self) -> None:
        for name in ("individuals_on", "hhs_on", "media_on"):
            _optional_date("notices_sent." + name, getattr(self, name))

    def dates(self) -> dict[str, date]:
        """The recorded dates by field name."""
        named = {
            "individuals_on": self.individuals_on,
            "hhs_on": self.hhs_on,
            "media_on": self.media_on,
        }
        return {name: day for name, day in named.items() if day is not None}


@dataclass(frozen=True)
class GdprFacts:
    """EU/EEA data subjects are affected (GDPR Art. 33 and 34).

    ``aware_at`` is the moment the controller (or, with ``controller=False``, the processor)
    became aware of the personal data breach; Art. 33(1) counts 72 hours from it, so it must
    carry its time zone. ``high_risk``: the Art. 34(1) assessment, None while outstanding.
    """

    aware_at: datetime
    data_subjects: int
    high_risk: bool | None = None
    controller: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.aware_at, datetime):
            raise InvalidFacts("gdpr.aware_at", f"must be a datetime, got {self.aware_at!r}")
        if self.aware_at.utcoffset() is None:
            raise InvalidFacts(
                "gdpr.aware_at",
                "must be timezone-aware: the 72 hours of Art. 33(1) are counted in UTC",
            )
        _require_count("gdpr.data_subjects", self.data_subjects)
        if self.data_subjects == 0:
            raise InvalidFacts(
                "gdpr.data_subjects", "must be at least 1 (leave gdpr unset when none)"
            )
        if self.high_risk not in (True, False, None):
            raise InvalidFacts("gdpr.high_risk", "must be True, False or None (not assessed)")
        if not isinstance(self.controller, bool):
            raise InvalidFacts("gdpr.controller", "must be True (controller) or False (processor)")


@dataclass(frozen=True)
class BreachFacts:
    """Everything the HIPAA breach rules need to know about one incident.

    ``discovered_on`` is the first day the breach was known, or by reasonable diligence would
    have been known, to a workforce member or agent other than the wrongdoer (164.404(a)(2)).
    ``insufficient_contact_count`` counts LIVING individuals only: substitute notice is not
    required for the deceased (164.404(d)(2)). For the FTC roles (``entity_role`` phr_vendor,
    phr_related_entity, third_party_service_provider) ``phi_secured`` means the PHR identifiable
    health information was secured, and ``low_probability_of_compromise`` means reliable
    evidence that there was no unauthorized acquisition (16 CFR 318.2).
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
    entity_role: str = "covered_entity"
    part2_records: bool = False
    licensed_facility_states: frozenset[str] = frozenset()
    notices_sent: NoticesSent | None = None
    gdpr: GdprFacts | None = None
    materiality_determined_on: date | None = None

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
        _check_regime_facts(self)
        object.__setattr__(self, "licensed_facility_states", _facility_states(self))

    @property
    def earliest_discovery(self) -> date:
        """The earliest day anyone (the entity or its business associate) knew of the breach."""
        known = [self.discovered_on]
        if self.business_associate is not None:
            known.append(self.business_associate.discovered_on)
        return min(day for day in known if day is not None)


def _check_types(facts: BreachFacts) -> None:
    for name in ("phi_secured", "low_probability_of_compromise"):
        if not isinstance(getattr(facts, name), bool):
            raise InvalidFacts(name, "must be True or False")
    if not isinstance(facts.business_associate, BusinessAssociateFacts | None):
        raise InvalidFacts("business_associate", "must be BusinessAssociateFacts or None")
    if not isinstance(facts.law_enforcement_delay, LawEnforcementDelay | None):
        raise InvalidFacts("law_enforcement_delay", "must be LawEnforcementDelay or None")
    if not isinstance(facts.part2_records, bool):
        raise InvalidFacts("part2_records", "must be True or False")
    if not isinstance(facts.notices_sent, NoticesSent | None):
        raise InvalidFacts("notices_sent", "must be NoticesSent or None")
    if not isinstance(facts.gdpr, GdprFacts | None):
        raise InvalidFacts("gdpr", "must be GdprFacts or None")
    _optional_date("materiality_determined_on", facts.materiality_determined_on)


def _check_regime_facts(facts: BreachFacts) -> None:
    if facts.entity_role not in ENTITY_ROLES:
        raise InvalidFacts(
            "entity_role", f"{facts.entity_role!r} is not one of: {', '.join(ENTITY_ROLES)}"
        )
    if facts.entity_role in FTC_ROLES and facts.business_associate is not None:
        # 16 CFR 318.1: the FTC rule covers only entities that are not HIPAA covered entities
        # or business associates; business-associate facts describe a HIPAA relationship.
        raise InvalidFacts(
            "entity_role",
            f"{facts.entity_role} is an FTC Health Breach Notification Rule role (16 CFR 318), "
            "for entities that are not HIPAA covered entities or business associates: it "
            "cannot be combined with business_associate facts",
        )
    if facts.entity_role in FTC_ROLES and facts.exception is not None:
        raise InvalidFacts(
            "exception",
            f"the 45 CFR 164.402 exceptions do not apply to a {facts.entity_role} under "
            "16 CFR 318; record reliable evidence of no unauthorized acquisition instead",
        )
    earliest = facts.earliest_discovery
    sent = facts.notices_sent.dates() if facts.notices_sent else {}
    for name, day in sent.items():
        if day < earliest:
            raise InvalidFacts(
                "notices_sent." + name, f"{day} is before the breach was discovered ({earliest})"
            )
    determined = facts.materiality_determined_on
    if determined is not None and determined < earliest:
        raise InvalidFacts(
            "materiality_determined_on",
            f"{determined} is before the breach was discovered ({earliest})",
        )


def _facility_states(facts: BreachFacts) -> frozenset[str]:
    states = facts.licensed_facility_states
    # A plain string is iterable too: frozenset("CA") would silently become {"C", "A"}.
    if isinstance(states, str | bytes) or not isinstance(states, set | frozenset | list | tuple):
        raise InvalidFacts(
            "licensed_facility_states", "must be a set of USPS codes, e.g. frozenset({'CA'})"
        )
    for state in states:
        if state not in STATE_CODES:
            raise InvalidFacts(
                "licensed_facility_states",
                f"unknown state code {state!r} (use USPS codes, e.g. 'CA')",
            )
    return frozenset(states)


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
