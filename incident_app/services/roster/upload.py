"""Roster upload (in the web request): check the file, store it, queue the import.

The upload only checks what can be checked from the file's size and first 64 KB (empty,
binary, not UTF-8, no data rows, headers), stores the file in the encrypted file store and
queues a `RosterImport` (or asks for a column mapping first). The import itself runs in the
worker (services/roster/worker.py). A queued import can be cancelled here; a running one stops
at its next batch.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.roster import ImportMode
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterMapping
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import access as incident_access
from incident_app.services.roster import columns as roster_columns
from incident_app.services.roster.columns import sniff_delimiter
from incident_app.services.roster.staging import client_names
from incident_app.storage import FileStore
from incident_app.storage import FileTooLarge

HEAD_BYTES = 64 * 1024
_BINARY_MAGIC = {
    b"PK\x03\x04": "an Excel workbook or ZIP archive",
    b"\xd0\xcf\x11\xe0": "an old-style Excel (.xls) or Word file",
    b"%PDF": "a PDF document",
}


@dataclass(frozen=True)
class Head:
    delimiter: str
    headers: list[str]


def create_import(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    upload: BinaryIO,
    filename: str,
    mode: ImportMode,
    store: FileStore,
    max_bytes: int,
) -> RosterImport:
    """Check, store and queue an uploaded roster (or ask for a column mapping).

    Raises ValidationFailed(field="file") for a file that cannot be a roster; nothing is
    stored or written then. Commits once.
    """
    incident = incident_access.get_workable(session, actor=actor, incident_id=incident_id)
    size = _size_within_limit(upload, max_bytes)
    head = upload.read(HEAD_BYTES)
    parsed = inspect_head(head, complete=len(head) == size)
    upload.seek(0)
    try:
        stored = store.put_stream(upload, max_bytes=max_bytes)
    except FileTooLarge as error:
        raise ValidationFailed(too_large_message(size, max_bytes), field="file") from error
    mapping, status = _initial_mapping(session, incident.id, parsed.headers)
    if (
        status is ImportStatus.QUEUED
        and "client" not in mapping
        and _names_clients(session, incident.id)
    ):
        status = ImportStatus.NEEDS_MAPPING  # business-associate mode: say whose rows these are
    record = RosterImport(
        incident_id=incident.id,
        status=status,
        mode=mode,
        filename=filename[:255] or "roster.csv",
        file_sha256=stored.sha256,
        size_bytes=stored.size,
        delimiter=parsed.delimiter,
        headers=parsed.headers,
        mapping=mapping,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="roster.import_uploaded",
        at=now,
        subject_type="roster_import",
        subject_id=record.id,
        incident_id=incident.id,
        details={
            "mode": mode.value,
            "bytes": stored.size,
            "sha256": stored.sha256,
            "status": status.value,
        },
    )
    session.commit()
    return record


def _size_within_limit(upload: BinaryIO, max_bytes: int) -> int:
    """The upload's size, measured by seeking (never by reading), checked against the limit."""
    upload.seek(0, io.SEEK_END)
    size = upload.tell()
    upload.seek(0)
    if size > max_bytes:
        raise ValidationFailed(too_large_message(size, max_bytes), field="file")
    if size == 0:
        raise ValidationFailed("The file is empty: there is nothing to import.", field="file")
    return size


def too_large_message(size: int | None, max_bytes: int) -> str:
    """`size` None: the body came without a length (chunked) and went past the limit."""
    limit = f"a roster file may be at most {max_bytes / 1_048_576:.0f} MB"
    found = (
        f"The file is {size / 1_048_576:.1f} MB; {limit}"
        if size is not None
        else (f"The file is too large: {limit}")
    )
    return (
        f"{found}. Split it into parts and import them one after the other with “append”. "
        "Nothing was imported."
    )


def inspect_head(head: bytes, *, complete: bool) -> Head:
    """Delimiter and headers from the first bytes of a file; ValidationFailed if it is not a
    UTF-8 CSV with a header row and at least one data row."""
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise ValidationFailed(
                f"This is {what}, not a CSV file. Save the roster as “CSV UTF-8” and upload "
                "that. Nothing was imported.",
                field="file",
            )
    if b"\x00" in head:
        raise ValidationFailed(
            "This is not a text CSV file (it contains binary data). Save "
            "the roster as “CSV UTF-8” and upload that. Nothing was "
            "imported.",
            field="file",
        )
    text = _decode_head(head, complete=complete).removeprefix("\ufeff")
    delimiter = sniff_delimiter(re.split(r"\r\n|\r|\n", text, maxsplit=1)[0])
    # newline="": CR, LF and CRLF all end a record, as in the worker's reader (reading.py).
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if any(r)]
    records = records[:2]
    if not records:
        raise ValidationFailed("The file has no header row.", field="file")
    headers = [header.strip() for header in records[0]]
    _check_headers(headers)
    if len(records) < 2:
        raise ValidationFailed(
            "The file has a header row but no people in it. Nothing was imported.", field="file"
        )
    return Head(delimiter, headers)


