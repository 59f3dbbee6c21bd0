"""Roster test helpers: CSV builders, a fixed key ring, a file store, running the worker."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.models.roster import ImportMode
from incident_app.models.roster import RosterImport
from incident_app.models.user import User
from incident_app.services.roster import upload as roster_upload
from incident_app.services.roster import worker as roster_worker
from incident_app.storage import FileStore
from tests.support.factories import NOW

HEADER = (
    "external_id,first_name,last_name,date_of_birth,address_line1,address_line2,city,"
    "state,zip,country,email,phone,email_consent,deceased,nok_name,nok_address_line1,"
    "nok_city,nok_state,nok_zip,minor,guardian_name,language"
)
MAX_BYTES = 150 * 1024 * 1024


def ring() -> KeyRing:
    return KeyRing([("k1", bytes(range(32)))], bytes(range(32, 64)))


def store_at(tmp_path: Path, keyring: KeyRing | None = None) -> FileStore:
    return FileStore(tmp_path / "files", keyring or ring())


def person(
    ext: str,
    first: str = "Ana",
    last: str = "García",
    *,
    dob: str = "1980-04-02",
    line1: str = "12 Elm St",
    city: str = "Albany",
    state: str = "NY",
    zip_code: str = "12207",
    email: str = "",
    consent: str = "",
    deceased: str = "",
    nok: tuple[str, str, str, str, str] = ("", "", "", "", ""),
    minor: str = "",
    language: str = "",
) -> str:
    cells = [
        ext,
        first,
        last,
        dob,
        line1,
        "",
        city,
        state,
        zip_code,
        "",
        email,
        "",
        consent,
        deceased,
        *nok,
        minor,
        "",
        language,
    ]
    return ",".join(_quote(cell) for cell in cells)


def _quote(cell: str) -> str:
    if any(c in cell for c in ',"\n;'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_bytes(*rows: str, header: str = HEADER, bom: bool = False) -> bytes:
    text = "\r\n".join([header, *rows]) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def upload(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    data: bytes,
    store: FileStore,
    mode: ImportMode = ImportMode.REPLACE,
    max_bytes: int = MAX_BYTES,
    filename: str = "roster.csv",
) -> RosterImport:
    return roster_upload.create_import(
        session,
        actor=actor,
        now=NOW,
        incident_id=incident_id,
        upload=io.BytesIO(data),
        filename=filename,
        mode=mode,
        store=store,
        max_bytes=max_bytes,
    )


def run_worker(session: Session, store: FileStore, *, batch_rows: int = 2) -> RosterImport | None:
    return roster_worker.run_next(
        session, keyring=store.keyring, store=store, clock=lambda: NOW, batch_rows=batch_rows
    )


def import_csv(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    data: bytes,
    store: FileStore,
    mode: ImportMode = ImportMode.REPLACE,
) -> RosterImport:
    upload(session, actor=actor, incident_id=incident_id, data=data, store=store, mode=mode)
    record = run_worker(session, store)
    assert record is not None
    return record
