"""Staging an import's rows: read the stored file, build rows (here or in helper processes),
and insert the accepted ones batch by batch from a writer thread, with the import's progress.

Staged rows carry the import's id and stay invisible until the worker's final transaction
makes the import the roster (services/roster/worker.py). Each batch is its own transaction,
which also writes the progress (the heartbeat) and notices a cancel. While staging, SQLite gets
a bigger page cache and the cycle collector is held back; both are restored however staging
ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.models.client import Client
from incident_app.models.client import IncidentClient
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.services.roster import duplicates as roster_duplicates
from incident_app.services.roster import pool as roster_pool
from incident_app.services.roster import reading
from incident_app.services.roster.report import ImportReport
from incident_app.services.roster.rows import REJECTED
from incident_app.services.roster.rows import STAGED_COLUMNS
from incident_app.services.roster.rows import BuilderSpec
from incident_app.services.roster.rows import Built
from incident_app.services.roster.rows import Issue
from incident_app.storage import FileStore
from incident_app.storage import StorageError

# Accepted rows staged per transaction. The rows are built before the transaction begins, so
# it holds SQLite's write lock only to insert them (~0.3 s for 20,000 rows here): other
# writers and the progress page wait that long at most, and fewer, bigger commits rewrite the
# blind index's pages less often.
BATCH_ROWS = 20_000
# With helper processes (`workers`), chunks of records are normalised and encrypted by the
# helpers (roster_pool) while this process reads the file and stages what they send back.
CHUNK_ROWS = 5000
# Page cache while staging (KiB) on SQLite: most of the external-id index stays in memory.
# 64 MB was no faster at a million rows and cost the importing process 30 MB more.
SQLITE_CACHE_KIB = 32 * 1024

Row = tuple[Any, ...]  # one staged row, in STAGED_COLUMNS order


class Cancelled(Exception):
    """A person cancelled the import while it ran (seen when a batch is written)."""


@dataclass
class RunCounts:
    """Rows of one run so far (accepted: staged, merged duplicates included)."""

    read: int = 0
    accepted: int = 0
    rejected: int = 0
    warnings: int = 0


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
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


def client_names(session: Session, incident_id: int) -> tuple[tuple[str, int], ...]:
    """The incident's covered-entity clients as (name, id): the roster's client column maps
    onto these (business-associate mode); empty when the incident names none."""
    rows = session.execute(
        sa.select(Client.name, Client.id)
        .join(IncidentClient, IncidentClient.client_id == Client.id)
        .where(IncidentClient.incident_id == incident_id)
        .order_by(Client.name)
    ).all()
    return tuple((name, client_id) for name, client_id in rows)


def stage_rows(connection: sa.Connection, rows: Sequence[Row]) -> None:
    """Bulk-insert staged rows (roster_rows.STAGED_COLUMNS order) on `connection`, inside the
    caller's transaction: COPY on PostgreSQL, one executemany on SQLite. No ORM objects: this
    is the hot path of a million-row import.

    On SQLite the insert goes through SQLAlchemy (`exec_driver_sql`), never the driver's own
    cursor: db.py sees the INSERT and takes the write lock first (BEGIN IMMEDIATE, waiting
    the busy timeout). Written on the raw cursor, it upgraded the session's read transaction
    in place, and SQLite answers that at once with "database is locked" when another
    connection writes or wrote since the read (issue 18: the soak's roster-import failures).
    """
    columns = ", ".join(STAGED_COLUMNS)
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY roster_person ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    if rows:
        marks = ", ".join("?" * len(STAGED_COLUMNS))
        connection.exec_driver_sql(
            f"INSERT INTO roster_person ({columns}) VALUES ({marks})", list(rows)
        )


def widen_sqlite_cache(connection: sa.Connection) -> int | None:
    """Give a SQLite connection a staging-sized page cache; returns the size it had (None on
    other databases)."""
    if connection.dialect.name != "sqlite":
        return None
    before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    return before


class Staging:
    """One run's staging: stream → build (here or in helpers) → write batches → progress."""

    def __init__(
        self,
        session: Session,
        record: RosterImport,
        *,
        keyring: KeyRing,
        store: FileStore,
        clock: Callable[[], datetime],
        batch_rows: int,
        workers: int,
        report: ImportReport,
    ) -> None:
        self.session = session
        self.record = record
        self.keyring = keyring
        self.store = store
        self.clock = clock
        self.batch_rows = batch_rows
        self.workers = workers
        self.report = report
        self.spec = BuilderSpec(
            headers=tuple(record.headers),
            mapping=dict(record.mapping),
            incident_id=record.incident_id,
            import_id=record.id,
            today=clock().date(),
            clients=client_names(session, record.incident_id),
        )
        # End the read: no snapshot is held while the file is read and the first batch built
        # (an open read keeps SQLite's WAL from being checkpointed).
        session.commit()
        self.counts = RunCounts()
        self.prefixes = roster_duplicates.TokenPrefixes()
        self.cache_before: int | None = None

    def run(self) -> None:
        """Stage every accepted row. Raises ImportAborted (unreadable file), Cancelled, or
        whatever the database raised; the writer thread and the helpers are stopped first."""
        try:
            reader = reading.ChunkReader(self.store.open_verified(self.record.file_sha256))
        except StorageError as error:
            raise reading.unreadable_store(error) from error
        records = reading.records(reader, self.record.delimiter)
        chunks = reading.chunked(records, min(CHUNK_ROWS, self.batch_rows))
        pool = (
            roster_pool.start_pool(self.workers, self.keyring, self.spec) if self.workers else None
        )
        # One thread writes the batches: SQLite inserts run without the GIL, so writing one
        # batch overlaps with reading (and building) the next. The session is used by one
        # thread at a time: this one waits for the previous batch before handing over the next.
        writer = ThreadPoolExecutor(1, thread_name_prefix="roster-stage")
        writing: Future[None] | None = None
        try:
            built: Iterator[Built] = (
                roster_pool.built_in_order(pool, self.workers, chunks)
                if pool
                else roster_pool.built_here(self.spec.builder(self.keyring), chunks)
            )
            batch: list[Row] = []
            for accepted, issues, read in built:
                self.counts.read += read
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

    def restore_cache(self) -> None:
        """Give the pooled connection its own SQLite page cache back (after the run)."""
        if self.cache_before is not None:
            self.session.rollback()
            self.session.connection().exec_driver_sql(f"PRAGMA cache_size={self.cache_before}")
            self.session.rollback()

    def _hand_over(
        self,
        writer: ThreadPoolExecutor,
        writing: Future[None] | None,
        batch: list[Row],
        consumed: int,
    ) -> Future[None]:
        """Wait for the batch being written (its error, or a cancel, is raised here), then
        start writing `batch` with a snapshot of the progress."""
        if writing is not None:
            writing.result()
        self.counts.accepted += len(batch)
        self.prefixes.add_staged(batch)
        return writer.submit(self._flush, batch, consumed, dataclasses.replace(self.counts))

    def _note(self, issues: list[Issue]) -> None:
        for issue in issues:
            if issue.outcome == REJECTED:
                self.counts.rejected += 1
            else:
                self.counts.warnings += 1
        self.report.add_issues(issues)

    def _flush(self, batch: list[Row], consumed: int, counts: RunCounts) -> None:
        # One commit per batch (see BATCH_ROWS): on SQLite the first insert takes the write
        # lock (db.py), so one long transaction would stall every other writer.
        if batch:
            connection = self.session.connection()
            if self.cache_before is None:
                self.cache_before = widen_sqlite_cache(connection)
            stage_rows(connection, batch)
        now = self.clock()
        updated = self.session.execute(
            sa.update(RosterImport)
            .where(RosterImport.id == self.record.id, RosterImport.status == ImportStatus.RUNNING)
            .values(
                bytes_read=consumed,
                rows_read=counts.read,
                rows_accepted=counts.accepted,
                rows_rejected=counts.rejected,
                warnings=counts.warnings,
                heartbeat_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        # No row updated: a person cancelled the import while we were running.
        if cast("sa.CursorResult[Any]", updated).rowcount == 0:
            self.session.rollback()
            raise Cancelled()
        self.session.commit()
