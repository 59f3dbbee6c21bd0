"""Append to and verify the hash-chained audit trail.

`record` only adds rows to the caller's session: it never commits, so an audit event is
written in the same transaction as the change it describes, or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.audit import GENESIS_HASH
from incident_app.models.audit import AuditChainHead
from incident_app.models.audit import AuditEvent
from incident_app.models.user import User

HEAD_ID = 1


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    at: datetime,
    subject_type: str | None = None,
    subject_id: object | None = None,
    incident_id: int | None = None,
    details: Mapping[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Add one chained AuditEvent to `session` (no commit).

    The chain head row is locked first (FOR UPDATE: a row lock on PostgreSQL, the write lock
    on SQLite, taken before the head is read; see db.py), so two workers appending at once
    queue instead of forking.
    """
    head = _locked_head(session)
    event = AuditEvent(
        seq=head.seq + 1,
        at=at.astimezone(UTC),
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label or (actor.email if actor is not None else "system"),
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        incident_id=incident_id,
        details=_jsonable(details or {}),
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    head.seq = event.seq
    head.last_hash = event.hash
    session.add(event)
    return event


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the row's content and the previous row's hash, in canonical JSON."""
    payload = {
        "seq": event.seq,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "incident_id": event.incident_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_hash: str
    broken_seq: int | None = None
    problem: str = ""


def verify(session: Session, *, batch_size: int = 2000) -> ChainReport:
    """Walk the whole chain in order; name the first row that does not hold."""
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in _events_in_order(session, batch_size):
        problem = _problem_with(event, expected_seq, expected_prev)
        if problem:
            return ChainReport(False, checked, expected_prev, min(event.seq, expected_seq), problem)
        expected_prev, expected_seq, checked = event.hash, event.seq + 1, checked + 1
    head = session.get(AuditChainHead, HEAD_ID)
    if head is not None and (head.seq, head.last_hash) != (checked, expected_prev):
        return ChainReport(
            False,
            checked,
            expected_prev,
            checked + 1,
            f"the chain head records {head.seq} events but {checked} were found: "
            "the newest events were deleted",
        )
    return ChainReport(True, checked, expected_prev)


def _problem_with(event: AuditEvent, expected_seq: int, expected_prev: str) -> str:
    if event.seq != expected_seq:
        return f"event {expected_seq} is missing (found {event.seq} next)"
    if event.prev_hash != expected_prev:
        return "its previous-hash does not match the event before it"
    if event_hash(event) != event.hash:
        return "its content does not match its hash (the row was edited)"
    return ""


def _events_in_order(session: Session, batch_size: int) -> Iterator[AuditEvent]:
    last_seq = 0
    while True:
        batch = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch_size)
        ).all()
        if not batch:
            return
        yield from batch
        last_seq = batch[-1].seq
        session.expunge_all()


def _locked_head(session: Session) -> AuditChainHead:
    stmt = (
        sa.select(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = session.scalars(stmt).one_or_none()
    if head is None:
        head = AuditChainHead(id=HEAD_ID, seq=0, last_hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


def _jsonable(details: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise to what JSON gives back, so the hash is the same after a round trip."""
    return json.loads(json.dumps(dict(details), default=str, sort_keys=True))
