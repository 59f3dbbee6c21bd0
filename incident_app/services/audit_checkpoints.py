"""Signed checkpoints of the audit chain head, kept OUTSIDE the database, and verification runs.

A checkpoint is a small JSON file (one per checkpoint, never rewritten except to re-sign it
under a new audit key) in the checkpoint directory next to the file store, also written to the
log (and, if configured, emailed to the privacy officers by the job). It states "event #seq had
hash H, and N events had no MAC", signed with the audit key. Someone holding only the database
cannot rewind the chain below a checkpoint, delete its newest rows, restore an older copy, or
strip MACs, without `flask audit verify` naming the checkpoint that no longer matches.

Every verification run (the CLI, the scheduler job) is itself recorded as an `audit.verified`
event, which the audit page shows as "last verified".
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.audit_keys import AuditKeys
from incident_app.mailer import Mail
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.audit import AuditChainError
from incident_app.services.audit import ChainReport
from incident_app.services.audit import Checkpoint

log = logging.getLogger("breachdesk.audit")
PURPOSE = "checkpoint"
FORMAT_VERSION = 1
VERIFIED_ACTION = "audit.verified"


def _signed_text(cp: Checkpoint) -> str:
    body = {
        "version": FORMAT_VERSION,
        "seq": cp.seq,
        "hash": cp.hash,
        "legacy_rows": cp.legacy_rows,
        "at": cp.at,
        "key_id": cp.key_id,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def sign(
    keys: AuditKeys, *, seq: int, head_hash: str, legacy_rows: int, at: datetime
) -> Checkpoint:
    unsigned = Checkpoint(
        seq=seq,
        hash=head_hash,
        legacy_rows=legacy_rows,
        at=at.astimezone(UTC).isoformat(timespec="seconds"),
        key_id=keys.primary_id,
        signature="",
    )
    return replace(unsigned, signature=keys.mac(keys.primary_id, PURPOSE, _signed_text(unsigned)))


def as_text(cp: Checkpoint) -> str:
    """The checkpoint file's content (also what goes to the log and the email)."""
    document = json.loads(_signed_text(cp))
    document["signature"] = {"alg": "HMAC-SHA256", "value": cp.signature}
    return json.dumps(document, sort_keys=True, indent=1) + "\n"


