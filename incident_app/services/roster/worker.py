"""The roster import job (worker side): claim a queued import, stage it, make it the roster.

`run_next` claims the oldest queued import, stages its accepted rows batch by batch (staging.py;
they are tagged with the import id and stay invisible), merges duplicates, stores the report,
and makes the rows the roster in ONE final transaction (flip the import to COMMITTED,
supersede the previous roster on "replace" (carrying enrollment codes to the same people's new
rows, services/enrolment/carry.py), recount, re-sync obligations, audit). Staged rows
of an import that is not COMMITTED are invisible, so an import killed at any point leaves the
roster as it was; `recover_interrupted` deletes its rows and queues it again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.models.incident import Incident
from incident_app.models.roster import ImportMode
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.services import audit
from incident_app.services.enrolment.carry import carry_codes
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import duplicates as roster_duplicates
from incident_app.services.roster import lineage
from incident_app.services.roster.reading import ImportAborted
from incident_app.services.roster.report import ImportReport
from incident_app.services.roster.staging import BATCH_ROWS
from incident_app.services.roster.staging import Cancelled
from incident_app.services.roster.staging import Staging
from incident_app.services.roster.staging import few_collections
from incident_app.storage import FileStore

# Files smaller than POOL_MIN_BYTES (~30,000 rows) run in one process even when helper
# processes are configured: starting the helpers costs about a second.
POOL_MIN_BYTES = 4 * 1024 * 1024
MAX_ATTEMPTS = 3
STALE_AFTER = timedelta(minutes=2)
PURGE_ROWS = 5000  # rows of an invisible import deleted per transaction


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
        with few_collections():
            run.staging.run()
        run.finish()
    except ImportAborted as error:
        _abandon(session, record.id, ImportStatus.FAILED, str(error), clock())
    except Cancelled:
        _abandon(
            session, record.id, ImportStatus.CANCELLED, "Cancelled; nothing was imported.", clock()
        )
    except Exception:
        # E.g. a database still busy after the busy timeout: give the import back at once,
        # so the job's retry runs it again instead of leaving it RUNNING until it goes stale
        # (STALE_AFTER; the soak once saw an import miss its 30 s drain that way). If even
        # that fails, recover_interrupted does it later.
        with contextlib.suppress(Exception):
            _give_back(session, record.id, clock())
        raise
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


class _Run:
    """One import run: staging (stream → normalise → stage in batches) → report → final flip."""

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
        self.session = session
        self.record = record
        self.store = store
        self.clock = clock
        self.report = ImportReport()
        self.staging = Staging(
            session,
            record,
            keyring=keyring,
            store=store,
            clock=clock,
            batch_rows=batch_rows,
            workers=workers,
            report=self.report,
        )
        self.started = time.monotonic()

    def close(self) -> None:
        self.report.close()
        self.staging.restore_cache()

    def _merge_duplicates(self) -> int:
        """Flag rows of this import that repeat a person already kept (roster_duplicates),
        and list them in the report. Merged rows are kept but never counted."""
        scope = [self.record.id]
        if self.record.mode is ImportMode.APPEND:
            previous = roster_access.committed_import_ids(self.session, self.record.incident_id)
            self.staging.prefixes.add_roster(self.session, previous)
            scope += previous
        merged = roster_duplicates.merge(
            self.session, import_id=self.record.id, scope=scope, prefixes=self.staging.prefixes
        )
        self.staging.prefixes = roster_duplicates.TokenPrefixes()  # free them before the flip
        if merged:
            self.report.add_merged(self.session, self.record.id)
        return merged

    def finish(self) -> None:
        """Merge duplicates, store the report, then flip and recount in one transaction."""
        counts = self.staging.counts
        if counts.accepted == 0:
            raise ImportAborted(
                f"None of the {counts.read} rows could be imported; download the "
                "report to see why. Nothing was imported."
            )
        merged = self._merge_duplicates()
        # The merge flags are written on rows still invisible: commit them now, so storing the
        # report (file I/O) and counting the new rows run without the write lock and the flip
        # below is short. Nobody else changes the rows of an import that is not committed, so
        # their counts stay right until the flip (measured at 200,000 rows: the flip held the
        # lock ~360 ms with the count inside it; see bench/roster_import.py final_lock_ms).
        self.session.commit()
        report_sha256 = self.report.store(self.store)
        own = roster_counts.count_imports(self.session, [self.record.id])
        self.session.commit()  # end the read
        now = self.clock()
        record = self.session.get(
            RosterImport, self.record.id, populate_existing=True, with_for_update=True
        )
        if record is None or record.status is not ImportStatus.RUNNING:
            raise Cancelled()
        superseded = _make_roster(self.session, record, now)
        # "Append" keeps the roster's rows: they may change until the lock, so count them now.
        kept = (
            roster_access.committed_import_ids(self.session, record.incident_id)
            if record.mode is ImportMode.APPEND
            else []
        )
        # Issue 23: enrollment codes, letters, returns and inquiries follow the individual to
        # their new row (one audit event each).
        if superseded:
            same = lineage.new_rows(self.session, record.id)
            for carry in (carry_codes, lineage.carry_history):
                carry(
                    self.session,
                    incident_id=record.incident_id,
                    import_id=record.id,
                    superseded=superseded,
                    rows=same,
                    now=now,
                )
        record.rows_merged = merged
        record.report_sha256 = report_sha256
        record.status = ImportStatus.COMMITTED
        record.finished_at = now
        record.heartbeat_at = now
        record.message = _summary(record, time.monotonic() - self.started)
        incident = self.session.get(Incident, record.incident_id)
        assert incident is not None  # the import row's foreign key holds it
        totals = roster_counts.recount(
            self.session,
            incident=incident,
            now=now,
            actor=None,
            counted=own + roster_counts.count_imports(self.session, kept),
        )
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
                "roster_total": totals.total,
            },
        )
        self.session.commit()
        purge_invisible(self.session, incident_id=record.incident_id)


def _summary(record: RosterImport, seconds: float) -> str:
    return (
        f"{record.rows_accepted - record.rows_merged:,} people imported from "
        f"{record.rows_read:,} rows ({record.rows_rejected:,} rejected, "
        f"{record.rows_merged:,} duplicates merged) in {seconds:.1f} s."
    )


def _make_roster(session: Session, record: RosterImport, now: datetime) -> list[int]:
    """On replace, supersede the incident's committed imports; returns their ids."""
    if record.mode is not ImportMode.REPLACE:
        return []
    previous = roster_access.committed_import_ids(session, record.incident_id)
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


