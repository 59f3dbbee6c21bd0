"""Append to and verify the keyed, hash-chained audit trail (45 CFR 164.312(b)).

Each row carries `hash` (SHA-256 over its content and the previous row's hash) and `mac`
(HMAC-SHA256 of that hash under the audit key named by `key_id`). The chain head row carries
a MAC of (seq, last hash). The audit key lives outside the database (incident_app/audit_keys.py)
and is bound to the session by the app factory, so `record` needs no extra parameter: a
session without audit keys refuses to write audit events (AuditChainError), never writes
unsigned ones. Signed checkpoints of the head, kept outside the database
(services/audit_checkpoints.py), catch truncation and rewinds of a database copied back.

`record` only adds rows to the caller's session: it never commits, so an audit event is
written in the same transaction as the change it describes, or not at all.

Legacy rule (rows written before the keyed chain, issue 24): rows with no MAC are accepted only
as a contiguous prefix starting at event 1 whose hash chain holds. They are protected by the
first signed row (its MAC covers its hash, which covers the last legacy row's hash), by the
signed head, and by checkpoints (which record how many legacy rows there were: stripping MACs
later is detected). `flask audit rekey` signs them one by one and removes the legacy prefix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.audit_keys import AuditKeys
from incident_app.audit_keys import bound_keys
from incident_app.models.audit import GENESIS_HASH
from incident_app.models.audit import AuditChainHead
from incident_app.models.audit import AuditEvent
from incident_app.models.user import User

HEAD_ID = 1
ROW = "row"
HEAD = "head"


class AuditChainError(RuntimeError):
    """The chain cannot be appended to safely (no key, no head, or a head that does not
    verify): the change it would describe is refused rather than left unaudited."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement, kept outside the database, that event `seq` had hash `hash`."""

    seq: int
    hash: str
    legacy_rows: int
    at: str
    key_id: str
    signature: str
    name: str = ""


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
    """Add one chained, signed AuditEvent to `session` (no commit).

    The chain head row is locked first (FOR UPDATE: a row lock on PostgreSQL, the write lock
    on SQLite, taken before the head is read; see db.py), so two workers appending at once
    queue instead of forking; its MAC is checked before the append, so a rewound head is never
    laundered by a new row.
    """
    keys = keys_of(session)
    head = locked_head(session, keys)
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
    seal(event, keys)
    advance_head(head, event, keys)
    session.add(event)
    return event


def keys_of(session: Session) -> AuditKeys:
    keys = bound_keys(session.info)
    if keys is None:
        raise AuditChainError(
            "No audit key is bound to this database session, so no audit event can be signed. "
            "Sessions from the app factory have one; elsewhere call "
            "`AuditKeys.bind_to(session.info)`."
        )
    return keys


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


def row_mac(keys: AuditKeys, key_id: str, seq: int, row_hash: str) -> str:
    return keys.mac(key_id, ROW, str(seq), row_hash)


def head_mac(keys: AuditKeys, key_id: str, seq: int, last_hash: str) -> str:
    return keys.mac(key_id, HEAD, str(seq), last_hash)


def seal(event: AuditEvent, keys: AuditKeys) -> None:
    """Hash `event` (its prev_hash set) and sign the hash with the primary audit key."""
    event.hash = event_hash(event)
    event.key_id = keys.primary_id
    event.mac = row_mac(keys, keys.primary_id, event.seq, event.hash)


def advance_head(head: AuditChainHead, event: AuditEvent, keys: AuditKeys) -> None:
    sign_head(head, event.seq, event.hash, keys)


def sign_head(head: AuditChainHead, seq: int, last_hash: str, keys: AuditKeys) -> None:
    head.seq, head.last_hash, head.key_id = seq, last_hash, keys.primary_id
    head.mac = head_mac(keys, keys.primary_id, seq, last_hash)