def _decode_head(head: bytes, *, complete: bool) -> str:
    try:
        return codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=complete)
    except UnicodeDecodeError as error:
        line = head[: error.start].count(b"\n") + 1
        raise ValidationFailed(
            f"The file is not UTF-8 text: line {line} has the byte 0x{head[error.start]:02X}, "
            "which UTF-8 does not allow (the file is probably Latin-1/Windows-1252). In Excel "
            "use Save As › “CSV UTF-8 (comma delimited)” and upload again. Nothing was "
            "imported.",
            field="file",
        ) from error


def _check_headers(headers: list[str]) -> None:
    seen: set[str] = set()
    for number, header in enumerate(headers, start=1):
        if not header:
            raise ValidationFailed(f"Column {number} of the header row has no name.", field="file")
        if header in seen:
            raise ValidationFailed(f"The header row names “{header}” twice.", field="file")
        seen.add(header)


def _initial_mapping(
    session: Session, incident_id: int, headers: list[str]
) -> tuple[dict[str, str], ImportStatus]:
    remembered = session.get(RosterMapping, incident_id)
    if remembered is not None and roster_columns.fits(remembered.mapping, headers):
        return dict(remembered.mapping), ImportStatus.QUEUED
    guessed = roster_columns.guess_mapping(headers)
    status = (
        ImportStatus.QUEUED
        if roster_columns.fits(guessed, headers)
        else (ImportStatus.NEEDS_MAPPING)
    )
    return guessed, status


def confirm_mapping(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    import_id: int,
    mapping: Mapping[str, str],
) -> RosterImport:
    """Queue an import with the columns a person mapped; remember them for the incident.

    Raises ValidationFailed(field=<column>) for an unmapped required column or a header used
    twice, InvalidTransition when the import is no longer waiting for a mapping.
    """
    record = _import_for_change(session, actor, incident_id, import_id)
    if record.status is not ImportStatus.NEEDS_MAPPING:
        raise InvalidTransition(
            f"This import is {record.status.label.lower()}; its columns can no longer be changed."
        )
    chosen = {name: header for name, header in mapping.items() if header}
    _check_mapping(chosen, record.headers)
    if "client" not in chosen and _names_clients(session, incident_id):
        raise ValidationFailed(
            "This incident names covered-entity clients: choose the file's column that says "
            "whose patient each row is (or add one and upload again).",
            field="client",
        )
    record.mapping, record.status = chosen, ImportStatus.QUEUED
    remembered = session.get(RosterMapping, incident_id)
    if remembered is None:
        remembered = RosterMapping(incident_id=incident_id, updated_by_id=actor.id)
        session.add(remembered)
    remembered.mapping, remembered.updated_at, remembered.updated_by_id = chosen, now, actor.id
    audit.record(
        session,
        actor=actor,
        action="roster.columns_mapped",
        at=now,
        subject_type="roster_import",
        subject_id=record.id,
        incident_id=incident_id,
        details={"mapping": chosen},
    )
    session.commit()
    return record


def _names_clients(session: Session, incident_id: int) -> bool:
    return bool(client_names(session, incident_id))


def _check_mapping(mapping: Mapping[str, str], headers: list[str]) -> None:
    for name in roster_columns.missing_required(mapping):
        label = roster_columns.BY_NAME[name].label
        raise ValidationFailed(
            f"{label} is required: choose the file's column that holds it "
            "(if the file has no such column, add it and upload again).",
            field=name,
        )
    used: dict[str, str] = {}
    for name, header in mapping.items():
        if name not in roster_columns.BY_NAME or header not in headers:
            raise ValidationFailed(f"“{header}” is not a column of this file.", field=name)
        if header in used:
            raise ValidationFailed(
                f"“{header}” is already used for {roster_columns.BY_NAME[used[header]].label}.",
                field=name,
            )
        used[header] = name


def cancel_import(
    session: Session, *, actor: User, now: datetime, incident_id: int, import_id: int
) -> RosterImport:
    """Cancel a queued (or mapping) import; a running one stops at its next batch."""
    record = _import_for_change(session, actor, incident_id, import_id)
    if record.status not in (ImportStatus.NEEDS_MAPPING, ImportStatus.QUEUED, ImportStatus.RUNNING):
        raise InvalidTransition(f"This import is already {record.status.label.lower()}.")
    record.status, record.finished_at = ImportStatus.CANCELLED, now
    record.message = "Cancelled; nothing was imported."
    audit.record(
        session,
        actor=actor,
        action="roster.import_cancelled",
        at=now,
        subject_type="roster_import",
        subject_id=record.id,
        incident_id=incident_id,
    )
    session.commit()
    return record


def _import_for_change(
    session: Session, actor: User, incident_id: int, import_id: int
) -> RosterImport:
    incident_access.get_workable(session, actor=actor, incident_id=incident_id)
    record = session.get(RosterImport, import_id)
    if record is None or record.incident_id != incident_id:
        raise NotFound("No such roster import for this incident.")
    return record
