"""The notice wording the team writes for an incident (what happened, PHI types, steps, the
Spanish texts, substitute-notice dates): read it and save it.

Saving changes what letters print, so letters rendered from the old texts become stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.letter import NoticeWording
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.services.letters import context as letter_context

TEXT_MAX = 5000
WORDING_LISTS = ("phi_types", "steps_for_individuals", "what_we_are_doing", "substitute_areas")
WORDING_TEXTS = ("what_happened", "media_contact", "covered_entity_type", "contact_phone")
WORDING_DATES = ("posting_start", "posting_end", "toll_free_active_until")
SPANISH_KEYS = ("what_happened", "phi_types", "steps_for_individuals", "what_we_are_doing")


def wording_of(
    session: Session, *, actor: User, incident_id: int
) -> tuple[Incident, NoticeWording]:
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    wording = session.scalar(
        sa.select(NoticeWording).where(NoticeWording.incident_id == incident.id)
    )
    return incident, wording or letter_context.empty_wording(incident.id)


def save_wording(
    session: Session, *, actor: User, now: datetime, incident_id: int, values: dict[str, Any]
) -> NoticeWording:
    """Save the texts letters print. Letters rendered from the old texts become stale (their
    approval is void until re-rendered and re-approved). Raises ValidationFailed. Commits."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    wording = apply_wording(session, actor=actor, now=now, incident=incident, values=values)
    session.commit()
    return wording


def apply_wording(
    session: Session, *, actor: User, now: datetime, incident: Incident, values: dict[str, Any]
) -> NoticeWording:
    """The save step without the access check and the commit (the revision use case shares
    it). Raises ValidationFailed before anything changes."""
    _validate_wording(values)
    wording = session.scalar(
        sa.select(NoticeWording).where(NoticeWording.incident_id == incident.id)
    )
    if wording is None:
        wording = NoticeWording(incident_id=incident.id)
        session.add(wording)
    changed = _apply_wording(wording, values)
    wording.updated_by_id, wording.updated_at = actor.id, now
    audit.record(
        session,
        actor=actor,
        action="letters.wording_saved",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details={"changed": changed},
    )
    return wording


def _validate_wording(values: dict[str, Any]) -> None:
    start, end, until = (values.get(name) for name in WORDING_DATES)
    if start and end and end < start:
        raise ValidationFailed("The posting ends before it starts.", field="posting_end")
    for name in ("what_happened", "es_what_happened"):
        if len(values.get(name) or "") > TEXT_MAX:
            raise ValidationFailed(f"Keep it under {TEXT_MAX} characters.", field=name)
    if until and start and until < start:
        raise ValidationFailed(
            "The toll-free number must work during the posting.", field="toll_free_active_until"
        )


def _apply_wording(wording: NoticeWording, values: dict[str, Any]) -> list[str]:
    new: dict[str, Any] = {name: (values.get(name) or "").strip() for name in WORDING_TEXTS}
    new |= {name: _lines(values.get(name)) for name in WORDING_LISTS}
    new |= {name: values.get(name) for name in WORDING_DATES}
    new["spanish"] = {
        key: (
            _lines(values.get(f"es_{key}"))
            if key != "what_happened"
            else (values.get("es_what_happened") or "").strip()
        )
        for key in SPANISH_KEYS
    }
    new["covered_entity_type"] = new["covered_entity_type"] or "Healthcare Provider"
    changed = [name for name, value in new.items() if getattr(wording, name) != value]
    for name in changed:
        setattr(wording, name, new[name])
    return changed


def _lines(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]