def _give_back(session: Session, import_id: int, now: datetime) -> None:
    """A run that stopped on an unexpected error: drop its staged rows and queue it again
    (or fail it after MAX_ATTEMPTS), as recover_interrupted does for a dead worker."""
    session.rollback()
    _delete_rows(session, [import_id])
    record = session.get(RosterImport, import_id, populate_existing=True, with_for_update=True)
    if record is None or record.status is not ImportStatus.RUNNING:
        session.rollback()
        return
    _requeue(session, record, now)
    session.commit()


def _requeue(session: Session, record: RosterImport, now: datetime) -> None:
    """Queue an interrupted import again, or fail it after MAX_ATTEMPTS; audited."""
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
        _requeue(session, record, now)
    session.commit()
    return [record.id for record in stale]


def purge_invisible(session: Session, *, incident_id: int | None = None) -> int:
    """Delete the rows of superseded, failed and cancelled imports (they are invisible
    already, so this can run at any time and be interrupted). Commits every PURGE_ROWS."""
    query = sa.select(RosterImport.id).where(
        RosterImport.status.in_(
            (ImportStatus.SUPERSEDED, ImportStatus.FAILED, ImportStatus.CANCELLED)
        )
    )
    if incident_id is not None:
        query = query.where(RosterImport.incident_id == incident_id)
    deleted = 0
    for import_id in session.scalars(query).all():
        while True:  # PURGE_ROWS per transaction: the write lock is held for short writes only
            batch = (
                sa.select(RosterPerson.id)
                .where(RosterPerson.import_id == import_id)
                .limit(PURGE_ROWS)
                .scalar_subquery()
            )
            result = session.execute(
                sa.delete(RosterPerson)
                .where(RosterPerson.id.in_(batch))
                .execution_options(synchronize_session=False)
            )
            session.commit()
            count = cast("sa.CursorResult[Any]", result).rowcount
            deleted += count
            if count < PURGE_ROWS:
                break
    return deleted
