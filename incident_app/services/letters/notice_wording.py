"""The notice wording the team writes for an incident (what happened, PHI types, steps, the
Spanish texts, substitute-notice dates, and what the CRA, FTC, GDPR and SEC documents state
beyond that): read it and save it.

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

# What a letter can hold (issue 24: a 1,000,000-character field made every letter of the
# incident fail). The letter is two pages at most: "what happened" up to 5,000 characters, each
# list (types of information, steps, what we are doing, substitute-notice areas) up to 25 lines
# and 3,000 characters in all, each line up to 500; the short texts as below.
TEXT_MAX = 5000
WORDING_LISTS = (
    "phi_types",
    "steps_for_individuals",
    "what_we_are_doing",
    "substitute_areas",
    "gdpr_subject_categories",
    "gdpr_consequences",
)
WORDING_TEXTS = (
    "what_happened",
    "media_contact",
    "covered_entity_type",
    "contact_phone",
    "acquired_by",
    "gdpr_contact_point",
    "gdpr_delay_reasons",
    "sec_material_impact",
)
WORDING_DATES = (
    "posting_start",
    "posting_end",
    "toll_free_active_until",
    "residents_mailing_on",
)
LONG_TEXTS = ("what_happened", "es_what_happened", "gdpr_delay_reasons", "sec_material_impact")
LIST_MAX_CHARS = 3000
LIST_MAX_LINES = 25
LINE_MAX = 500
SHORT_TEXT_MAX = {
    "media_contact": 300,
    "contact_phone": 40,
    "covered_entity_type": 40,
    "acquired_by": 300,
    "gdpr_contact_point": 300,
}
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
    start, end, until = (
        values.get(name) for name in ("posting_start", "posting_end", "toll_free_active_until")
    )
    if start and end and end < start:
        raise ValidationFailed("The posting ends before it starts.", field="posting_end")
    records = values.get("gdpr_records")
    if records is not None and (not isinstance(records, int) or records < 0):
        raise ValidationFailed(
            "The number of personal data records is a whole number, 0 or more.",
            field="gdpr_records",
        )
    for name in LONG_TEXTS:
        if len(values.get(name) or "") > TEXT_MAX:
            raise ValidationFailed(f"Keep it under {TEXT_MAX} characters.", field=name)
    for name, limit in SHORT_TEXT_MAX.items():
        if len(str(values.get(name) or "")) > limit:
            raise ValidationFailed(f"Keep it under {limit} characters.", field=name)
    lists = (*WORDING_LISTS, *(f"es_{key}" for key in SPANISH_KEYS if key != "what_happened"))
    for name in lists:
        _check_list(name, values.get(name))
    if until and start and until < start:
        raise ValidationFailed(
            "The toll-free number must work during the posting.", field="toll_free_active_until"
        )


def _check_list(name: str, value: object) -> None:
    """A list a letter can print: checked before anything is written (nothing half-saved)."""
    if isinstance(value, str) and len(value) > LIST_MAX_CHARS + LIST_MAX_LINES * 2:
        raise ValidationFailed(
            f"Too long for a letter: keep it under {LIST_MAX_CHARS} characters "
            f"(it has {len(value):,}).",
            field=name,
        )
    lines = _lines(value)
    if len(lines) > LIST_MAX_LINES:
        raise ValidationFailed(
            f"A letter can list at most {LIST_MAX_LINES} items here (this has {len(lines)}).",
            field=name,
        )
    longest = max((len(line) for line in lines), default=0)
    if longest > LINE_MAX:
        raise ValidationFailed(
            f"Keep each line under {LINE_MAX} characters (one has {longest:,}).", field=name
        )
    total = sum(len(line) for line in lines)
    if total > LIST_MAX_CHARS:
        raise ValidationFailed(
            f"Too long for a letter: keep it under {LIST_MAX_CHARS} characters (it has {total:,}).",
            field=name,
        )


def _apply_wording(wording: NoticeWording, values: dict[str, Any]) -> list[str]:
    new: dict[str, Any] = {name: (values.get(name) or "").strip() for name in WORDING_TEXTS}
    new |= {name: _lines(values.get(name)) for name in WORDING_LISTS}
    new |= {name: values.get(name) for name in WORDING_DATES}
    new["gdpr_records"] = values.get("gdpr_records") or None
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
