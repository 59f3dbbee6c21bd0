"""The mail-merge worker: rendering happens only here, in worker processes, chunk by chunk.

`work` claims chunks of queued or running batches (SELECT … FOR UPDATE SKIP LOCKED on
PostgreSQL, so workers on several hosts add up; a claim token makes a lost race harmless on
SQLite), takes over a chunk whose worker stopped beating, renders it (chunk_run), then writes
the chunk's print-ready PDF and manifest CSV for the mail house and marks batches whose chunks
are all done as completed. A paused, cancelled or taken-over chunk is released; a failure
stops the batch with a message a person can act on.

Letters are rendered from the batch's template snapshot (snapshots.py), loaded once per
process and batch: an edit to letter_templates/ while the batch runs does not reach it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.crypto import KeyRing
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import ChunkStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Route
from incident_app.models.mail_batch import Variant
from incident_app.services import audit
from incident_app.services.letters.approved import ApprovedLetter
from incident_app.services.mail_merge import planning
from incident_app.services.mail_merge import snapshots
from incident_app.services.mail_merge.batches import WORKABLE
from incident_app.services.mail_merge.chunk_run import BatchFailed
from incident_app.services.mail_merge.chunk_run import ChunkRun
from incident_app.services.mail_merge.chunk_run import StopChunk
from incident_app.services.mail_merge.manifests import combine
from incident_app.services.mail_merge.manifests import manifest_csv
from incident_app.services.mail_merge.planning import Entry
from incident_app.services.mail_merge.progress import letter_counts
from incident_app.services.obligations.recorded import client_key
from incident_app.storage import FileStore
from incident_app.storage import StorageError

log = logging.getLogger("breachdesk.mail_merge")

STALE_AFTER = timedelta(minutes=2)  # a chunk without a heartbeat this long is taken over


@dataclass
class Worker:
    """What a worker process brings: keys, the store, a clock, a name for the claim."""

    keyring: KeyRing
    store: FileStore
    clock: Callable[[], datetime]
    name: str = "worker"
    processes: int = 1  # render processes per chunk (letters.render_batch workers)


def work(session: Session, *, worker: Worker, max_chunks: int | None = None) -> int:
    """Claim chunks and render them until none is left (or `max_chunks`); returns how many
    chunks this call finished. Commits once per group of letters and once per chunk."""
    finished = 0
    finalise(session, now=worker.clock())
    while max_chunks is None or finished < max_chunks:
        chunk = claim(session, now=worker.clock(), worker=worker.name)
        if chunk is None:
            break
        if run_chunk(session, chunk, worker):
            finished += 1
        finalise(session, now=worker.clock())
    return finished


def claim(session: Session, *, now: datetime, worker: str) -> MailChunk | None:
    """Take the next chunk of a queued or running batch, or one whose worker stopped beating
    (SKIP LOCKED on PostgreSQL; the claim token makes a lost race harmless on SQLite)."""
    candidate = session.scalars(
        sa.select(MailChunk)
        .join(MailBatch, MailBatch.id == MailChunk.batch_id)
        .where(
            MailBatch.status.in_(WORKABLE),
            sa.or_(
                MailChunk.status == ChunkStatus.PENDING,
                sa.and_(
                    MailChunk.status == ChunkStatus.RUNNING,
                    MailChunk.heartbeat_at < now - STALE_AFTER,
                ),
            ),
        )
        .order_by(MailChunk.batch_id, MailChunk.number)
        .limit(1)
        .with_for_update(skip_locked=True, of=MailChunk)
    ).first()
    if candidate is None:
        session.rollback()
        return None
    token = uuid.uuid4().hex
    taken = cast(
        CursorResult[Any],
        session.execute(
            sa.update(MailChunk)
            .where(MailChunk.id == candidate.id, MailChunk.claim_token == candidate.claim_token)
            .values(
                status=ChunkStatus.RUNNING,
                claim_token=token,
                claimed_by=worker[:120],
                heartbeat_at=now,
            )
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if taken != 1:
        session.rollback()
        return None
    session.execute(
        sa.update(MailBatch)
        .where(MailBatch.id == candidate.batch_id)
        .values(
            status=sa.case(
                (MailBatch.status == BatchStatus.QUEUED, BatchStatus.RUNNING.value),
                else_=MailBatch.status,
            ),
            heartbeat_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(candidate)
    return candidate


def run_chunk(session: Session, chunk: MailChunk, worker: Worker) -> bool:
    """Render what is left of a claimed chunk, then its print file and manifest. True when
    the chunk is done; False when it was released (pause, cancel, takeover, failure)."""
    batch = session.get_one(MailBatch, chunk.batch_id)
    try:
        kept = _snapshots(worker.store, batch)
        approved = _approved(session, batch, kept)
        run = ChunkRun(
            session,
            batch,
            chunk,
            {variant: letter.common_context for variant, letter in approved.items()},
            keyring=worker.keyring,
            store=worker.store,
            clock=worker.clock,
            processes=worker.processes,
            template_versions={
                v: letter.template_version for v, letter in approved.items() if v not in kept
            },
            snapshots=kept,
        )
        todo = _todo(session, chunk)
        run.emails([e for e in todo if e.route is Route.EMAIL])
        for variant in Variant:
            run.letters(
                variant, [e for e in todo if e.route is Route.MAIL and e.variant is variant]
            )
        _finish_chunk(session, chunk, worker, run.written)
    except StopChunk:
        session.rollback()
        _release(session, chunk)
        return False
    except BatchFailed as error:
        _fail(session, batch.id, chunk, str(error), worker.clock())
        return False
    except Exception:
        # E.g. a busy database: give the chunk back at once (if it is still ours), so the
        # job's retry claims it again instead of waiting for it to go stale.
        session.rollback()
        with contextlib.suppress(Exception):
            _release(session, chunk)
        raise
    return True


def _snapshots(store: FileStore, batch: MailBatch) -> dict[Variant, letters.TemplateSnapshot]:
    """The batch's template snapshots (none for a batch started before them), verified."""
    try:
        return snapshots.load(store, batch.variants)
    except snapshots.SnapshotUnusable as error:
        raise BatchFailed(str(error)) from error


