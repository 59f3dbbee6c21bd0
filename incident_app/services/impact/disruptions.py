"""Operational disruption of an incident: outages and halts of billing, claims and systems, with
the claims they delayed; times without a zone are read in the organisation's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.impact import Disruption
from incident_app.models.impact import DisruptionKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.impact.money import parse_amount
from incident_app.services.impact.money import parse_choice
from incident_app.services.incidents.access import get_workable
from incident_app.services.organisation import get_organisation


@dataclass(frozen=True)
class DisruptionInput:
    """Times without a zone are read in the organisation's time zone."""

    kind: str
    system: str
    started_at: datetime | None
    ended_at: datetime | None = None
    claims_delayed_count: int | None = None
    claims_delayed_value: str = ""
    notes: str = ""


def record_disruption(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    disruption: DisruptionInput,
    now: datetime,
) -> Disruption:
    """Add an outage or a halt of billing/claims. Raises NotFound, NotAllowed,
    ValidationFailed (e.g. an end before the start). Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    zone = ZoneInfo(get_organisation(session).timezone)
    row = _disruption_row(disruption, zone, now)
    row.incident_id, row.created_by_id, row.created_at = incident.id, actor.id, now
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="impact.disruption_recorded",
        at=now,
        subject_type="disruption",
        subject_id=row.id,
        incident_id=incident.id,
        details=_disruption_details(row),
    )
    session.commit()
    return row


def _disruption_row(value: DisruptionInput, zone: ZoneInfo, now: datetime) -> Disruption:
    kind = parse_choice(DisruptionKind, value.kind, "kind", "Choose what was disrupted.")
    system = value.system.strip()
    if not system or len(system) > 200:
        raise ValidationFailed(
            "Name the system or process (at most 200 characters).", field="system"
        )
    if value.started_at is None:
        raise ValidationFailed("Give the time the outage started.", field="started_at")
    started = _utc(value.started_at, zone)
    ended = None if value.ended_at is None else _utc(value.ended_at, zone)
    if started > now:
        raise ValidationFailed("The start is in the future.", field="started_at")
    if ended is not None and ended < started:
        raise ValidationFailed("The outage cannot end before it starts.", field="ended_at")
    count = value.claims_delayed_count or 0
    if count < 0:
        raise ValidationFailed(
            "The number of claims cannot be negative.", field="claims_delayed_count"
        )
    cents = parse_amount(value.claims_delayed_value or "0", field_name="claims_delayed_value")
    return Disruption(
        kind=kind,
        system=system,
        started_at=started,
        ended_at=ended,
        claims_delayed_count=count,
        claims_delayed_cents=cents,
        notes=value.notes.strip(),
    )


def _utc(value: datetime, zone: ZoneInfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _disruption_details(row: Disruption) -> dict[str, object]:
    return {
        "kind": row.kind.value,
        "system": row.system,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "claims_delayed_count": row.claims_delayed_count,
        "claims_delayed_cents": row.claims_delayed_cents,
    }


def delete_disruption(
    session: Session, *, actor: User, incident_id: int, disruption_id: int, now: datetime
) -> None:
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    row = session.get(Disruption, disruption_id)
    if row is None or row.incident_id != incident.id:
        raise NotFound("No such disruption on this incident.")
    details = _disruption_details(row)
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="impact.disruption_deleted",
        at=now,
        subject_type="disruption",
        subject_id=disruption_id,
        incident_id=incident.id,
        details=details,
    )
    session.commit()
