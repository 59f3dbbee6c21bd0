"""Key rotation: re-encrypt every stored file and every encrypted database value to the key
ring's primary key, and audit the run.

ROTATIONS lists the database side: each entry names a function that re-encrypts one kind of
row. A new PHI-holding column adds its function here (tests/services/test_key_rotation.py fails
for a function that calls `keyring.reencrypt` and is not listed). Nothing registers itself on
import, so what `flask keys rotate` does can be read here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.crypto import UnknownKeyError
from incident_app.services import audit
from incident_app.services.accounts import mfa
from incident_app.services.enrolment import codes as enrolment_codes
from incident_app.services.inquiries import recording as inquiry_recording
from incident_app.services.reminders import notifications
from incident_app.services.roster import people as roster_people
from incident_app.storage import FileStore
from incident_app.storage import IntegrityError
from incident_app.storage import StorageError

# Contract: rotate(session, keyring, batch_size) -> how many values it re-encrypted. It selects
# the values not under keyring.primary_id (`keyring.needs_rotation(blob)`), rewrites each with
# `keyring.reencrypt(blob, aad)` under the same associated data, and commits after every batch.
# Killed half-way, every row is still readable (the old keys stay in the ring) and a second call
# finishes the job; a call with nothing left to do returns 0.
TableRotation = Callable[[Session, KeyRing, int], int]

ROTATIONS: tuple[tuple[str, TableRotation], ...] = (
    ("roster", roster_people.rotate_roster),  # RosterPerson.phi
    ("totp", mfa.rotate_totp_secrets),  # User.totp_secret
    ("outbox", notifications.rotate_sealed_bodies),  # EmailMessage.body when sealed
    ("inquiries", inquiry_recording.rotate_inquiries),  # Inquiry.phi
    ("enrolment_codes", enrolment_codes.rotate_codes),  # EnrolmentCode.code (issue 23)
)


class RotationProgress(Protocol):
    """What a caller is told while the rotation runs (the CLI prints it)."""

    def file_checked(self, checked: int, total: int, reencrypted: int) -> None: ...

    def file_failed(self, sha256: str, error: IntegrityError | UnknownKeyError) -> None: ...

    def table_started(self, name: str) -> None: ...


class _Silent:
    def file_checked(self, checked: int, total: int, reencrypted: int) -> None:
        pass

    def file_failed(self, sha256: str, error: IntegrityError | UnknownKeyError) -> None:
        pass

    def table_started(self, name: str) -> None:
        pass


class RotationStopped(Exception):
    """The file store failed (disk full, permissions): the run stopped, every file is still
    readable, and running it again continues."""

    def __init__(self, cause: StorageError, *, checked: int, total: int) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.checked = checked
        self.total = total


@dataclass
class FileRotation:
    checked: int = 0
    reencrypted: int = 0
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RotationReport:
    files: FileRotation
    rows: dict[str, int]


def rotate_all(
    session: Session,
    keyring: KeyRing,
    *,
    store: FileStore,
    clock: Callable[[], datetime],
    actor_label: str,
    batch_size: int,
    progress: RotationProgress | None = None,
) -> RotationReport:
    """Re-encrypt every stored file, then every entry of ROTATIONS, then audit the run.

    A damaged file (or one under a key not in the ring) is left as it is and named in the
    report. Raises RotationStopped when the file store cannot be written; a rotation function
    that raises stops the run. Commits: each rotation function per batch, then the audit event
    (stamped when the run ends) once.
    """
    progress = progress or _Silent()
    files = rotate_files(store, progress)
    rows = rotate_tables(session, keyring, batch_size=batch_size, progress=progress)
    audit.record(
        session,
        actor=None,
        actor_label=actor_label,
        action="keys.rotated",
        at=clock(),
        subject_type="key",
        subject_id=keyring.primary_id,
        details={
            "files_checked": files.checked,
            "files_reencrypted": files.reencrypted,
            "files_failed": files.failed,
            "rows_reencrypted": rows,
        },
    )
    session.commit()
    return RotationReport(files, rows)


def rotate_files(store: FileStore, progress: RotationProgress) -> FileRotation:
    """Each file is replaced atomically, so a stopped run leaves every file readable."""
    hashes = list(store.iter_hashes())
    result = FileRotation()
    for sha256 in hashes:
        try:
            result.reencrypted += store.rotate_file(sha256)
        except (IntegrityError, UnknownKeyError) as error:
            result.failed.append(sha256)
            progress.file_failed(sha256, error)
        except StorageError as error:
            raise RotationStopped(error, checked=result.checked, total=len(hashes)) from error
        result.checked += 1
        progress.file_checked(result.checked, len(hashes), result.reencrypted)
    return result


def rotate_tables(
    session: Session, keyring: KeyRing, *, batch_size: int, progress: RotationProgress
) -> dict[str, int]:
    """Run every entry of ROTATIONS; values re-encrypted, by name."""
    counts: dict[str, int] = {}
    for name, rotate in ROTATIONS:
        progress.table_started(name)
        counts[name] = rotate(session, keyring, batch_size)
    return counts