def _approved(
    session: Session, batch: MailBatch, kept: dict[Variant, letters.TemplateSnapshot]
) -> dict[Variant, ApprovedLetter]:
    """The approved letters (shared context, template version), re-checked before every
    chunk: an approval voided since the batch started (re-render, data change) stops the
    batch. A variant with a template snapshot is printed from it, so an edit of the files on
    disk does not void it here; without one (a batch started before snapshots) a template
    change stops the batch, and so does one during a chunk (ChunkRun)."""
    found = {}
    # A delegating client's batch prints its own letters (business-associate mode).
    scope = None if batch.client_id is None else client_key(batch.client_id)
    for name, info in batch.variants.items():
        variant = Variant(name)
        printed_from = kept[variant].version if variant in kept else None
        approved = planning.approval(session, batch.incident_id, variant, scope, printed_from)
        if approved is None or approved.version_id != info["version_id"]:
            why = planning.why_not_approved(
                session, batch.incident_id, variant, scope, printed_from
            )
            raise BatchFailed(
                "The approved letter changed after this mailing started, so nothing more is "
                f"rendered: {why} Have it approved again, cancel this mailing and start a new one."
            )
        found[variant] = approved
    return found


def _todo(session: Session, chunk: MailChunk) -> list[Entry]:
    """The chunk's people without an outcome yet (a retried person: only in its retry chunk)."""
    rows = session.execute(
        sa.select(MailLetter.person_id, MailLetter.state, MailLetter.chunk_id).where(
            MailLetter.batch_id == chunk.batch_id,
            MailLetter.person_id.in_([p[1] for p in chunk.people]),
        )
    ).all()
    settled = {
        person
        for person, state, chunk_id in rows
        if not (state is LetterState.RETRY and chunk_id == chunk.id)
    }
    return [entry for entry in planning.entries(chunk) if entry.person_id not in settled]


