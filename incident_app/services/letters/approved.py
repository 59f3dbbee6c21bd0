"""What a mail merge starts from: the incident's approved, still-valid letter of a kind (and
template), with the approved version's SHA-256, template version and the sample's shared
context. Read by services/mail_merge; the approval itself is review.py's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.letter import Letter
from incident_app.models.letter import LetterReviewEvent
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import ReviewAction
from incident_app.models.obligation import Obligation
from incident_app.services.letters import context as letter_context
from incident_app.services.letters.review import approval_valid


@dataclass(frozen=True)
class ApprovedLetter:
    """What a mail-merge batch starts from: the approved template version and sample."""

    letter_id: int
    version_id: int
    document_id: str
    template_name: str
    template_version: str
    sample_sha256: str
    data_fingerprint: str
    letter_date: date
    approved_by_id: int
    approved_at: datetime
    common_context: dict[str, Any]  # the sample's context without "recipient"


def approved_letter(
    session: Session,
    *,
    incident_id: int,
    kind: str,
    template_name: str | None = None,
    client_key: str | None = None,
    printed_from: str | None = None,
) -> ApprovedLetter | None:
    """The incident's approved, still-valid letter for an obligation kind (e.g.
    "individual_notice"), or None. Access is the caller's business (check it first).
    `client_key` ("client:<id>"): the letter of a client's own obligation (business-associate
    mode, printed on the client's letterhead); without it only the organisation's own.
    `printed_from`: the template version the letter will be printed from (a mailing's template
    snapshot), checked instead of the files on disk."""
    query = (
        sa.select(Letter)
        .join(Obligation, Obligation.id == Letter.obligation_id)
        .where(
            Letter.incident_id == incident_id,
            Letter.kind == kind,
            Letter.status.in_([LetterStatus.APPROVED, LetterStatus.SENT]),
            client_letters(client_key),
        )
    )
    if template_name is not None:
        query = query.where(Letter.template_name == template_name)
    for letter in session.scalars(query.order_by(Letter.id)):
        if approval_valid(session, letter, printed_from=printed_from):
            return _approved(session, letter)
    return None


def client_letters(client_key: str | None) -> sa.ColumnElement[bool]:
    """Letters of the client's own obligations, or (None) of the organisation's own."""
    if client_key is None:
        return Obligation.source_key.not_like("client:%")
    return Obligation.source_key == client_key


def _approved(session: Session, letter: Letter) -> ApprovedLetter:
    version = letter.approved_version
    assert version is not None  # approval_valid checked it
    event = session.scalars(
        sa.select(LetterReviewEvent)
        .where(
            LetterReviewEvent.version_id == version.id,
            LetterReviewEvent.action == ReviewAction.APPROVED,
        )
        .order_by(LetterReviewEvent.id.desc())
    ).first()
    assert event is not None
    case = letter_context.load_case(session, letter, version.letter_date)
    context = letter_context.build_context(session, case)
    context.pop("recipient", None)
    return ApprovedLetter(
        letter_id=letter.id,
        version_id=version.id,
        document_id=letter.document_id,
        template_name=version.template_name,
        template_version=version.template_version,
        sample_sha256=version.sha256,
        data_fingerprint=version.data_fingerprint,
        letter_date=version.letter_date,
        approved_by_id=event.actor_id,
        approved_at=event.at,
        common_context=context,
    )
