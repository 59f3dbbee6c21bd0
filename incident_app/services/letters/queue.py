"""The legal review queue: the letters waiting for a reviewer, with what they need to triage.

No PHI is shown (incident reference, the letter's document id and type, the version, the due
date of the obligation it serves and how long it has waited), so reading the queue is not an
audited PHI read; opening a letter is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import LetterVersion
from incident_app.models.user import User
from incident_app.services.incidents.access import visible_incidents
from incident_app.services.letters.access import may_approve
from incident_app.services.letters.context import TEMPLATE_LABELS
from incident_app.services.reminders.deadlines import label_of


@dataclass(frozen=True)
class QueueItem:
    letter_id: int
    incident_id: int
    reference: str
    document_id: str
    kind_label: str  # the obligation it serves: "Notice to individuals"
    letter_label: str  # the template: "Individual notice (adult) — sample"
    version: int
    due_on: date | None
    requested_at: datetime
    assigned_to_me: bool  # False: sent to nobody in particular (no reviewer on the team)
    exercise: bool = False  # a tabletop exercise's letter (issue 23)

    def age(self, now: datetime) -> str:
        """How long it has waited, for people: "3 days", "5 hours", "just now"."""
        seconds = max(0, int((now - self.requested_at).total_seconds()))
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if seconds >= size:
                count = seconds // size
                return f"{count} {unit}{'s' if count != 1 else ''}"
        return "just now"


def awaiting_review(session: Session, *, actor: User) -> list[QueueItem]:
    """Letters in legal review sent to `actor`, and those sent to nobody in particular that
    `actor` may approve, on incidents `actor` may see; the earliest due first, then the
    oldest. Empty for people who may not approve letters."""
    if not may_approve(session, actor):
        return []
    mine = sa.or_(Letter.reviewer_id == actor.id, Letter.reviewer_id.is_(None))
    visible = visible_incidents(actor).with_only_columns(Incident.id)
    rows = session.scalars(
        sa.select(Letter)
        .join(LetterVersion, LetterVersion.id == Letter.current_version_id)
        .where(
            Letter.status == LetterStatus.IN_REVIEW,
            mine,
            Letter.incident_id.in_(visible),
            # the author cannot approve their own letter: not their queue
            Letter.created_by_id != actor.id,
            LetterVersion.rendered_by_id != actor.id,
        )
    )
    items = [_item(letter, actor) for letter in rows]
    return sorted(items, key=lambda i: (i.due_on or date.max, i.requested_at, i.letter_id))


def _item(letter: Letter, actor: User) -> QueueItem:
    version = letter.current_version
    assert version is not None  # joined on it
    obligation = letter.obligation
    return QueueItem(
        letter_id=letter.id,
        incident_id=letter.incident_id,
        reference=letter.incident.reference,
        document_id=letter.document_id,
        kind_label=label_of(obligation.kind, obligation.jurisdiction, obligation.detail),
        letter_label=TEMPLATE_LABELS.get(letter.template_name, letter.template_name),
        version=version.number,
        due_on=obligation.effective_due_on,
        requested_at=letter.review_requested_at or letter.updated_at,
        assigned_to_me=letter.reviewer_id == actor.id,
        exercise=letter.incident.exercise,
    )