def _finish_chunk(
    session: Session,
    chunk: MailChunk,
    worker: Worker,
    written: Mapping[int, tuple[str, letters.LetterParts]],
) -> None:
    """The chunk's print-ready PDF (its letters in order) and manifest, then DONE. A letter
    this worker just recorded comes from the parts it was written from (`written`, person ->
    (SHA-256, parts)); one recorded by an earlier run is read back from the store."""
    rows = list(
        session.scalars(
            sa.select(MailLetter)
            .where(
                MailLetter.chunk_id == chunk.id,
                MailLetter.state == LetterState.DONE,
                MailLetter.route == Route.MAIL,
            )
            .order_by(MailLetter.sequence)
        )
    )
    # Everything slow first, into locals: setting an attribute before the manifest's reads
    # would autoflush, and on SQLite that takes the write lock (db.py) for the whole build.
    print_sha256, print_pages = chunk.print_sha256, chunk.print_pages
    try:
        if rows:
            data, pages = combine(
                (_letter(row, written, worker.store) for row in rows),
                title=f"Print file: mailing {chunk.batch_id}, chunk {chunk.number}",
            )
            print_sha256, print_pages = worker.store.put_bytes(data).sha256, pages
        manifest_sha256 = worker.store.put_bytes(
            manifest_csv(session, chunk.number, rows, worker.keyring)
        ).sha256
    except (StorageError, letters.PrintFileError) as error:
        raise BatchFailed(
            f"The print file of chunk {chunk.number} could not be written: {error}"
        ) from error
    session.commit()  # the reads end here; the write below is a short transaction
    chunk.print_sha256, chunk.print_pages = print_sha256, print_pages
    chunk.manifest_sha256 = manifest_sha256
    chunk.letters, chunk.status, chunk.finished_at = len(rows), ChunkStatus.DONE, worker.clock()
    chunk.claim_token = ""
    session.commit()


def _letter(
    row: MailLetter, written: Mapping[int, tuple[str, letters.LetterParts]], store: FileStore
) -> bytes | letters.LetterParts:
    known = written.get(row.person_id) if row.person_id is not None else None
    if known is not None and known[0] == row.sha256:
        return known[1]
    return store.read_verified(row.sha256 or "")


def _release(session: Session, chunk: MailChunk) -> None:
    session.execute(
        sa.update(MailChunk)
        .where(MailChunk.id == chunk.id, MailChunk.claim_token == chunk.claim_token)
        .values(status=ChunkStatus.PENDING, claim_token="")
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _fail(session: Session, batch_id: int, chunk: MailChunk, reason: str, now: datetime) -> None:
    """Stop the batch with the reason; the group being written is not recorded."""
    session.rollback()
    log.warning("mail batch %s failed: %s", batch_id, reason)
    batch = session.get_one(MailBatch, batch_id)
    if batch.status in WORKABLE:
        batch.status, batch.message = BatchStatus.FAILED, reason
        audit.record(
            session,
            actor=None,
            actor_label="worker",
            at=now,
            action="mail_batch.failed",
            subject_type="mail_batch",
            subject_id=batch.id,
            incident_id=batch.incident_id,
            details={"reason": reason, "chunk": chunk.number},
        )
    session.commit()
    _release(session, chunk)


def finalise(session: Session, *, now: datetime) -> list[int]:
    """Mark batches whose chunks are all done as completed (any worker may finish the last
    chunk, so this runs on every tick). Commits."""
    unfinished = sa.select(MailChunk.id).where(
        MailChunk.batch_id == MailBatch.id, MailChunk.status != ChunkStatus.DONE
    )
    batches = list(
        session.scalars(
            sa.select(MailBatch).where(MailBatch.status.in_(WORKABLE), ~unfinished.exists())
        )
    )
    for batch in batches:
        batch.status, batch.finished_at = BatchStatus.COMPLETED, now
        counts = letter_counts(session, batch.id)
        audit.record(
            session,
            actor=None,
            actor_label="worker",
            at=now,
            action="mail_batch.completed",
            subject_type="mail_batch",
            subject_id=batch.id,
            incident_id=batch.incident_id,
            details={"done": counts.done, "failed": counts.failed},
        )
    session.commit()
    return [batch.id for batch in batches]
