"""The facts of the regimes beyond HIPAA, checked before they reach the rules engine.

42 CFR Part 2 records, the states where the organisation is a licensed health facility (Cal.
Health & Safety Code 1280.15 and the like), EU/EEA data subjects (GDPR Art. 33/34: the moment
of awareness starts a 72-hour clock, so it must be a real instant, never a guess at the zone)
and the SEC materiality determination (Form 8-K Item 1.05, public companies only). Every
message names the form field and says what to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Protocol

from incident_app.errors import ValidationFailed
from incident_app.services import options

MAX_DATA_SUBJECTS = 1_000_000_000


class RegimeFacts(Protocol):
    """What this module reads of IncidentFacts (a Protocol: facts.py imports this module)."""

    @property
    def discovered_on(self) -> date | None: ...
    @property
    def diligence_known_on(self) -> date | None: ...
    @property
    def ba_involved(self) -> bool: ...
    @property
    def ba_discovered_on(self) -> date | None: ...
    @property
    def licensed_facility_states(self) -> tuple[str, ...]: ...
    @property
    def eu_data_subjects(self) -> int: ...
    @property
    def gdpr_aware_at(self) -> datetime | None: ...
    @property
    def gdpr_high_risk(self) -> bool | None: ...
    @property
    def materiality_determined_on(self) -> date | None: ...


@dataclass(frozen=True)
class Materiality:
    """What the organisation settings say about the SEC rule, and what is stored already."""

    public_company: bool
    stored: date | None = None


def validate_regime_facts(facts: RegimeFacts, *, now: datetime, today: date) -> None:
    """Raise ValidationFailed (field = the form field) for the first regime fact that breaks a
    rule. `now` is the current UTC instant, `today` the organisation's local date."""
    validate_facility_states(facts.licensed_facility_states)
    _validate_gdpr(facts, now=now)
    _validate_materiality_date(facts, today=today)


def validate_facility_states(states: Iterable[str]) -> None:
    known = options.state_names()
    unknown = sorted({state for state in states if state not in known})
    if unknown:
        raise ValidationFailed(
            f"Unknown state code(s) {', '.join(repr(s) for s in unknown)} for the licensed "
            "facility states: choose two-letter USPS codes such as CA, NY or PR.",
            field="licensed_facility_states",
        )


def _validate_gdpr(facts: RegimeFacts, *, now: datetime) -> None:
    subjects, aware = facts.eu_data_subjects, facts.gdpr_aware_at
    if isinstance(subjects, bool) or not isinstance(subjects, int):
        raise ValidationFailed(
            "Enter the number of EU/EEA data subjects as a whole number.", field="eu_data_subjects"
        )
    if subjects < 0:
        raise ValidationFailed(
            "The number of EU/EEA data subjects cannot be negative; enter 0 when none are "
            "affected.",
            field="eu_data_subjects",
        )
    if subjects > MAX_DATA_SUBJECTS:
        raise ValidationFailed(
            f"Enter at most {MAX_DATA_SUBJECTS:,} EU/EEA data subjects.", field="eu_data_subjects"
        )
    if aware is not None and aware.utcoffset() is None:
        raise ValidationFailed(
            "Give the awareness time with its time zone: the 72 hours of GDPR Art. 33(1) are "
            "counted from an exact moment.",
            field="gdpr_aware_at",
        )
    if subjects > 0 and aware is None:
        raise ValidationFailed(
            f"{subjects} EU/EEA data subject(s) are affected: enter when the organisation became "
            "aware of the breach. The supervisory authority must be notified within 72 hours of "
            "that moment (GDPR Art. 33(1)).",
            field="gdpr_aware_at",
        )
    if subjects == 0 and aware is not None:
        raise ValidationFailed(
            "An awareness time is entered but no EU/EEA data subjects: enter how many are "
            "affected (an estimate is fine), or clear the awareness time.",
            field="eu_data_subjects",
        )
    if aware is not None and aware > now:
        raise ValidationFailed("The GDPR awareness time is in the future.", field="gdpr_aware_at")


def _validate_materiality_date(facts: RegimeFacts, *, today: date) -> None:
    determined = facts.materiality_determined_on
    if determined is None:
        return
    if determined > today:
        raise ValidationFailed(
            f"The materiality determination date {determined} is in the future (today is {today}).",
            field="materiality_determined_on",
        )
    earliest = _earliest_discovery(facts)
    if earliest is not None and determined < earliest:
        raise ValidationFailed(
            f"The materiality determination ({determined}) is before the incident was "
            f"discovered ({earliest}): an incident cannot be found material before anyone "
            "knew of it.",
            field="materiality_determined_on",
        )


def _earliest_discovery(facts: RegimeFacts) -> date | None:
    # As the rules engine counts it: the earliest day the entity or its business associate knew.
    days = [facts.discovered_on, facts.diligence_known_on]
    if facts.ba_involved:
        days.append(facts.ba_discovered_on)
    return min((day for day in days if day is not None), default=None)


def materiality_to_store(facts: RegimeFacts, materiality: Materiality) -> date | None:
    """The materiality date to store. Only a public company records one (the form shows the
    field only then): for any other organisation an empty value keeps what is stored, and a
    new date is refused with the reason."""
    given = facts.materiality_determined_on
    if materiality.public_company:
        return given
    if given is None or given == materiality.stored:
        return materiality.stored
    raise ValidationFailed(
        "The organisation is not marked as a public company in the settings, so SEC Form 8-K "
        "Item 1.05 does not apply: an administrator can change that under Settings.",
        field="materiality_determined_on",
    )
