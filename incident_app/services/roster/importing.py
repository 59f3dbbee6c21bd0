"""Roster CSV import: the upload checks (in the web request) and the import itself (worker).

The upload only checks what can be checked from the file's size and first 64 KB (empty,
binary, not UTF-8, no data rows, headers), stores the file in the encrypted file store and
queues a `RosterImport`. The worker (`run_next`) streams the file, normalises each record
(roster_rows), stages accepted rows in batches tagged with the import id, and makes them the
roster in ONE final transaction (flip the import to COMMITTED, supersede the previous roster
on "replace", recount, re-sync obligations, audit). Staged rows of an import that is not
COMMITTED are invisible, so an import killed at any point leaves the roster as it was; the next
worker run deletes its rows and queues it again.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import io
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import IO
from typing import Any
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.roster import ImportMode
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterMapping
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import access as incident_access
from incident_app.services.roster import columns as roster_columns
from incident_app.services.roster import duplicates as roster_duplicates
from incident_app.services.roster import people as roster
from incident_app.services.roster import pool as roster_pool
from incident_app.services.roster.columns import sniff_delimiter
from incident_app.services.roster.normalise import neutralise_cell
from incident_app.services.roster.rows import MERGED
from incident_app.services.roster.rows import BuilderSpec
from incident_app.services.roster.rows import Issue
from incident_app.storage import FileStore
from incident_app.storage import FileTooLarge
from incident_app.storage import StorageError

HEAD_BYTES = 64 * 1024
# Accepted rows staged per transaction. The rows are built before the transaction begins, so
# it holds SQLite's write lock only to insert them (~0.3 s for 20,000 rows here): other
# writers and the progress page wait that long at most, and fewer, bigger commits rewrite the
# blind index's pages less often.
BATCH_ROWS = 20_000
# With helper processes (`workers`), chunks of records are normalised and encrypted by the
# helpers (roster_pool) while this process reads the file and stages what they send back.
# Files smaller than POOL_MIN_BYTES (~30,000 rows) run in one process: starting the helpers
# costs about a second.
CHUNK_ROWS = 5000
POOL_MIN_BYTES = 4 * 1024 * 1024
MAX_ATTEMPTS = 3
STALE_AFTER = timedelta(minutes=2)
REPORT_HEADER = ("row", "column", "outcome", "reason", "value")
_BINARY_MAGIC = {
    b"PK\x03\x04": "an Excel workbook or ZIP archive",
    b"\xd0\xcf\x11\xe0": "an old-style Excel (.xls) or Word file",
    b"%PDF": "a PDF document",
}


# Bytes that are not UTF-8 decode to this marker (a private-use character) and bump a counter,
# so the reader can name the row that holds them instead of the chunk the decoder was on.
_BAD_BYTE = "\U000f4bad"
_MARK_BAD_BYTES = "breachdesk-roster-mark"
_bad_bytes = [0]


def _mark_bad_bytes(error: UnicodeError) -> tuple[str, int]:
    _bad_bytes[0] += 1
    return _BAD_BYTE, error.end  # type: ignore[attr-defined]


codecs.register_error(_MARK_BAD_BYTES, _mark_bad_bytes)


class ImportAborted(Exception):
    """The file cannot be imported at all; the message says why and that nothing changed."""


@dataclass(frozen=True)
class Head:
    delimiter: str
    headers: list[str]


# -- upload (web request) --------------------------------------------------------------


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


def too_large_message(size: int, max_bytes: int) -> str:
    return (
        f"The file is {size / 1_048_576:.1f} MB; a roster file may be at most "
        f"{max_bytes / 1_048_576:.0f} MB. Split it into parts and import them one after "
        "the other with “append”. Nothing was imported."
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
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    records = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(r)][:2]
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


# -- the import (worker) -----------------------------------------------------------------


def run_next(
    session: Session,
    *,
    keyring: KeyRing,
    store: FileStore,
    clock: Callable[[], datetime],
    batch_rows: int = BATCH_ROWS,
    workers: int = 0,
    pool_min_bytes: int = POOL_MIN_BYTES,
) -> RosterImport | None:
    """Claim the oldest queued import and run it to its end (committed or failed).

    Returns it, or None when nothing is queued. Staged rows are committed batch by batch
    (they stay invisible) and one last transaction makes the import the roster. `workers`:
    helper processes that normalise and encrypt (roster_pool), used for files of at least
    `pool_min_bytes`; 0: this process does it all. The pool is shut down before this
    returns, whatever happens.
    """
    record = _claim(session, clock())
    if record is None:
        return None
    if record.size_bytes < pool_min_bytes:
        workers = 0
    run = _Run(session, record, keyring, store, clock, batch_rows, workers)
    try:
        with _few_collections():
            run.stage()
        run.finish()
    except ImportAborted as error:
        _abandon(session, record.id, ImportStatus.FAILED, str(error), clock())
    except _Cancelled:
        _abandon(
            session, record.id, ImportStatus.CANCELLED, "Cancelled; nothing was imported.", clock()
        )
    finally:
        run.close()
    session.refresh(record)
    return record


def _claim(session: Session, now: datetime) -> RosterImport | None:
    """Take the oldest queued import (SKIP LOCKED: several workers never take the same one)."""
    record = session.scalars(
        sa.select(RosterImport)
        .where(RosterImport.status == ImportStatus.QUEUED)
        .order_by(RosterImport.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if record is None:
        session.rollback()
        return None
    record.status, record.attempts = ImportStatus.RUNNING, record.attempts + 1
    record.started_at = record.heartbeat_at = now
    record.bytes_read = record.rows_read = record.rows_accepted = record.rows_rejected = 0
    record.rows_merged = record.warnings = 0
    session.commit()
    return record


class _Cancelled(Exception):
    pass


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """While staging, the cycle collector skips the objects that existed before (the app,
    SQLAlchemy) and runs less often. Staging makes a million short-lived lists and tuples,
    none of them in cycles; otherwise each collection walks the whole heap again: measured
    5 µs of the importing process's ~30 µs per row. Process-wide while it lasts (the
    scheduler's other job threads keep running), and restored however staging ends."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], 100_000), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class _ChunkReader(io.RawIOBase):
    """A file-like view of the file store's verified chunks, counting bytes consumed."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.consumed += size
        return size


class _Run:
    """One import run: stream → normalise → stage in batches → report → final flip."""

    def __init__(
        self,
        session: Session,
        record: RosterImport,
        keyring: KeyRing,
        store: FileStore,
        clock: Callable[[], datetime],
        batch_rows: int,
        workers: int,
    ) -> None:
        self.session, self.record, self.store, self.clock = session, record, store, clock
        self.batch_rows, self.workers, self.keyring = batch_rows, workers, keyring
        self.spec = BuilderSpec(
            headers=tuple(record.headers),
            mapping=dict(record.mapping),
            incident_id=record.incident_id,
            import_id=record.id,
            today=clock().date(),
        )
        self.cache_before: int | None = None
        self.report_file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.report = io.TextIOWrapper(
            self.report_file, encoding="utf-8", newline="", write_through=False
        )
        self.report_writer = csv.writer(self.report)
        self.report_writer.writerow(REPORT_HEADER)
        self.counts = {"read": 0, "accepted": 0, "rejected": 0, "warnings": 0}
        self.prefixes = roster_duplicates.TokenPrefixes()
        self.started = time.monotonic()

    def close(self) -> None:
        self.report.close()
        if self.cache_before is not None:  # give the pooled connection its own cache back
            self.session.rollback()
            self.session.connection().exec_driver_sql(f"PRAGMA cache_size={self.cache_before}")
            self.session.rollback()

    def stage(self) -> None:
        try:
            reader = _ChunkReader(self.store.open_verified(self.record.file_sha256))
        except StorageError as error:
            raise ImportAborted(
                f"The stored file could not be read: {error}. Nothing was "
                "imported; upload the file again."
            ) from error
        chunks = _chunked(self._records(reader), min(CHUNK_ROWS, self.batch_rows))
        pool = (
            roster_pool.start_pool(self.workers, self.keyring, self.spec)
            if (self.workers)
            else None
        )
        # One thread writes the batches: SQLite inserts run without the GIL, so writing one
        # batch overlaps with reading (and building) the next. The session is used by one
        # thread at a time: this one waits for the previous batch before handing over the next.
        writer = ThreadPoolExecutor(1, thread_name_prefix="roster-stage")
        writing: Future[None] | None = None
        try:
            built = (
                roster_pool.built_in_order(pool, self.workers, chunks)
                if pool
                else (roster_pool.built_here(self.spec.builder(self.keyring), chunks))
            )
            batch: list[tuple[Any, ...]] = []
            for accepted, issues, read in built:
                self.counts["read"] += read
                if issues:
                    self._note(issues)
                batch.extend(accepted)
                if len(batch) >= self.batch_rows:
                    writing = self._hand_over(writer, writing, batch, reader.consumed)
                    batch = []
            self._hand_over(writer, writing, batch, reader.consumed).result()
        finally:  # every exit path: done, aborted, cancelled, crashed
            writer.shutdown(wait=True)  # before anyone else touches the session
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _hand_over(
        self,
        writer: ThreadPoolExecutor,
        writing: Future[None] | None,
        batch: list[tuple[Any, ...]],
        consumed: int,
    ) -> Future[None]:
        """Wait for the batch being written (its error, or a cancel, is raised here), then
        start writing `batch` with a snapshot of the progress."""
        if writing is not None:
            writing.result()
        self.counts["accepted"] += len(batch)
        self.prefixes.add_staged(batch)
        return writer.submit(self._flush, batch, consumed, dict(self.counts))

    def _records(self, raw: _ChunkReader) -> Iterator[tuple[int, list[str]]]:
        """(spreadsheet row, fields) of every non-blank data record; ImportAborted on a file
        that stops being readable part-way (not UTF-8, broken quoting, damaged storage)."""
        text = io.TextIOWrapper(
            io.BufferedReader(raw, 1 << 20),
            encoding="utf-8-sig",
            newline="",
            errors=_MARK_BAD_BYTES,
        )
        reader = csv.reader(text, delimiter=self.record.delimiter, strict=True)
        row, seen_errors = 0, _bad_bytes[0]
        try:
            for row, record in enumerate(reader, start=1):
                # The decoder runs ahead of the reader: once it met a bad byte, look for the
                # marker in each record to name the exact row.
                if _bad_bytes[0] != seen_errors and any(_BAD_BYTE in f for f in record):
                    raise ImportAborted(
                        f"Row {row} is not UTF-8 text (the file is probably partly Latin-1 or "
                        "Windows-1252). Save it as “CSV UTF-8” and upload it again. Nothing "
                        "was imported."
                    )
                if row > 1 and record and (len(record) > 1 or record[0]):
                    yield row, record
        except csv.Error as error:
            raise ImportAborted(
                f"Row {row + 1} cannot be read as CSV ({error}); check for an "
                "unclosed quote. Nothing was imported."
            ) from error
        except StorageError as error:
            raise ImportAborted(
                f"The stored file could not be read: {error}. Nothing was "
                "imported; upload the file again."
            ) from error

    def _note(self, issues: list[Issue]) -> None:
        for issue in issues:
            self.counts["rejected" if issue.outcome == "rejected" else "warnings"] += 1
            self.report_writer.writerow([neutralise_cell(v) for v in issue])

    def _flush(self, batch: list[tuple[Any, ...]], consumed: int, counts: dict[str, int]) -> None:
        # One commit per batch (see BATCH_ROWS): on SQLite every transaction starts with
        # BEGIN IMMEDIATE, so one long transaction would starve the progress page.
        if batch:
            connection = self.session.connection()
            if self.cache_before is None:
                self.cache_before = roster_pool.widen_sqlite_cache(connection)
            roster_pool.stage_rows(connection, batch)
        now = self.clock()
        updated = self.session.execute(
            sa.update(RosterImport)
            .where(RosterImport.id == self.record.id, RosterImport.status == ImportStatus.RUNNING)
            .values(
                bytes_read=consumed,
                rows_read=counts["read"],
                rows_accepted=counts["accepted"],
                rows_rejected=counts["rejected"],
                warnings=counts["warnings"],
                heartbeat_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount == 0:  # cancelled by a person while we were running
            self.session.rollback()
            raise _Cancelled()
        self.session.commit()

    def _merge_duplicates(self) -> int:
        """Flag rows of this import that repeat a person already kept (roster_duplicates),
        and list them in the report. Merged rows are kept but never counted."""
        scope = [self.record.id]
        if self.record.mode is ImportMode.APPEND:
            previous = roster.committed_import_ids(self.session, self.record.incident_id)
            self.prefixes.add_roster(self.session, previous)
            scope += previous
        merged = roster_duplicates.merge(
            self.session, import_id=self.record.id, scope=scope, prefixes=self.prefixes
        )
        self.prefixes = roster_duplicates.TokenPrefixes()  # free them before the flip
        if merged:
            _report_merged(self.session, self.record, self.report_writer)
        return merged

    def finish(self) -> None:
        """Merge duplicates, store the report, then flip and recount in one transaction."""
        if self.counts["accepted"] == 0:
            raise ImportAborted(
                f"None of the {self.counts['read']} rows could be imported; download the "
                "report to see why. Nothing was imported."
            )
        merged = self._merge_duplicates()
        self.report.flush()
        self.report_file.seek(0)
        report = self.store.put_stream(self.report_file, max_bytes=1 << 40)
        now = self.clock()
        record = self.session.get(
            RosterImport, self.record.id, populate_existing=True, with_for_update=True
        )
        if record is None or record.status is not ImportStatus.RUNNING:
            raise _Cancelled()
        superseded = _make_roster(self.session, record, now)
        record.rows_merged, record.report_sha256 = merged, report.sha256
        record.status, record.finished_at, record.heartbeat_at = (ImportStatus.COMMITTED, now, now)
        record.message = _summary(record, time.monotonic() - self.started)
        incident = self.session.get(Incident, record.incident_id)
        assert incident is not None  # the import row's foreign key holds it
        counts = roster.recount(self.session, incident=incident, now=now, actor=None)
        audit.record(
            self.session,
            actor=None,
            actor_label="worker",
            at=now,
            action="roster.import_committed",
            subject_type="roster_import",
            subject_id=record.id,
            incident_id=record.incident_id,
            details={
                "mode": record.mode.value,
                "requested_by": record.created_by_id,
                "rows_read": record.rows_read,
                "accepted": record.rows_accepted,
                "rejected": record.rows_rejected,
                "merged": merged,
                "superseded_imports": superseded,
                "roster_total": counts.total,
            },
        )
        self.session.commit()
        purge_invisible(self.session, incident_id=record.incident_id)


def _chunked(
    records: Iterable[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for item in records:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _summary(record: RosterImport, seconds: float) -> str:
    return (
        f"{record.rows_accepted - record.rows_merged:,} people imported from "
        f"{record.rows_read:,} rows ({record.rows_rejected:,} rejected, "
        f"{record.rows_merged:,} duplicates merged) in {seconds:.1f} s."
    )


def _report_merged(session: Session, record: RosterImport, report: Any) -> None:
    kept = sa.orm.aliased(RosterPerson)
    rows = session.execute(
        sa.select(RosterPerson.row_number, kept.row_number, kept.import_id)
        .join(kept, kept.id == RosterPerson.duplicate_of_id)
        .where(RosterPerson.import_id == record.id)
        .order_by(RosterPerson.row_number)
    )
    for row, kept_row, kept_import in rows:
        where = (
            f"row {kept_row}"
            if kept_import == record.id
            else (f"the existing roster (import {kept_import}, row {kept_row})")
        )
        report.writerow(
            [
                row,
                "",
                MERGED,
                f"same person as {where} (same external id, or same name, date of "
                "birth and address): merged, not counted twice",
                "",
            ]
        )


def _make_roster(session: Session, record: RosterImport, now: datetime) -> list[int]:
    """On replace, supersede the incident's committed imports; returns their ids."""
    if record.mode is not ImportMode.REPLACE:
        return []
    previous = roster.committed_import_ids(session, record.incident_id)
    if previous:
        session.execute(
            sa.update(RosterImport)
            .where(RosterImport.id.in_(previous))
            .values(status=ImportStatus.SUPERSEDED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
    return previous


def _abandon(
    session: Session, import_id: int, status: ImportStatus, message: str, now: datetime
) -> None:
    """End a run that will not become the roster: drop its staged rows, record why."""
    session.rollback()
    _delete_rows(session, [import_id])
    record = session.get(RosterImport, import_id, populate_existing=True)
    assert record is not None
    if record.status is not ImportStatus.CANCELLED:
        record.status, record.message = status, message
    record.finished_at = now
    audit.record(
        session,
        actor=None,
        actor_label="worker",
        at=now,
        action=f"roster.import_{record.status.value}",
        subject_type="roster_import",
        subject_id=import_id,
        incident_id=record.incident_id,
        details={"message": record.message},
    )
    session.commit()


def _delete_rows(session: Session, import_ids: list[int]) -> None:
    session.execute(
        sa.delete(RosterPerson)
        .where(RosterPerson.import_id.in_(import_ids))
        .execution_options(synchronize_session=False)
    )


def recover_interrupted(
    session: Session, *, now: datetime, stale_after: timedelta = STALE_AFTER
) -> list[int]:
    """Imports whose worker died (no heartbeat for `stale_after`): drop their staged rows
    and queue them again (or fail them after MAX_ATTEMPTS). Returns their ids; commits."""
    stale = session.scalars(
        sa.select(RosterImport)
        .where(
            RosterImport.status == ImportStatus.RUNNING,
            RosterImport.heartbeat_at < now - stale_after,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for record in stale:
        _delete_rows(session, [record.id])
        if record.attempts >= MAX_ATTEMPTS:
            record.status, record.finished_at = ImportStatus.FAILED, now
            record.message = (
                f"The import was interrupted {record.attempts} times; nothing "
                "was imported. Upload the file again."
            )
        else:
            record.status = ImportStatus.QUEUED
            record.message = "The worker stopped during this import; it will start again."
        audit.record(
            session,
            actor=None,
            actor_label="worker",
            at=now,
            action="roster.import_interrupted",
            subject_type="roster_import",
            subject_id=record.id,
            incident_id=record.incident_id,
            details={"attempts": record.attempts, "status": record.status.value},
        )
    session.commit()
    return [record.id for record in stale]


def purge_invisible(session: Session, *, incident_id: int | None = None) -> int:
    """Delete the rows of superseded, failed and cancelled imports (they are invisible
    already, so this can run at any time and be interrupted). Commits per import."""
    query = sa.select(RosterImport.id).where(
        RosterImport.status.in_(
            (ImportStatus.SUPERSEDED, ImportStatus.FAILED, ImportStatus.CANCELLED)
        )
    )
    if incident_id is not None:
        query = query.where(RosterImport.incident_id == incident_id)
    deleted = 0
    for import_id in session.scalars(query).all():
        deleted += session.execute(
            sa.delete(RosterPerson)
            .where(RosterPerson.import_id == import_id)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
    return deleted
