"""Handing out a batch's files — the proof, a chunk's print file or manifest, the whole batch's
manifest — verified against their SHA-256 and audited. These files hold PHI: the roster's
readers only.

A print file is large (tens of MB for a chunk of letters), so the proof and print files are
never read whole into memory: they are verified chunk by chunk into a SealedSpool (a few MB
in memory, the rest sealed on disk; spool.py), audited, and the view streams the spool after
the session is closed (blueprints/_downloads.py). A file that fails its check is refused
before the download is audited or a byte is sent.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import NotFound
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.letters import review as letter_review
from incident_app.services.mail_merge.batches import get_batch
from incident_app.services.mail_merge.manifests import MANIFEST_HEADER
from incident_app.services.roster import access as roster_access
from incident_app.services.roster.people import latest_letter_of
from incident_app.services.roster.people import person_on_roster
from incident_app.spool import SealedSpool
from incident_app.storage import FileStore
from incident_app.storage import StorageError


def download(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    batch_id: int,
    what: str,
    store: FileStore,
    chunk_number: int | None = None,
) -> tuple[str, bytes | SealedSpool]:
    """(file name, content) of the proof ("proof"), a chunk's print file ("print") or manifest
    ("manifest"), or the whole batch's manifest ("manifest" without a chunk). Verified against
    the SHA-256; audited (commits). The proof and print files come as a filled SealedSpool
    (the caller drains it), manifests as bytes. The roster's readers only (PHI)."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    batch = get_batch(session, incident_id, batch_id)
    name = f"mailing-{batch.id}"
    data: bytes | SealedSpool
    if what == "manifest" and chunk_number is None:
        data = _batch_manifest(session, batch, store)
        name += "-manifest.csv"
    else:
        sha256, name = _file_of(session, batch, what, chunk_number, name)
        session.commit()  # end the read: the file is read with no transaction open
        data = _read(store, sha256) if what == "manifest" else _spooled(store, sha256)
    try:
        audit.record(
            session,
            actor=actor,
            action="mail_batch.downloaded",
            at=now,
            subject_type="mail_batch",
            subject_id=batch.id,
            incident_id=incident_id,
            details={"file": what, "chunk": chunk_number, "name": name},
        )
        session.commit()
    except BaseException:
        if isinstance(data, SealedSpool):
            data.close()
        raise
    return name, data


def _file_of(
    session: Session, batch: MailBatch, what: str, number: int | None, name: str
) -> tuple[str, str]:
    if what == "proof":
        if batch.proof_sha256 is None:
            raise NotFound("This mailing has no proof (nobody gets a printed letter).")
        return batch.proof_sha256, f"{name}-proof.pdf"
    chunk = session.scalar(
        sa.select(MailChunk).where(MailChunk.batch_id == batch.id, MailChunk.number == number)
    )
    if chunk is None or what not in ("print", "manifest"):
        raise NotFound("No such file in this mailing.")
    sha256 = chunk.print_sha256 if what == "print" else chunk.manifest_sha256
    if sha256 is None:
        raise NotFound("That file is made when the chunk is finished.")
    suffix = "print.pdf" if what == "print" else "manifest.csv"
    return sha256, f"{name}-chunk-{chunk.number:03d}-{suffix}"


def _read(store: FileStore, sha256: str) -> bytes:
    try:
        return store.read_verified(sha256)
    except StorageError as error:
        raise letter_review.LetterIntegrityFailed(
            f"The stored file failed its check and is not handed out: {error}"
        ) from error


def _spooled(store: FileStore, sha256: str) -> SealedSpool:
    """The stored file, verified chunk by chunk into a spool (memory stays at a few MB)."""
    spool = SealedSpool()
    try:
        for chunk in store.open_verified(sha256):
            spool.write(chunk)
    except StorageError as error:
        spool.close()
        raise letter_review.LetterIntegrityFailed(
            f"The stored file failed its check and is not handed out: {error}"
        ) from error
    except BaseException:
        spool.close()
        raise
    return spool


def _batch_manifest(session: Session, batch: MailBatch, store: FileStore) -> bytes:
    """Every finished chunk's manifest, one header."""
    out = [",".join(MANIFEST_HEADER).encode() + b"\r\n"]
    for sha256 in session.scalars(
        sa.select(MailChunk.manifest_sha256)
        .where(MailChunk.batch_id == batch.id, MailChunk.manifest_sha256.is_not(None))
        .order_by(MailChunk.number)
    ):
        out.append(_read(store, sha256 or "").split(b"\r\n", 1)[1])
    return b"".join(out)


# ---- one person's letter --------------------------------------------------------------------


class NoLetterYet(NotFound):
    """The person exists but no mailing has printed a letter for them (yet)."""


def person_letter(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    person_id: int,
    store: FileStore,
) -> tuple[str, bytes]:
    """(file name, PDF) of the person's latest printed letter, exactly as the mailing stored
    it, verified against its SHA-256 and audited (commits). The roster's readers only.
    Raises NotFound, NoLetterYet, LetterIntegrityFailed."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    person_on_roster(session, incident_id, person_id)
    letter = latest_letter_of(session, incident_id, person_id)
    if letter is None or letter.sha256 is None:
        raise NoLetterYet("No mailing has printed a letter for this person yet.")
    data = _read(store, letter.sha256)
    audit.record(
        session,
        actor=actor,
        action="mail_letter.downloaded",
        at=now,
        subject_type="roster_person",
        subject_id=person_id,
        incident_id=incident_id,
        details={"letter_code": letter.letter_code, "sha256": letter.sha256},
    )
    session.commit()
    return f"{letter.letter_code}.pdf", data
