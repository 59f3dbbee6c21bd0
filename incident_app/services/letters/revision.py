"""Revising a letter after legal asked for changes, in one step from the letter's page: save
the notice wording, render the letter again and send the new version to the same reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import DomainError
from incident_app.errors import InvalidTransition
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterReviewEvent
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import NoticeWording
from incident_app.models.letter import ReviewAction
from incident_app.models.user import User
from incident_app.services.letters import generation
from incident_app.services.letters import notice_wording
from incident_app.services.letters import review
from incident_app.services.letters import reviewers
from incident_app.services.letters.access import workable_letter
from incident_app.storage import FileStore

REVISABLE = (LetterStatus.DRAFT, LetterStatus.CHANGES_REQUESTED)


def revise(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    wording: dict[str, Any],
    store: FileStore,
    email_base_url: str | None = None,
) -> Letter:
    """Save `wording` (the notice wording form's values), render a new version of the letter
    and send it to legal review: to the reviewer it went to before when they still may approve
    it, else to the team's legal reviewer (notified in the app and, with `email_base_url`, by
    email). Raises NotFound, NotAllowed, InvalidTransition (not a draft or changes requested;
    a sent letter), ValidationFailed (the wording, a missing 164.404(c) element),
    LetterRenderError. Commits once: when any step fails nothing is kept (the wording too)."""
    letter = workable_letter(session, actor, incident_id, letter_id)
    if letter.status not in REVISABLE:
        raise InvalidTransition(
            f"A letter that is {letter.status.label.lower()} is not waiting for a revision."
        )
    request = generation.LetterRequest(letter.obligation_id, letter.template_name)
    try:
        notice_wording.apply_wording(
            session, actor=actor, now=now, incident=letter.incident, values=wording
        )
        generation.render_letter(
            session, actor=actor, now=now, incident=letter.incident, request=request, store=store
        )
        review.send_to_review(session, letter, actor, now, None, email_base_url)
    except DomainError:  # LetterRenderError is one too
        session.rollback()  # the saved wording must not outlive a failed render or submit
        raise
    session.commit()
    return letter


@dataclass(frozen=True)
class RevisionPage:
    letter: Letter
    wording: NoticeWording
    requested_changes: LetterReviewEvent | None  # what the reviewer asked for
    reviewer: User | None  # who the new version will go to


def revision_page(
    session: Session, *, actor: User, now: datetime, incident_id: int, letter_id: int
) -> RevisionPage:
    """What the revision form shows: the wording to edit, the reviewer's comments and who
    gets the new version. NotAllowed for people who cannot work on the incident."""
    letter = workable_letter(session, actor, incident_id, letter_id)
    _, wording = notice_wording.wording_of(session, actor=actor, incident_id=incident_id)
    asked = session.scalars(
        sa.select(LetterReviewEvent)
        .where(
            LetterReviewEvent.letter_id == letter.id,
            LetterReviewEvent.action == ReviewAction.CHANGES_REQUESTED,
        )
        .order_by(LetterReviewEvent.at.desc(), LetterReviewEvent.id.desc())
    ).first()
    session.commit()  # end the read transaction before the page renders
    return RevisionPage(letter, wording, asked, reviewers.suggested_reviewer(session, letter))
