"""Approving a prepared set of letters together: the reviewer reads each letter, then confirms
them in one step, each by its version and the first 12 characters of its SHA-256.

All or nothing: when one letter changed since the reviewer opened the set (another version is
current), was written by the reviewer, or fails its integrity check, none is approved, so the
set never ends half-approved behind the reviewer's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from incident_app.errors import DomainError
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.letter import Letter
from incident_app.models.user import User
from incident_app.services.incidents.access import get_visible
from incident_app.services.letters import queue
from incident_app.services.letters import review
from incident_app.services.letters.access import may_approve
from incident_app.storage import FileStore

MAX_SET = 20  # more letters than one review request ever holds (4 variants per obligation)


@dataclass(frozen=True)
class SetItem:
    """One letter of the set as the confirmation names it."""

    letter_id: int
    document_id: str
    label: str
    version: int
    sha256: str


def awaiting_here(session: Session, *, actor: User, incident_id: int) -> list[SetItem]:
    """The incident's letters in legal review that `actor` may approve (their queue, filtered
    to this incident), earliest due first. Call after the incident's access check."""
    items = []
    for item in queue.awaiting_review(session, actor=actor):
        if item.incident_id != incident_id:
            continue
        letter = session.get_one(Letter, item.letter_id)
        version = review.current_version(letter)
        items.append(
            SetItem(
                item.letter_id, item.document_id, item.letter_label, version.number, version.sha256
            )
        )
    return items


def approve_together(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    confirmations: Mapping[int, str],
    store: FileStore,
) -> list[Letter]:
    """Approve every letter in `confirmations` ({letter id: the SHA-256 prefix the reviewer
    confirmed}) as `review.approve` would, one after the other, in one transaction.

    Raises ValidationFailed (nothing chosen, too many), and whatever `review.approve` raises
    for any one letter (NotFound, NotAllowed, InvalidTransition, LetterIntegrityFailed):
    then nothing is approved. Commits once.
    """
    get_visible(session, actor=actor, incident_id=incident_id)
    if not may_approve(session, actor):
        raise NotAllowed("Only legal reviewers may approve letters.")
    if not confirmations:
        raise ValidationFailed("Tick at least one letter to approve.", field="letters")
    if len(confirmations) > MAX_SET:
        raise ValidationFailed(f"Approve at most {MAX_SET} letters at once.", field="letters")
    try:
        approved = [
            review.approve_unsaved(
                session,
                actor=actor,
                now=now,
                incident_id=incident_id,
                letter_id=letter_id,
                store=store,
                expected_sha256=expected,
            )
            for letter_id, expected in sorted(confirmations.items())
        ]
    except DomainError:
        session.rollback()
        raise
    session.commit()
    return approved
