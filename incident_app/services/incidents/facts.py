"""The facts of an incident: what intake and the edit form type in, their validation, and
the fact-edit use case.

Every service that changes a fact ends in `facts_changed`, which re-syncs the obligations
in the same transaction: a page never shows deadlines that disagree with the facts. Fact
edits are audited and put on the timeline as old → new values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import StateCount
from incident_app.models.incident import as_jsonable
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import options
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import get_editable
from incident_app.services.incidents.regime_facts import Materiality
from incident_app.services.incidents.regime_facts import materiality_to_store
from incident_app.services.incidents.regime_facts import validate_regime_facts
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.organisation import get_organisation
from incident_app.services.organisation import local_today
from incident_app.services.organisation import org_zone


@dataclass(frozen=True)
class IncidentFacts:
    """The intake facts of an incident, as the intake and edit forms produce them."""

    title: str
    discovered_on: date | None
    description: str = ""
    how_found: str = ""
    reported_by: str = ""
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    discovered_by: str = ""
    diligence_known_on: date | None = None
    diligence_justification: str = ""
    breach_types: tuple[str, ...] = ()
    breach_type_other: str = ""
    locations: tuple[str, ...] = ()
    location_other: str = ""
    phi_types: tuple[str, ...] = ()
    safeguards: tuple[str, ...] = ()
    systems_involved: str = ""
    affected_estimate: int = 0
    ba_involved: bool = False
    ba_name: str = ""
    ba_contact: str = ""
    ba_discovered_on: date | None = None
    ba_notified_on: date | None = None
    ba_is_agent: bool | None = None
    # Regimes beyond HIPAA (regime_facts.py checks them): 42 CFR Part 2 records, USPS codes of
    # the states where we are a licensed health facility, GDPR Art. 33/34 facts (the awareness
    # moment is timezone-aware), and the SEC materiality determination (public companies).
    part2_records: bool = False
    licensed_facility_states: tuple[str, ...] = ()
    eu_data_subjects: int = 0
    gdpr_aware_at: datetime | None = None
    gdpr_high_risk: bool | None = None
    gdpr_controller: bool = True
    materiality_determined_on: date | None = None
    # Typed-in estimates per USPS state code (StateCount rows with source "estimate").
    state_estimates: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, incident: Incident) -> IncidentFacts:
        """The stored facts of `incident` (the edit form starts from these)."""
        values = {
            f.name: getattr(incident, f.name) for f in fields(cls) if f.name != "state_estimates"
        }
        for name in LIST_FACTS:
            values[name] = tuple(values[name] or ())
        estimates = {
            c.state: c.residents for c in incident.state_counts if c.source == CountSource.ESTIMATE
        }
        return cls(**values, state_estimates=estimates)


LIST_FACTS = ("breach_types", "locations", "phi_types", "safeguards", "licensed_facility_states")
COLUMN_FACTS = tuple(f.name for f in fields(IncidentFacts) if f.name != "state_estimates")
FACT_LABELS = {
    "title": "Title",
    "description": "What happened",
    "how_found": "How it was found",
    "reported_by": "Reported by",
    "occurred_from": "Occurred from",
    "occurred_to": "Occurred to",
    "discovered_on": "Discovered on",
    "discovered_by": "Discovered by",
    "diligence_known_on": "Would have been known on",
    "diligence_justification": "Reasonable-diligence justification",
    "breach_types": "Type of breach",
    "breach_type_other": "Type of breach (other)",
    "locations": "Location of the information",
    "location_other": "Location (other)",
    "phi_types": "PHI involved",
    "safeguards": "Safeguards in place",
    "systems_involved": "Systems involved",
    "affected_estimate": "Estimated individuals affected",
    "ba_involved": "Business associate involved",
    "ba_name": "Business associate",
    "ba_contact": "Business associate contact",
    "ba_discovered_on": "Business associate discovered on",
    "ba_notified_on": "Business associate notified us on",
    "ba_is_agent": "Business associate is our agent",
    "part2_records": "42 CFR Part 2 records involved",
    "licensed_facility_states": "Licensed health facility in",
    "eu_data_subjects": "EU/EEA data subjects affected",
    "gdpr_aware_at": "Became aware of the personal data breach (GDPR)",
    "gdpr_high_risk": "High risk to EU/EEA data subjects",
    "gdpr_controller": "Controller of the EU/EEA personal data",
    "materiality_determined_on": "Determined material (SEC) on",
    "state_estimates": "Estimated per state",
}
BA_FACTS = ("ba_name", "ba_contact", "ba_discovered_on", "ba_notified_on", "ba_is_agent")


# --- validation ----------------------------------------------------------------------------


def validate_facts(
    facts: IncidentFacts, *, today: date, zone: ZoneInfo, now: datetime | None = None
) -> None:
    """Raise ValidationFailed (field = the form field) for the first fact that breaks a rule.
    `now` (UTC) bounds the GDPR awareness time; without it, the end of `today`."""
    if not facts.title.strip():
        raise ValidationFailed("Give the incident a short title.", field="title")
    _validate_dates(facts, today=today, zone=zone)
    _validate_choices(facts)
    _validate_counts(facts)
    _validate_ba(facts, today=today)
    end_of_today = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    validate_regime_facts(facts, now=now or end_of_today, today=today)


def with_materiality(facts: IncidentFacts, materiality: Materiality) -> IncidentFacts:
    """`facts` with the materiality date that may be stored (regime_facts.materiality_to_store)."""
    return replace(facts, materiality_determined_on=materiality_to_store(facts, materiality))


def _validate_dates(facts: IncidentFacts, *, today: date, zone: ZoneInfo) -> None:
    if facts.discovered_on is None:
        raise ValidationFailed("Enter the date the incident was discovered.", field="discovered_on")
    if facts.discovered_on > today:
        raise ValidationFailed(
            f"The discovery date {facts.discovered_on} is in the future (today is {today}).",
            field="discovered_on",
        )
    start, end = facts.occurred_from, facts.occurred_to
    if start is not None and end is not None and end < start:
        raise ValidationFailed(
            "The end of the occurrence is before its start.", field="occurred_to"
        )
    if start is not None and facts.discovered_on < start.astimezone(zone).date():
        raise ValidationFailed(
            f"The discovery date {facts.discovered_on} is before the incident started "
            f"({start.astimezone(zone):%Y-%m-%d}): it cannot be found before it happened.",
            field="discovered_on",
        )
    if facts.diligence_known_on is not None:
        if facts.diligence_known_on > today:
            raise ValidationFailed(
                "The reasonable-diligence date cannot be in the future.", field="diligence_known_on"
            )
        if not facts.diligence_justification.strip():
            raise ValidationFailed(
                "Say why the breach would have been known on that date with reasonable diligence.",
                field="diligence_justification",
            )


def _validate_choices(facts: IncidentFacts) -> None:
    for name in options.OCR_LISTS:
        unknown = sorted(set(getattr(facts, name)) - options.codes(name))
        if unknown:
            raise ValidationFailed(
                f"Unknown choice(s) for {FACT_LABELS[name].lower()}: {', '.join(unknown)}.",
                field=name,
            )
    if "other" in facts.breach_types and not facts.breach_type_other.strip():
        raise ValidationFailed("Describe the other type of breach.", field="breach_type_other")
    if "other" in facts.locations and not facts.location_other.strip():
        raise ValidationFailed("Describe the other location.", field="location_other")


def _validate_counts(facts: IncidentFacts) -> None:
    if facts.affected_estimate < 0:
        raise ValidationFailed("The number affected cannot be negative.", field="affected_estimate")
    known = options.state_names()
    for state, count in facts.state_estimates.items():
        if state not in known:
            raise ValidationFailed(
                f"Unknown state code {state!r}: use a two-letter USPS code such as TX, DC or PR.",
                field="state_estimates",
            )
        if count < 0:
            raise ValidationFailed(
                f"The count for {state} cannot be negative.", field="state_estimates"
            )
    total = sum(facts.state_estimates.values())
    if total > facts.affected_estimate:
        raise ValidationFailed(
            f"The per-state counts add up to {total:,}, more than the {facts.affected_estimate:,} "
            "individuals affected. Raise the total or correct the states.",
            field="state_estimates",
        )


def _validate_ba(facts: IncidentFacts, *, today: date) -> None:
    if not facts.ba_involved:
        return
    if not facts.ba_name.strip():
        raise ValidationFailed("Name the business associate.", field="ba_name")
    for name in ("ba_discovered_on", "ba_notified_on"):
        day = getattr(facts, name)
        if day is not None and day > today:
            raise ValidationFailed(f"{FACT_LABELS[name]} cannot be in the future.", field=name)
    if (
        facts.ba_discovered_on
        and facts.ba_notified_on
        and facts.ba_notified_on < facts.ba_discovered_on
    ):
        raise ValidationFailed(
            "The business associate cannot have notified us before it discovered the breach.",
            field="ba_notified_on",
        )


def apply_columns(incident: Incident, facts: IncidentFacts) -> None:
    for name in COLUMN_FACTS:
        value = getattr(facts, name)
        if name == "licensed_facility_states":
            value = sorted(set(value))
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, datetime):
            value = value.astimezone(UTC)  # stored in UTC, shown in the organisation's zone
        elif isinstance(value, str):
            value = value.strip()
        if name in BA_FACTS and not facts.ba_involved:
            value = None if name in ("ba_discovered_on", "ba_notified_on", "ba_is_agent") else ""
        setattr(incident, name, value)


def replace_estimates(session: Session, incident: Incident, estimates: Mapping[str, int]) -> None:
    for row in list(incident.state_counts):
        if row.source == CountSource.ESTIMATE:
            incident.state_counts.remove(row)
    session.flush()
    for state, residents in sorted(estimates.items()):
        incident.state_counts.append(
            StateCount(source=CountSource.ESTIMATE, state=state, residents=residents)
        )


def facts_changed(session: Session, incident: Incident, actor: User, now: datetime) -> None:
    """Every fact change ends here: obligations are recomputed in the same transaction.

    When the rules engine rejects the new facts the session is rolled back, so nothing of the
    change is written, and ValidationFailed (naming the form field) is raised; a recorded
    notice that the new discovery date would follow is reported on the discovery date."""
    incident.updated_at = now
    obligation_sync.sync_or_roll_back(
        session, incident=incident, now=now, actor=actor, notice_field="discovered_on"
    )


def update_facts(
    session: Session, *, actor: User, incident_id: int, facts: IncidentFacts, now: datetime
) -> dict[str, list[Any]]:
    """Store changed facts; each change is audited and put on the timeline (old → new).

    Returns the changes. Raises NotFound, NotAllowed, InvalidTransition (closed incident),
    ValidationFailed. Commits once.
    """
    incident = get_editable(session, actor=actor, incident_id=incident_id)
    validate_facts(facts, today=local_today(session, now), zone=org_zone(session), now=now)
    public = get_organisation(session).public_company
    facts = with_materiality(facts, Materiality(public, incident.materiality_determined_on))
    before = IncidentFacts.of(incident)
    apply_columns(incident, facts)
    after = IncidentFacts.of(incident)
    changes = {
        name: [_jsonable(getattr(before, name)), _jsonable(getattr(after, name))]
        for name in COLUMN_FACTS
        if getattr(before, name) != getattr(after, name)
    }
    if dict(before.state_estimates) != dict(facts.state_estimates):
        changes["state_estimates"] = [
            _states_text(before.state_estimates),
            _states_text(facts.state_estimates),
        ]
        replace_estimates(session, incident, facts.state_estimates)
    for name, (old, new) in changes.items():
        timeline.add(
            session,
            incident_id=incident.id,
            kind=EntryKind.FACT,
            at=now,
            actor=actor,
            text=f"{FACT_LABELS[name]}: {_shown(old)} → {_shown(new)}",
            details={"field": name, "old": old, "new": new},
        )
    if changes:
        audit.record(
            session,
            actor=actor,
            action="incident.facts_updated",
            at=now,
            subject_type="incident",
            subject_id=incident.id,
            incident_id=incident.id,
            details=changes,
        )
        facts_changed(session, incident, actor, now)
    session.commit()
    return changes


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else as_jsonable(value)


def _states_text(estimates: Mapping[str, int]) -> str:
    return ", ".join(f"{state} {count}" for state, count in sorted(estimates.items()))


def _shown(value: Any) -> str:
    if value in (None, "", []):
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
