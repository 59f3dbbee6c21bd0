"""Evidence files: allow-listed uploads into the encrypted store, custody log, verified downloads.

A file is accepted only when its extension is on the allow-list AND its first bytes look like
that type (a renamed executable is refused). Bytes are stored once per SHA-256; the same bytes
uploaded again on the same incident are recognised and logged as such. A download is written to
the custody log and the audit trail, and its bytes are checked against the hash before any of
them is sent.

The store is passed in (`storage.FileStore`), so this module never touches Flask.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from incident_app import storage
from incident_app.errors import DomainError
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.evidence import CustodyAction
from incident_app.models.evidence import CustodyEvent
from incident_app.models.evidence import EvidenceFile
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable

SNIFF_BYTES = 8192
NAME_MAX = 200


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def _starts(*signatures: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(signatures)


def _is_text(head: bytes) -> bool:
    """Plain text: no NUL bytes and valid UTF-8 (a cut multi-byte character at the end of the
    sniffed block is fine)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head) - 3
    return True


_ZIP = _starts(b"PK\x03\x04")
_OLE = _starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
# extension → (content type sent back on download, check of the first bytes)
ALLOWED: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "pdf": ("application/pdf", _starts(b"%PDF-")),
    "png": ("image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    "gif": ("image/gif", _starts(b"GIF87a", b"GIF89a")),
    "txt": ("text/plain; charset=utf-8", _is_text),
    "log": ("text/plain; charset=utf-8", _is_text),
    "csv": ("text/csv; charset=utf-8", _is_text),
    "eml": ("message/rfc822", _is_text),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    "doc": ("application/msword", _OLE),
    "xls": ("application/vnd.ms-excel", _OLE),
    "msg": ("application/vnd.ms-outlook", _OLE),
}


class EvidenceDamaged(DomainError):
    """The stored bytes no longer match their hash (or are gone): nothing is sent."""

    status_code = 500


@dataclass(frozen=True)
class Upload:
    filename: str
    stream: _Readable | BinaryIO


@dataclass(frozen=True)
class UploadResult:
    evidence: EvidenceFile
    duplicate: bool


def sanitise_filename(raw: str) -> str:
    """The base name only, NFKC-normalised, with anything but letters, digits, '.', '-', '_'
    and spaces replaced; no leading dots; at most 200 characters (the extension kept)."""
    base = re.split(r"[\\/]", raw or "")[-1]
    base = unicodedata.normalize("NFKC", base)
    base = re.sub(r"[^\w.\- ]", "_", base, flags=re.UNICODE)
    base = re.sub(r"\s+", " ", base).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if dot and len(base) > NAME_MAX:
        base = stem[: NAME_MAX - len(ext) - 1] + "." + ext
    return base[:NAME_MAX] or "file"


def _extension(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def _allowed_list() -> str:
    return ", ".join(f".{ext}" for ext in sorted(ALLOWED))


class Prefixed:
    """A reader that first returns the sniffed head, then the rest of the stream."""

    def __init__(self, head: bytes, rest: _Readable | BinaryIO) -> None:
        self._head, self._rest = head, rest

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            out = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(out) :]
            return out
        return self._rest.read(size)


def check_type(name: str, head: bytes, *, field: str = "file") -> str:
    """The content type for an allowed upload, judged by its extension AND its first bytes;
    ValidationFailed(field=...) otherwise. Shared by every upload of evidence-like files."""
    try:
        return _check_type(name, head)
    except ValidationFailed as error:
        raise ValidationFailed(str(error), field=field) from error


def _check_type(name: str, head: bytes) -> str:
    ext = _extension(name)
    if ext not in ALLOWED:
        raise ValidationFailed(
            f"Files of type {'.' + ext if ext else 'without an extension'} are not accepted. "
            f"Allowed: {_allowed_list()}.",
            field="file",
        )
    content_type, looks_right = ALLOWED[ext]
    if not head:
        raise ValidationFailed("The file is empty.", field="file")
    if not looks_right(head):
        raise ValidationFailed(
            f"The file's content is not a .{ext} file (it may have been renamed). "
            "Nothing was stored.",
            field="file",
        )
    return content_type


