"""Proof files for a recorded notice (affidavits, portal confirmations, mailing receipts).

164.414 puts the burden of proof on the covered entity, hence proof files in the encrypted
store: stored by SHA-256, and handed out only after the bytes match it again. Every upload and
download is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy.orm import Session

from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.letter import NoticeProof
from incident_app.models.letter import NoticeSent
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.services.letters.review import LetterIntegrityFailed
from incident_app.storage import FileStore
from incident_app.storage import FileTooLarge
from incident_app.storage import StorageError

PROOF_MAX_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class ProofUpload:
    filename: str
    content_type: str
    stream: BinaryIO
    description: str = ""


def attach_proof(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    notice_id: int,
    upload: ProofUpload,
    store: FileStore,
) -> NoticeProof:
    """Store a proof file (affidavit, portal confirmation) for a recorded notice. Commits."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    notice = _notice(session, incident, notice_id)
    try:
        stored = store.put_stream(upload.stream, max_bytes=PROOF_MAX_BYTES)
    except FileTooLarge as error:
        raise ValidationFailed("The file is larger than 25 MB.", field="file") from error
    if stored.size == 0:
        raise ValidationFailed("The file is empty.", field="file")
    proof = NoticeProof(
        notice_id=notice.id,
        sha256=stored.sha256,
        filename=_safe_filename(upload.filename),
        content_type=(upload.content_type or "application/octet-stream")[:100],
        size_bytes=stored.size,
        description=upload.description.strip()[:300],
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    session.add(proof)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="notice.proof_attached",
        at=now,
        subject_type="notice_proof",
        subject_id=proof.id,
        incident_id=incident.id,
        details={
            "notice_id": notice.id,
            "sha256": stored.sha256,
            "filename": proof.filename,
            "size": stored.size,
        },
    )
    session.commit()
    return proof


def _notice(session: Session, incident: Incident, notice_id: int) -> NoticeSent:
    notice = session.get(NoticeSent, notice_id)
    if notice is None or notice.incident_id != incident.id:
        raise NotFound("No such notice on this incident.")
    return notice


def _safe_filename(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    return cleaned[:255] or "proof"


def open_proof(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    proof_id: int,
    store: FileStore,
) -> tuple[NoticeProof, bytes]:
    """A proof file verified against its SHA-256; the download is audited. Commits once."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    proof = session.get(NoticeProof, proof_id)
    if proof is None or proof.notice.incident_id != incident.id:
        raise NotFound("No such proof file on this incident.")
    try:
        data = store.read_verified(proof.sha256)
    except StorageError as error:
        audit.record(
            session,
            actor=actor,
            action="notice.proof_download_refused",
            at=now,
            subject_type="notice_proof",
            subject_id=proof.id,
            incident_id=incident.id,
            details={"reason": str(error)},
        )
        session.commit()
        raise LetterIntegrityFailed(
            f"Download refused: the stored proof file no longer matches its SHA-256 ({error})."
        ) from error
    audit.record(
        session,
        actor=actor,
        action="notice.proof_downloaded",
        at=now,
        subject_type="notice_proof",
        subject_id=proof.id,
        incident_id=incident.id,
        details={"sha256": proof.sha256},
    )
    session.commit()
    return proof, data
