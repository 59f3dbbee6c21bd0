"""The incident timeline: the team's action log plus what every area reports happening.

Other areas put their events on an incident's timeline with `add` (no commit, inside their own
transaction), for example a letter approved or a notice sent:

    timeline.add(session, incident_id=..., kind=EntryKind.LETTER, at=now, actor=actor,
                 text="Individual notice letter approved (sha256 …).")

Entries are never edited or deleted. A person corrects their action entry with a new entry
that points at the old one; the page shows the old one struck through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.timeline import ActionCategory
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable

TEXT_MAX = 5000
# Clocks drift and people type quickly; an action "in the future" beyond this is a mistake.
FUTURE_SLACK = timedelta(minutes=5)


def add(
    session: Session,
    *,
    incident_id: int,
    kind: EntryKind,
    text: str,
    at: datetime,
    actor: User | None = None,
    occurred_at: datetime | None = None,
    details: Mapping[str, Any] | None = None,
) -> TimelineEntry:
    """Append one entry (no commit, no access check: the calling service has done both)."""
    entry = TimelineEntry(
        incident_id=incident_id,
        kind=kind,
        text=text,
        occurred_at=occurred_at or at,
        recorded_at=at,
        actor_id=actor.id if actor is not None else None,
        details=json.loads(json.dumps(dict(details or {}), default=str)),
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class ActionInput:
    occurred_at: datetime
    category: ActionCategory
    text: str


def log_action(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    action: ActionInput,
    now: datetime,
    corrects_id: int | None = None,
) -> TimelineEntry:
    """A team member logs what they did. With `corrects_id`, the entry replaces an earlier
    action entry (which stays, struck through). Raises NotFound, NotAllowed, ValidationFailed.
    Commits once.
    """
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    _validate(action, now)
    if corrects_id is not None:
        _check_correctable(session, incident.id, corrects_id)
    entry = add(
        session,
        incident_id=incident.id,
        kind=EntryKind.ACTION,
        at=now,
        actor=actor,
        occurred_at=action.occurred_at,
        text=action.text.strip(),
    )
    entry.category = action.category
    entry.corrects_id = corrects_id
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=now,
        subject_type="timeline_entry",
        subject_id=entry.id,
        incident_id=incident.id,
        action="timeline.corrected" if corrects_id else "timeline.action_logged",
        details={
            "category": action.category.value,
            "occurred_at": action.occurred_at,
            "corrects": corrects_id,
            "text": entry.text,
        },
    )
    session.commit()
    return entry


def _validate(action: ActionInput, now: datetime) -> None:
    if not action.text.strip():
        raise ValidationFailed("Describe what was done.", field="text")
    if len(action.text) > TEXT_MAX:
        raise ValidationFailed(f"Keep the entry under {TEXT_MAX} characters.", field="text")
    if action.occurred_at > now + FUTURE_SLACK:
        raise ValidationFailed("The time of the action is in the future.", field="occurred_at")


def _check_correctable(session: Session, incident_id: int, entry_id: int) -> TimelineEntry:
    old = session.get(TimelineEntry, entry_id)
    if old is None or old.incident_id != incident_id:
        raise NotFound("No such timeline entry on this incident.")
    if old.kind is not EntryKind.ACTION:
        raise ValidationFailed(
            "Only logged actions can be corrected; this entry was recorded by the system."
        )
    already = session.scalar(
        sa.select(TimelineEntry.id).where(TimelineEntry.corrects_id == entry_id)
    )
    if already is not None:
        raise ValidationFailed(
            f"This entry was already corrected by entry #{already}; correct that one instead."
        )
    return old


def get_action(session: Session, *, actor: User, incident_id: int, entry_id: int) -> TimelineEntry:
    """An action entry to correct (the correction form starts from it)."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    return _check_correctable(session, incident.id, entry_id)


@dataclass(frozen=True)
class TimelineItem:
    entry: TimelineEntry
    corrected_by: int | None  # the id of the entry that corrects this one


def entries(
    session: Session, *, actor: User, incident_id: int, kind: EntryKind | None = None
) -> list[TimelineItem]:
    """The incident's timeline in time order, each entry with the id of its correction."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    query = (
        sa.select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident.id)
        .options(selectinload(TimelineEntry.actor))
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
    )
    rows = list(session.scalars(query))
    corrections = {row.corrects_id: row.id for row in rows if row.corrects_id is not None}
    return [
        TimelineItem(row, corrections.get(row.id))
        for row in rows
        if kind is None or row.kind is kind
    ]
