"""Batch control: starting a mailing and pausing, resuming, cancelling it or retrying its
failed letters (web requests; rendering happens only in the worker).

Starting checks the approvals, keeps the approved template files (snapshots.py: the batch
renders from them, whatever happens on disk meanwhile), sorts the roster into routes
(planning), freezes the recipients into chunks, marks people without a sufficient address
unreachable and renders the proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.client import Client
from incident_app.models.client import IncidentClient
from incident_app.models.incident import Incident
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import ChunkStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Route
from incident_app.models.mail_batch import Variant
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.enrolment import assignment as enrolment
from incident_app.services.letters.approved import ApprovedLetter
from incident_app.services.mail_merge import planning
from incident_app.services.mail_merge import snapshots
from incident_app.services.mail_merge.planning import ApprovedVariant
from incident_app.services.mail_merge.planning import Plan
from incident_app.services.mail_merge.planning import Routed
from incident_app.services.mail_merge.planning import chunk_row
from incident_app.services.mail_merge.proof import render_proof
from incident_app.services.obligations.recorded import client_key
from incident_app.services.organisation import get_organisation
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import counts as roster_counts
from incident_app.storage import FileStore

CHUNK_SIZE = 1000  # letters per print file
OPEN = [s for s in BatchStatus if s.is_open]
WORKABLE = (BatchStatus.QUEUED, BatchStatus.RUNNING)  # what workers claim chunks of


def get_batch(session: Session, incident_id: int, batch_id: int) -> MailBatch:
    """The incident's batch; NotFound otherwise. Access is the caller's business."""
    batch = session.get(MailBatch, batch_id)
    if batch is None or batch.incident_id != incident_id:
        raise NotFound("No such mailing on this incident.")
    return batch


# ---- starting a batch -----------------------------------------------------------------------


def start_batch(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    keyring: KeyRing,
    store: FileStore,
    chunk_size: int = CHUNK_SIZE,
    expected_people: int | None = None,
    client_id: int | None = None,
) -> MailBatch:
    """Queue a batch for everyone on the roster still waiting for a letter whose variant is
    approved; people whose variant is still in review stay pending for a later batch (the
    batch's `variants` records which variants it covers).

    Refused (InvalidTransition) while another batch of the incident is open or when no
    variant anybody needs has a valid approval (never approved, or voided by a re-render, a
    data change or a template change); ValidationFailed when nobody is waiting. Marks people
    without a sufficient address unreachable (they count toward substitute notice) and
    recounts the roster. Renders the three-recipient proof. `expected_people` is what the
    person confirmed (pages.confirmation): InvalidTransition when the plan changed since.
    `client_id`: the batch of one client that delegates individual notice to us (business-
    associate mode): its people only, from the letters of its own obligation, printed on its
    letterhead (letters/case_data.py), with print files and manifests of its own.
    Commits once.
    """
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    if (
        session.scalar(
            sa.select(MailBatch.id).where(
                MailBatch.incident_id == incident_id, MailBatch.status.in_(OPEN)
            )
        )
        is not None
    ):
        raise InvalidTransition(
            "A mailing for this incident is still open: let it finish, "
            "or cancel it, before starting another."
        )
    planned = planning.plan(
        session,
        incident_id,
        email_enabled=get_organisation(session).email_notice_enabled,
        client_id=client_id,
    )
    scope = None if client_id is None else _delegating_client_key(session, incident_id, client_id)
    approvals = planning.usable_approvals(session, incident_id, planned, scope)
    planned = planning.covered(planned, approvals)
    if not planned.routed and not planned.substitute:
        raise ValidationFailed("Nobody on the roster is waiting for a notice.", field="roster")
    # Issue 23: refused before anything is written when the code pool cannot cover it.
    enrolment.check_supply(session, incident_id, [r.person_id for r in planned.routed])
    covered_people = len(planned.routed) + len(planned.substitute)
    if expected_people is not None and expected_people != covered_people:
        raise InvalidTransition(
            f"The roster or the approvals changed since you confirmed: the mailing would now "
            f"cover {covered_people:,} people, not {expected_people:,}. Check it again."
        )
    # Read, checked and stored before the first write (no write lock held meanwhile).
    kept = snapshots.capture(store, approvals)
    batch = _new_batch(session, incident, planned, approvals, kept, actor, now, chunk_size)
    batch.client_id = client_id
    _add_chunks(session, batch, planned.routed)
    _mark_unreachable(session, planned.substitute, now)
    roster_counts.recount(session, incident=incident, now=now, actor=actor)
    batch.proof_sha256 = render_proof(
        session,
        batch,
        incident,
        approvals,
        keyring,
        store,
        {v: k.snapshot for v, k in kept.items()},
    )
    audit.record(
        session,
        actor=actor,
        action="mail_batch.started",
        at=now,
        subject_type="mail_batch",
        subject_id=batch.id,
        incident_id=incident_id,
        details=_start_details(batch),
    )
    session.commit()
    return batch


def _delegating_client_key(session: Session, incident_id: int, client_id: int) -> str:
    """The source key of a client that the incident names and that delegates individual
    notice to us; NotFound for any other client."""
    named = session.scalar(
        sa.select(Client.id)
        .join(IncidentClient, IncidentClient.client_id == Client.id)
        .where(
            IncidentClient.incident_id == incident_id,
            Client.id == client_id,
            Client.delegates_individual_notice,
        )
    )
    if named is None:
        raise NotFound("This incident names no such client delegating individual notice.")
    return client_key(client_id)


def _new_batch(
    session: Session,
    incident: Incident,
    planned: Plan,
    approvals: dict[Variant, ApprovedLetter],
    kept: dict[Variant, snapshots.Kept],
    actor: User,
    now: datetime,
    chunk_size: int,
) -> MailBatch:
    main = approvals.get(Variant.ADULT) or next(iter(approvals.values()))
    variants: dict[str, ApprovedVariant] = {
        v.value: {
            "letter_id": a.letter_id,
            "version_id": a.version_id,
            "template_name": a.template_name,
            "template_version": a.template_version,
            "sample_sha256": a.sample_sha256,
            "template_files": kept[v].manifest,
        }
        for v, a in approvals.items()
    }
    batch = MailBatch(
        incident_id=incident.id,
        letter_id=main.letter_id,
        letter_version_id=main.version_id,
        template_name=main.template_name,
        template_version=main.template_version,
        sample_sha256=main.sample_sha256,
        data_fingerprint=main.data_fingerprint,
        letter_date=main.letter_date,
        status=BatchStatus.QUEUED,
        variants=variants,
        mail_count=planned.mail,
        email_count=planned.email,
        substitute_count=len(planned.substitute),
        no_contact_count=len(planned.no_contact),
        chunk_size=chunk_size,
        started_by_id=actor.id,
        created_at=now,
    )
    if not planned.routed:
        batch.status, batch.finished_at = BatchStatus.COMPLETED, now
    session.add(batch)
    session.flush()
    return batch


def _add_chunks(session: Session, batch: MailBatch, routed: Sequence[Routed]) -> None:
    for index in range(0, len(routed), batch.chunk_size):
        part = routed[index : index + batch.chunk_size]
        session.add(
            MailChunk(
                batch_id=batch.id,
                number=index // batch.chunk_size + 1,
                first_sequence=index + 1,
                people=[
                    chunk_row(index + offset + 1, pid, route, variant)
                    for offset, (pid, route, variant) in enumerate(part)
                ],
            )
        )


def _mark_unreachable(session: Session, person_ids: list[int], now: datetime) -> None:
    # Unreachable feeds roster_counts.count's insufficient_contact_living (substitute notice).
    for index in range(0, len(person_ids), 1000):
        session.execute(
            sa.update(RosterPerson)
            .where(
                RosterPerson.id.in_(person_ids[index : index + 1000]),
                RosterPerson.notice_status == NoticeStatus.PENDING,
            )
            .values(notice_status=NoticeStatus.UNREACHABLE)
            .execution_options(synchronize_session=False)
        )


def _start_details(batch: MailBatch) -> dict[str, Any]:
    return {
        "template": batch.template_name,
        "template_version": batch.template_version,
        "letter_version_id": batch.letter_version_id,
        "sample_sha256": batch.sample_sha256,
        "variants": sorted(batch.variants),
        "mail": batch.mail_count,
        "email": batch.email_count,
        "substitute": batch.substitute_count,
        "no_contact": batch.no_contact_count,
        "proof_sha256": batch.proof_sha256,
    }


# ---- pause, resume, cancel, retry -----------------------------------------------------------


def _workable_batch(session: Session, actor: User, incident_id: int, batch_id: int) -> MailBatch:
    roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    return get_batch(session, incident_id, batch_id)


def _move(
    session: Session,
    batch: MailBatch,
    *,
    allowed: Sequence[BatchStatus],
    to: BatchStatus,
    doing: str,
    actor: User,
    now: datetime,
) -> None:
    if batch.status not in allowed:
        names = ", ".join(s.label.lower() for s in allowed)
        raise InvalidTransition(
            f"Only a mailing that is {names} can be {doing}; this one is "
            f"{batch.status.label.lower()}."
        )
    before = batch.status
    batch.status = to
    audit.record(
        session,
        actor=actor,
        action=f"mail_batch.{to.value}",
        at=now,
        subject_type="mail_batch",
        subject_id=batch.id,
        incident_id=batch.incident_id,
        details={"from": before.value},
    )


def pause(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> MailBatch:
    """Queued/running → paused; the worker stops after the group it is writing. Commits."""
    batch = _workable_batch(session, actor, incident_id, batch_id)
    _move(
        session,
        batch,
        allowed=WORKABLE,
        to=BatchStatus.PAUSED,
        doing="paused",
        actor=actor,
        now=now,
    )
    session.commit()
    return batch


def resume(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> MailBatch:
    """Paused or failed → queued: the worker carries on where it stopped. Commits."""
    batch = _workable_batch(session, actor, incident_id, batch_id)
    _move(
        session,
        batch,
        allowed=(BatchStatus.PAUSED, BatchStatus.FAILED),
        to=BatchStatus.QUEUED,
        doing="resumed",
        actor=actor,
        now=now,
    )
    batch.message = ""
    session.commit()
    return batch


def cancel(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> MailBatch:
    """Stop for good. Print files already made stay; people whose letters are in a chunk
    that never got its print file are pending again (a later mailing includes them).
    Commits once."""
    batch = _workable_batch(session, actor, incident_id, batch_id)
    _move(
        session,
        batch,
        allowed=OPEN,
        to=BatchStatus.CANCELLED,
        doing="cancelled",
        actor=actor,
        now=now,
    )
    batch.finished_at = now
    unprinted = (
        sa.select(MailLetter.person_id)
        .join(MailChunk, MailChunk.id == MailLetter.chunk_id)
        .where(
            MailLetter.batch_id == batch.id,
            MailLetter.route == Route.MAIL,
            MailLetter.state == LetterState.DONE,
            MailChunk.status != ChunkStatus.DONE,
        )
    )
    session.execute(
        sa.update(RosterPerson)
        .where(
            RosterPerson.id.in_(unprinted.scalar_subquery()),
            RosterPerson.notice_status == NoticeStatus.LETTER_GENERATED,
        )
        .values(notice_status=NoticeStatus.PENDING, notice_method=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return batch


def retry(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    batch_id: int,
    letter_id: int | None = None,
) -> int:
    """Queue failed letters (one, or all) again in a new chunk with its own print file, so a
    print file already sent to the mail house never changes. Returns how many. Commits."""
    batch = _workable_batch(session, actor, incident_id, batch_id)
    if batch.status is BatchStatus.CANCELLED:
        raise InvalidTransition("This mailing was cancelled; start a new one instead.")
    query = sa.select(MailLetter).where(
        MailLetter.batch_id == batch.id, MailLetter.state == LetterState.FAILED
    )
    if letter_id is not None:
        query = query.where(MailLetter.id == letter_id)
    rows = list(session.scalars(query.order_by(MailLetter.sequence)))
    if not rows:
        raise NotFound("No failed letter to retry.")
    number = (
        session.scalar(
            sa.select(sa.func.max(MailChunk.number)).where(MailChunk.batch_id == batch.id)
        )
        or 0
    ) + 1
    chunk = MailChunk(
        batch_id=batch.id,
        number=number,
        first_sequence=rows[0].sequence,
        people=[chunk_row(r.sequence, r.person_id, r.route, r.variant) for r in rows],
    )
    session.add(chunk)
    session.flush()
    for row in rows:
        row.state, row.chunk_id = LetterState.RETRY, chunk.id
    if batch.status in (BatchStatus.COMPLETED, BatchStatus.FAILED):
        batch.status, batch.finished_at, batch.message = BatchStatus.QUEUED, None, ""
    audit.record(
        session,
        actor=actor,
        action="mail_batch.retry",
        at=now,
        subject_type="mail_batch",
        subject_id=batch.id,
        incident_id=incident_id,
        details={"letters": [r.letter_code for r in rows], "chunk": number},
    )
    session.commit()
    return len(rows)
