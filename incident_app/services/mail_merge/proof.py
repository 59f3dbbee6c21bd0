"""The proof of a new batch.

Legal approved one sample letter with a placeholder addressee. Before thousands go out, the
batch keeps a proof of three real recipients rendered through the same fast path from the
approved version, so a reviewer sees names and addresses in the window as the mail house will
print them. Distinct variants are preferred, so the proof shows the variety.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.crypto import KeyRing
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import Route
from incident_app.models.mail_batch import Variant
from incident_app.models.roster import RosterPerson
from incident_app.services.letters.approved import ApprovedLetter
from incident_app.services.mail_merge.manifests import combine
from incident_app.services.mail_merge.pdfs import RENDER_ERRORS
from incident_app.services.mail_merge.planning import entries
from incident_app.services.mail_merge.recipients import Unprintable
from incident_app.services.mail_merge.recipients import recipient_for
from incident_app.services.roster import people as roster_people
from incident_app.storage import FileStore
from incident_app.storage import StorageError

PROOF_SIZE = 3


def render_proof(
    session: Session,
    batch: MailBatch,
    incident: Incident,
    approvals: dict[Variant, ApprovedLetter],
    keyring: KeyRing,
    store: FileStore,
    snapshots: Mapping[Variant, letters.TemplateSnapshot] | None = None,
) -> str | None:
    """Store the proof of the batch's first recipients, rendered from the batch's template
    snapshots (the files on disk without); its SHA-256, or None when nobody in the first
    chunk gets a printable letter. ValidationFailed when the store refuses it."""
    pdfs: list[bytes] = []
    for variant, recipient in _proof_people(session, batch, keyring):
        recipient["letter_id"] = f"{incident.reference}-M{batch.id}-PROOF{len(pdfs) + 1}"
        if "identity_protection" in approvals[variant].common_context:
            # The proof assigns no code: it shows the placeholder the approved sample shows.
            recipient["enrollment_code"] = letters.SAMPLE_ENROLLMENT_CODE
        try:
            [(_, pdf)] = list(
                letters.render_batch(
                    variant.template_name,
                    approvals[variant].common_context,
                    [recipient],
                    snapshot=(snapshots or {}).get(variant),
                )
            )
        except RENDER_ERRORS:
            continue  # this one fails in the batch too, with its reason; show the next
        pdfs.append(pdf)
        if len(pdfs) == PROOF_SIZE:
            break
    if not pdfs:
        return None
    try:
        return store.put_bytes(
            combine(pdfs, title=f"Proof: {incident.reference}, mailing {batch.id}")[0]
        ).sha256
    except StorageError as error:
        raise ValidationFailed(f"The proof could not be stored: {error}", field="proof") from error


def _proof_people(
    session: Session, batch: MailBatch, keyring: KeyRing
) -> list[tuple[Variant, letters.RecipientContext]]:
    chosen: list[tuple[Variant, letters.RecipientContext]] = []
    spare: list[tuple[Variant, letters.RecipientContext]] = []
    for entry in entries(_first_chunk(session, batch)):
        if entry.route is not Route.MAIL or entry.variant is None:
            continue
        person = session.get_one(RosterPerson, entry.person_id)
        try:
            recipient = recipient_for(
                person, roster_people.decrypt(keyring, person), entry.variant, "PROOF"
            )
        except Unprintable:
            continue
        distinct = all(v is not entry.variant for v, _ in chosen)
        (chosen if distinct else spare).append((entry.variant, recipient.context))
        if len(chosen) == PROOF_SIZE or len(chosen) + len(spare) >= 30:
            break
    return chosen + spare


def _first_chunk(session: Session, batch: MailBatch) -> MailChunk | None:
    return session.scalar(
        sa.select(MailChunk)
        .where(MailChunk.batch_id == batch.id)
        .order_by(MailChunk.number)
        .limit(1)
    )
