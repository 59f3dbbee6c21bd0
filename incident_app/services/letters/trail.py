"""A letter's trail: review events bound to a version's SHA-256, audit events and timeline entries.

Helpers for the letter use cases; they add rows and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from incident_app.models.letter import Letter
from incident_app.models.letter import LetterReviewEvent
from incident_app.models.letter import LetterVersion
from incident_app.models.letter import ReviewAction
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import timeline
from incident_app.services.letters import context as letter_context


def record_review_event(
    session: Session,
    letter: Letter,
    version: LetterVersion,
    action: ReviewAction,
    actor: User,
    now: datetime,
    comment: str = "",
) -> None:
    session.add(
        LetterReviewEvent(
            letter_id=letter.id,
            version_id=version.id,
            action=action,
            actor_id=actor.id,
            at=now,
            comment=comment,
            sha256=version.sha256,
            template_version=version.template_version,
        )
    )


def audit_and_timeline(
    session: Session,
    letter: Letter,
    action: str,
    actor: User,
    now: datetime,
    details: dict[str, Any],
    text: str,
    kind: EntryKind = EntryKind.LETTER,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        at=now,
        subject_type="letter",
        subject_id=letter.id,
        incident_id=letter.incident_id,
        details=details,
    )
    timeline.add(
        session,
        incident_id=letter.incident_id,
        kind=kind,
        at=now,
        actor=actor,
        text=text,
        details={"letter_id": letter.id, **details},
    )


def letter_label(letter: Letter) -> str:
    name = letter_context.TEMPLATE_LABELS.get(letter.template_name, letter.template_name)
    return f"{name} {letter.document_id}"


def audit_read(
    session: Session,
    letter: Letter,
    action: str,
    actor: User,
    now: datetime,
    details: dict[str, Any],
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        at=now,
        subject_type="letter",
        subject_id=letter.id,
        incident_id=letter.incident_id,
        details={"document_id": letter.document_id, **details},
    )
