"""Exporting the approved call-centre FAQ (faq.py) for the call centre: only while its legal
approval is valid, and only the exact approved bytes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.models.user import User
from incident_app.services.letters.access import visible_letter
from incident_app.services.letters.faq import FAQ_TEMPLATE
from incident_app.services.letters.review import LetterIntegrityFailed
from incident_app.services.letters.review import approval_valid
from incident_app.services.letters.trail import audit_read
from incident_app.storage import FileStore
from incident_app.storage import StorageError


def export_pdf(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    store: FileStore,
) -> tuple[str, bytes]:
    """(file name, bytes) of the approved FAQ for the call centre: the exact approved version,
    verified against its SHA-256. Raises NotFound (not an FAQ, or not visible),
    InvalidTransition (not approved, or the approval is void: nothing is handed out),
    LetterIntegrityFailed. Audited; commits once."""
    letter = visible_letter(session, actor, incident_id, letter_id)
    if letter.template_name != FAQ_TEMPLATE:
        raise NotFound("Only the call-centre FAQ is exported for the call centre.")
    if not approval_valid(session, letter):
        raise InvalidTransition(
            f"Not exported: the call-centre FAQ {letter.document_id} is "
            f"{letter.status.label.lower()} and has no valid legal approval. The call centre "
            "gets only the approved text: send it to legal review and have it approved (again, "
            "if the facts or wording changed since)."
        )
    version = letter.approved_version
    assert version is not None  # approval_valid checked it
    try:
        data = store.read_verified(version.sha256)
    except StorageError as error:
        message = f"Not exported: the stored PDF failed its check ({error})."
        raise LetterIntegrityFailed(message) from error
    audit_read(
        session,
        letter,
        "letter.faq_exported",
        actor,
        now,
        {"version": version.number, "sha256": version.sha256},
    )
    session.commit()
    return f"call-centre-faq-{letter.document_id}.pdf", data