def upload_evidence(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    upload: Upload,
    description: str,
    now: datetime,
    store: storage.FileStore,
    max_bytes: int,
) -> UploadResult:
    """Store an upload as evidence. The same bytes again on this incident are recognised
    (custody entry "uploaded again", no second file). Raises NotFound, NotAllowed,
    ValidationFailed (type, content, size: nothing is stored). Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    result = attach_file(
        session,
        actor=actor,
        incident_id=incident.id,
        upload=upload,
        description=description,
        now=now,
        store=store,
        max_bytes=max_bytes,
    )
    if not result.duplicate:
        evidence = result.evidence
        timeline.add(
            session,
            incident_id=incident.id,
            kind=EntryKind.FILE,
            at=now,
            actor=actor,
            text=(
                f"File added: {evidence.filename} ({evidence.size_bytes:,} bytes, "
                f"SHA-256 {evidence.sha256[:12]}…)"
            ),
            details={"evidence_id": evidence.id},
        )
    session.commit()
    return result


def attach_file(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    upload: Upload,
    description: str,
    now: datetime,
    store: storage.FileStore,
    max_bytes: int,
    field: str = "file",
) -> UploadResult:
    """List an upload among the incident's evidence: the allow-list, the sanitised name, the
    store, the custody entry and the audit event of every evidence upload. ValidationFailed
    names `field`. No access check and no commit: for the use cases that attach a file to a
    record of their own (an invoice, a proof of completion), check access and commit."""
    name = sanitise_filename(upload.filename)
    head = upload.stream.read(SNIFF_BYTES)
    content_type = check_type(name, head, field=field)
    try:
        stored = store.put_stream(Prefixed(head, upload.stream), max_bytes=max_bytes)
    except storage.FileTooLarge as error:
        raise ValidationFailed(
            f"The file is larger than the limit of {max_bytes / 1024 / 1024:g} MB. Nothing was "
            "stored.",
            field=field,
        ) from error
    existing = session.scalar(
        sa.select(EvidenceFile).where(
            EvidenceFile.incident_id == incident_id, EvidenceFile.sha256 == stored.sha256
        )
    )
    evidence = existing or EvidenceFile(
        incident_id=incident_id,
        sha256=stored.sha256,
        filename=name,
        content_type=content_type,
        size_bytes=stored.size,
        description=description.strip()[:2000],
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    session.add(evidence)
    session.flush()
    action = CustodyAction.UPLOADED_AGAIN if existing else CustodyAction.UPLOADED
    session.add(
        CustodyEvent(
            evidence_id=evidence.id, action=action, actor_id=actor.id, at=now, filename=name
        )
    )
    audit.record(
        session,
        actor=actor,
        action=f"evidence.{action.value}",
        at=now,
        subject_type="evidence_file",
        subject_id=evidence.id,
        incident_id=incident_id,
        details={"sha256": stored.sha256, "filename": name, "size": stored.size},
    )
    return UploadResult(evidence, existing is not None)


def evidence_of(session: Session, *, actor: User, incident_id: int) -> list[EvidenceFile]:
    """The incident's files with their custody logs (who uploaded and downloaded when)."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(EvidenceFile)
            .where(EvidenceFile.incident_id == incident.id)
            .options(
                selectinload(EvidenceFile.uploaded_by),
                selectinload(EvidenceFile.custody).selectinload(CustodyEvent.actor),
            )
            .order_by(EvidenceFile.uploaded_at.desc(), EvidenceFile.id.desc())
        )
    )


def open_download(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    evidence_id: int,
    now: datetime,
    store: storage.FileStore,
) -> tuple[EvidenceFile, Iterator[bytes]]:
    """Check the stored bytes against their SHA-256, log the download (custody + audit,
    committed), and return the file with a stream of its verified bytes.

    Raises NotFound, EvidenceDamaged (nothing is logged or sent)."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    evidence = session.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.incident_id != incident.id:
        raise NotFound("No such file on this incident.")
    _verify(store, evidence.sha256)
    session.add(
        CustodyEvent(
            evidence_id=evidence.id,
            action=CustodyAction.DOWNLOADED,
            actor_id=actor.id,
            at=now,
            filename=evidence.filename,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="evidence.downloaded",
        at=now,
        subject_type="evidence_file",
        subject_id=evidence.id,
        incident_id=incident.id,
        details={"sha256": evidence.sha256, "filename": evidence.filename},
    )
    session.commit()
    # Streamed in chunks; the store checks each chunk and the whole hash again as it goes.
    return evidence, store.open_verified(evidence.sha256)


def _verify(store: storage.FileStore, sha256: str) -> None:
    """Read the whole file once through the verifying reader before anything is sent."""
    try:
        for _chunk in store.open_verified(sha256):
            pass
    except storage.StorageError as error:
        raise EvidenceDamaged(
            "The stored copy of this file failed its integrity check (or is missing), so it "
            "was not sent. Restore the file store from a backup and tell the administrator."
        ) from error