def write(directory: Path, cp: Checkpoint) -> Checkpoint:
    """Write `cp` atomically (temp file, fsync, rename) and log it; returns it with its name."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = cp.at.replace(":", "").replace("-", "").replace("+0000", "Z")
    name = cp.name or f"checkpoint-{cp.seq:012d}-{stamp}.json"
    _atomic_write(directory / name, as_text(cp))
    log.info(
        "audit checkpoint %s: seq=%s hash=%s legacy_rows=%s key=%s signature=%s",
        name,
        cp.seq,
        cp.hash,
        cp.legacy_rows,
        cp.key_id,
        cp.signature,
    )
    return replace(cp, name=name)


def _atomic_write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


@dataclass(frozen=True)
class CheckpointSet:
    valid: list[Checkpoint]
    problems: list[str]


def read_all(directory: Path, keys: AuditKeys) -> CheckpointSet:
    """Every checkpoint file in `directory`; a file that cannot be read or whose signature does
    not verify is a problem (someone wrote or edited it without the audit key)."""
    valid: list[Checkpoint] = []
    problems: list[str] = []
    if not directory.is_dir():
        return CheckpointSet(valid, problems)
    for path in sorted(directory.glob("checkpoint-*.json")):
        try:
            document = json.loads(path.read_text())
            signature = document["signature"]["value"]
            cp = Checkpoint(
                seq=int(document["seq"]),
                hash=str(document["hash"]),
                legacy_rows=int(document["legacy_rows"]),
                at=str(document["at"]),
                key_id=str(document["key_id"]),
                signature=str(signature),
                name=path.name,
            )
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(f"checkpoint {path.name} cannot be read (damaged or not a checkpoint)")
            continue
        if not keys.has_key(cp.key_id):
            problems.append(
                f"checkpoint {path.name} is signed with audit key {cp.key_id!r}, which is not "
                "in the audit key ring"
            )
        elif not keys.check(cp.key_id, PURPOSE, cp.signature, _signed_text(cp)):
            problems.append(
                f"checkpoint {path.name}: its signature does not verify (it was edited or "
                "forged without the audit key)"
            )
        else:
            valid.append(cp)
    return CheckpointSet(valid, problems)


def resign_all(directory: Path, keys: AuditKeys) -> int:
    """Re-sign valid checkpoints made under an older audit key with the primary (rotation);
    returns how many. Unverifiable files are left as they are (verify keeps naming them)."""
    count = 0
    for cp in read_all(directory, keys).valid:
        if cp.key_id == keys.primary_id:
            continue
        fresh = replace(cp, key_id=keys.primary_id, signature="")
        fresh = replace(fresh, signature=keys.mac(keys.primary_id, PURPOSE, _signed_text(fresh)))
        write(directory, fresh)
        count += 1
    return count


def verify_and_record(
    session: Session, *, keys: AuditKeys, directory: Path, now: datetime, by: str
) -> ChainReport:
    """Verify the chain against every checkpoint in `directory`, record the run as an
    `audit.verified` event (when the chain can still be appended to) and commit."""
    found = read_all(directory, keys)
    report = audit.verify(session, keys=keys, checkpoints=found.valid)
    if report.ok and found.problems:
        report = replace(report, ok=False, broken_seq=None, problem="; ".join(found.problems))
    session.rollback()  # the walk expunged what it read; start the record from a clean slate
    try:
        audit.record(
            session,
            actor=None,
            actor_label=by,
            action=VERIFIED_ACTION,
            at=now,
            subject_type="audit_chain",
            details={
                "ok": report.ok,
                "events": report.checked,
                "broken_seq": report.broken_seq,
                "problem": report.problem,
                "legacy_rows": report.legacy_rows,
                "checkpoints": report.checkpoints,
                "head_hash": report.head_hash,
            },
        )
        session.commit()
    except AuditChainError as error:
        session.rollback()
        log.error("audit verification could not be recorded: %s", error)
    if not report.ok:
        log.error("audit chain BROKEN at #%s: %s", report.broken_seq, report.problem)
    return report


def checkpoint_now(
    session: Session, *, keys: AuditKeys, directory: Path, now: datetime, by: str
) -> tuple[ChainReport, Checkpoint | None]:
    """Verify (and record it), then checkpoint the verified head outside the database. A
    broken chain is never checkpointed: the last good checkpoint keeps standing."""
    report = verify_and_record(session, keys=keys, directory=directory, now=now, by=by)
    if not report.ok:
        return report, None
    cp = sign(
        keys, seq=report.checked, head_hash=report.head_hash, legacy_rows=report.legacy_rows, at=now
    )
    return report, write(directory, cp)


def mails_for(
    session: Session, *, report: ChainReport, checkpoint: Checkpoint | None
) -> list[Mail]:
    """One message per active privacy officer: the signed checkpoint (a copy nobody with only
    the database can take back), or the alarm when the chain did not verify. No PHI."""
    if checkpoint is not None:
        subject = f"BreachDesk audit checkpoint: event #{checkpoint.seq}"
        body = (
            "BreachDesk signed a checkpoint of its audit trail (45 CFR 164.312(b)). Keep this "
            "message: `flask audit verify` compares the trail with these checkpoints, and this "
            "copy lets you check one that was removed from the server.\n\n" + as_text(checkpoint)
        )
    else:
        subject = "BreachDesk audit trail does NOT verify"
        body = (
            f"The audit chain did not verify at event #{report.broken_seq}: {report.problem}.\n"
            "No checkpoint was written. Run `flask audit verify` and investigate.\n"
        )
    officers = session.scalars(
        sa.select(User).where(User.role == Role.PRIVACY_OFFICER, User.active.is_(True))
    )
    return [Mail(to=officer.email, subject=subject, body=body) for officer in officers]