def locked_head(session: Session, keys: AuditKeys) -> AuditChainHead:
    """The chain head, locked, after checking its MAC (or, before the first signed append, that
    it points at the newest legacy row). Raises AuditChainError: a missing or unverifiable
    head stops the append instead of being recreated or re-signed."""
    stmt = (
        sa.select(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = session.scalars(stmt).one_or_none()
    if head is None:
        raise AuditChainError(
            "The audit chain head is missing: events may have been deleted. Nothing more is "
            "recorded until an administrator runs `flask audit verify` and investigates."
        )
    if head.mac is None:
        if not _legacy_head_holds(session, head):
            raise AuditChainError(
                "The audit chain head is unsigned but signed events exist (or it does not "
                "point at the newest event): run `flask audit verify`."
            )
    elif not keys.check(head.key_id, HEAD, head.mac, str(head.seq), head.last_hash):
        raise AuditChainError(
            f"The audit chain head (event #{head.seq}) does not verify with the audit key "
            f"{head.key_id!r}: it was rewound or edited, or the audit key changed. Run "
            "`flask audit verify`."
        )
    return head


def _legacy_head_holds(session: Session, head: AuditChainHead) -> bool:
    """An unsigned head is the state right after the upgrade: it points at the newest row, and
    no row is signed yet."""
    if session.scalar(sa.select(AuditEvent.id).where(AuditEvent.mac.is_not(None)).limit(1)):
        return False
    if head.seq == 0:
        return head.last_hash == GENESIS_HASH and not session.scalar(
            sa.select(AuditEvent.id).limit(1)
        )
    newest = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return newest is not None and (newest.seq, newest.hash) == (head.seq, head.last_hash)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_hash: str
    broken_seq: int | None = None
    problem: str = ""
    legacy_rows: int = 0
    checkpoints: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


def verify(
    session: Session,
    *,
    keys: AuditKeys | None = None,
    checkpoints: Sequence[Checkpoint] = (),
    batch_size: int = 2000,
) -> ChainReport:
    """Walk the whole chain in order; name the first row, the head or the checkpoint that does
    not hold. `keys` defaults to the session's; `checkpoints` (read from outside the database
    by services/audit_checkpoints.py) catch truncation, rewinds and stripped MACs."""
    keys = keys or keys_of(session)
    at_seq = {cp.seq: cp for cp in checkpoints}
    walk = _Walk()
    for event in _events_in_order(session, batch_size):
        problem = walk.step(event, keys, at_seq.get(event.seq))
        if problem:
            seq = min(event.seq, walk.expected_seq)
            return walk.report(False, seq, problem, len(checkpoints))
    problem = _head_problem(session, keys, walk) or _checkpoint_problem(checkpoints, walk)
    if problem:
        return walk.report(False, walk.checked + 1, problem, len(checkpoints))
    return walk.report(True, None, "", len(checkpoints))


@dataclass
class _Walk:
    expected_prev: str = GENESIS_HASH
    expected_seq: int = 1
    checked: int = 0
    legacy: int = 0
    signed: bool = False

    def step(self, event: AuditEvent, keys: AuditKeys, checkpoint: Checkpoint | None) -> str:
        problem = self._problem(event, keys, checkpoint)
        if not problem:
            self.expected_prev, self.expected_seq = event.hash, event.seq + 1
            self.checked += 1
        return problem

    def _problem(self, event: AuditEvent, keys: AuditKeys, checkpoint: Checkpoint | None) -> str:
        if event.seq != self.expected_seq:
            return f"event {self.expected_seq} is missing (found {event.seq} next)"
        if event.prev_hash != self.expected_prev:
            return "its previous-hash does not match the event before it"
        if event_hash(event) != event.hash:
            return "its content does not match its hash (the row was edited)"
        if event.mac is None and event.key_id is None:
            if self.signed:
                return "it has no MAC although earlier events are signed (its MAC was removed)"
            self.legacy += 1
        else:
            self.signed = True
            if not event.key_id or not keys.has_key(event.key_id):
                return (
                    f"it is signed with audit key {event.key_id!r}, which is not in the audit "
                    f"key ring ({', '.join(keys.key_ids)})"
                )
            if not keys.check(event.key_id, ROW, event.mac, str(event.seq), event.hash):
                return (
                    "its MAC does not verify: the row was re-hashed, forged or copied without "
                    "the audit key"
                )
        if checkpoint is not None and checkpoint.hash != event.hash:
            return (
                f"checkpoint {checkpoint.name or checkpoint.at} recorded another hash for it: "
                "the chain was rewritten up to here"
            )
        return ""

    def report(self, ok: bool, seq: int | None, problem: str, checkpoints: int) -> ChainReport:
        notes: tuple[str, ...] = ()
        if self.legacy:
            notes = (
                f"{self.legacy} events written before the keyed chain have no MAC of their own "
                "(legacy rule); `flask audit rekey` signs them",
            )
        return ChainReport(
            ok, self.checked, self.expected_prev, seq, problem, self.legacy, checkpoints, notes
        )


def _head_problem(session: Session, keys: AuditKeys, walk: _Walk) -> str:
    head = session.scalars(
        sa.select(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if head is None:
        return "the chain head row is missing (it is never skipped: events may have been erased)"
    if (head.seq, head.last_hash) != (walk.checked, walk.expected_prev):
        if head.seq > walk.checked:
            return (
                f"the chain head records {head.seq} events but {walk.checked} were found: "
                "the newest events were deleted"
            )
        return (
            f"the chain head records {head.seq} events but {walk.checked} were found and the "
            "newest does not match it: the head was rewound or the chain was extended without it"
        )
    if head.mac is None and head.key_id is None:
        if walk.signed:
            return "the chain head has no MAC although events are signed (its MAC was removed)"
        return ""
    if not head.key_id or not keys.has_key(head.key_id):
        return f"the chain head is signed with audit key {head.key_id!r}, not in the ring"
    if not keys.check(head.key_id, HEAD, head.mac, str(head.seq), head.last_hash):
        return (
            "the chain head's MAC does not verify: it was rewound or rewritten without the "
            "audit key"
        )
    return ""


def _checkpoint_problem(checkpoints: Sequence[Checkpoint], walk: _Walk) -> str:
    for checkpoint in sorted(checkpoints, key=lambda cp: -cp.seq):
        where = checkpoint.name or checkpoint.at
        if checkpoint.seq > walk.checked:
            return (
                f"checkpoint {where} (signed {checkpoint.at}) recorded {checkpoint.seq} events "
                f"but only {walk.checked} remain: the newest events were deleted, or the "
                "database was restored from an older copy"
            )
        if walk.legacy > checkpoint.legacy_rows:
            return (
                f"checkpoint {where} recorded {checkpoint.legacy_rows} events without a MAC, "
                f"now {walk.legacy}: MACs were stripped from signed events"
            )
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


def _jsonable(details: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise to what JSON gives back, so the hash is the same after a round trip."""
    normalised: dict[str, Any] = json.loads(json.dumps(dict(details), default=str, sort_keys=True))
    return normalised
