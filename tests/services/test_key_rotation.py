"""Key rotation: files and listed database rotations to the primary key, audited once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.crypto import UnknownKeyError
from incident_app.models.audit import AuditEvent
from incident_app.services import key_rotation
from incident_app.storage import FileStore
from incident_app.storage import IntegrityError
from incident_app.storage import StorageError
from tests.support.factories import NOW

APP = Path(__file__).resolve().parents[2] / "incident_app"
OLD = KeyRing([("k1", bytes(range(32)))], bytes(range(32, 64)))
NEW = KeyRing([("k2", bytes(range(64, 96))), ("k1", bytes(range(32)))], bytes(range(32, 64)))


def _reencrypting_functions() -> set[str]:
    """Every function of the app that calls `<something>.reencrypt(...)`, but the key ring's."""
    found = set()
    for path in sorted(APP.rglob("*.py")):
        if path == APP / "crypto.py":
            continue
        module = ".".join(path.relative_to(APP.parent).with_suffix("").parts)
        # Module-level functions only: a closure that re-encrypts belongs to its function.
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "reencrypt"
                for call in ast.walk(node)
            ):
                found.add(f"{module}.{node.name}")
    return found


def test_every_function_that_reencrypts_database_values_is_listed() -> None:
    listed = {f"{rotate.__module__}.{rotate.__name__}" for _name, rotate in key_rotation.ROTATIONS}

    assert _reencrypting_functions() == listed
    assert "incident_app.services.roster.people.rotate_roster" in listed


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def file_checked(self, checked: int, total: int, reencrypted: int) -> None:
        self.events.append(("checked", checked, total, reencrypted))

    def file_failed(self, sha256: str, error: IntegrityError | UnknownKeyError) -> None:
        self.events.append(("failed", sha256))

    def table_started(self, name: str) -> None:
        self.events.append(("table", name))


def test_rotate_all_rotates_files_then_tables_and_audits_once(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = FileStore(tmp_path, OLD).put_bytes(b"evidence").sha256
    blobs = [OLD.encrypt(b"phi", b"row")]

    def rotate_blobs(session: Session, keyring: KeyRing, batch_size: int) -> int:
        blobs[0] = keyring.reencrypt(blobs[0], b"row")
        return 1

    monkeypatch.setattr(key_rotation, "ROTATIONS", (("blobs", rotate_blobs),))
    progress = Recorder()

    report = key_rotation.rotate_all(
        session,
        NEW,
        store=FileStore(tmp_path, NEW),
        clock=lambda: NOW,
        actor_label="system (test)",
        batch_size=10,
        progress=progress,
    )

    assert report.files == key_rotation.FileRotation(checked=1, reencrypted=1, failed=[])
    assert report.rows == {"blobs": 1}
    assert progress.events == [("checked", 1, 1, 1), ("table", "blobs")]
    assert FileStore(tmp_path, NEW).key_id_of(sha) == "k2"
    assert not NEW.needs_rotation(blobs[0])
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "keys.rotated")).one()
    assert (event.subject_id, event.actor_label, event.at) == ("k2", "system (test)", NOW)
    assert event.details["rows_reencrypted"] == {"blobs": 1}


def test_a_file_store_failure_stops_the_run_before_the_tables(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FileStore(tmp_path, OLD).put_bytes(b"one")
    store = FileStore(tmp_path, NEW)

    def disk_full(sha256: str) -> bool:
        raise StorageError("Could not write to the file store: disk full.")

    monkeypatch.setattr(store, "rotate_file", disk_full)
    monkeypatch.setattr(key_rotation, "ROTATIONS", (("never", pytest.fail),))

    with pytest.raises(key_rotation.RotationStopped) as stopped:
        key_rotation.rotate_all(
            session, NEW, store=store, clock=lambda: NOW, actor_label="x", batch_size=1
        )

    assert (stopped.value.checked, stopped.value.total) == (0, 1)
    assert "disk full" in str(stopped.value.cause)
    assert (
        session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "keys.rotated")).all()
        == []
    )
