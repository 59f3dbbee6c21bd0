"""Rotation of the audit key, and the upgrade of rows written before the keyed chain.

`flask audit rekey` (cli/audit.py) is the audit ring's counterpart of `flask keys rotate`
(services/key_rotation.py, which re-encrypts the data-key ring's values): it signs every row
that has no MAC (the legacy prefix) or a MAC under another key than the primary, re-signs the
head and the checkpoint files, and records `audit.rekeyed`. It refuses to run on a chain that
does not verify: signing a tampered row would launder it.

Killed half-way, every row still verifies (old keys stay in the ring; legacy rows are signed
from the newest down, so the unsigned ones stay a prefix) and a second run finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.audit_keys import AuditKeys
from incident_app.models.audit import AuditEvent
from incident_app.services import audit
from incident_app.services import audit_checkpoints


class RekeyRefused(RuntimeError):
    """The chain does not verify; nothing was re-signed."""


@dataclass(frozen=True)
class RekeyReport:
    rows: int
    checkpoints: int
    key_id: str


def rekey(
    session: Session,
    *,
    keys: AuditKeys,
    directory: Path,
    clock: Callable[[], datetime],
    actor_label: str,
    batch_size: int = 2000,
) -> RekeyReport:
    found = audit_checkpoints.read_all(directory, keys)
    report = audit.verify(session, keys=keys, checkpoints=found.valid)
    if not report.ok or found.problems:
        problem = report.problem or "; ".join(found.problems)
        raise RekeyRefused(
            f"The audit chain does not verify (event #{report.broken_seq}: {problem}); "
            "nothing was re-signed."
        )
    session.rollback()
    # The head first: once it is signed, legacy rows below it stay valid under the legacy rule.
    head = audit.locked_head(session, keys)
    audit.sign_head(head, head.seq, head.last_hash, keys)
    session.commit()
    rows = _sign_rows(session, keys, batch_size)
    audit.record(
        session,
        actor=None,
        actor_label=actor_label,
        action="audit.rekeyed",
        at=clock(),
        subject_type="audit_key",
        subject_id=keys.primary_id,
        details={"rows_signed": rows},
    )
    session.commit()
    resigned = audit_checkpoints.resign_all(directory, keys)
    return RekeyReport(rows, resigned, keys.primary_id)


def _sign_rows(session: Session, keys: AuditKeys, batch_size: int) -> int:
    """Newest first, one committed batch at a time."""
    signed = 0
    below: int | None = None
    while True:
        query = sa.select(AuditEvent).where(
            sa.or_(AuditEvent.key_id.is_(None), AuditEvent.key_id != keys.primary_id)
        )
        if below is not None:
            query = query.where(AuditEvent.seq < below)
        batch = session.scalars(query.order_by(AuditEvent.seq.desc()).limit(batch_size)).all()
        if not batch:
            return signed
        for event in batch:
            event.key_id = keys.primary_id
            event.mac = audit.row_mac(keys, keys.primary_id, event.seq, event.hash)
        signed += len(batch)
        below = batch[-1].seq
        session.commit()
