"""The app's file store and key ring, for views, jobs and CLI; services receive them as parameters.

Everything here reads `flask.current_app` (FILE_STORE_DIR and the configured keys), so no module
under incident_app/services, incident_app/models or incident_app/rules may import it, directly
or through a helper (tests/test_layers.py walks the imports).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from incident_app.audit_keys import AuditKeys
from incident_app.audit_keys import load_audit_keys
from incident_app.crypto import KeyRing
from incident_app.crypto import load_keyring
from incident_app.storage import FileStore
from incident_app.storage import Readable
from incident_app.storage import StoredFile


def current_keyring() -> KeyRing:
    """The app's key ring, built once per app (the factory may build it at start-up)."""
    ring: KeyRing | None = current_app.extensions.get("keyring")
    if ring is None:
        ring = current_app.extensions["keyring"] = load_keyring(current_app.config)
    return ring


def current_audit_keys() -> AuditKeys:
    """The audit key ring (HMAC keys of the audit chain), built once per app."""
    keys: AuditKeys | None = current_app.extensions.get("audit_keys")
    if keys is None:
        keys = current_app.extensions["audit_keys"] = load_audit_keys(current_app.config)
    return keys


def checkpoint_dir() -> Path:
    """Where signed audit checkpoints are written: outside the database, by default next to
    the file store's content (FILE_STORE_DIR/audit-checkpoints), or AUDIT_CHECKPOINT_DIR."""
    configured = current_app.config.get("AUDIT_CHECKPOINT_DIR")
    if configured:
        return Path(configured)
    return Path(current_app.config["FILE_STORE_DIR"]) / "audit-checkpoints"


def current_store(keyring: KeyRing | None = None) -> FileStore:
    return FileStore(current_app.config["FILE_STORE_DIR"], keyring or current_keyring())


# One-call shortcuts on the app's store (for views, jobs and CLI, like everything here).


def put_bytes(data: bytes, *, keyring: KeyRing | None = None) -> StoredFile:
    return current_store(keyring).put_bytes(data)


def put_stream(
    fileobj: Readable | BinaryIO, *, max_bytes: int, keyring: KeyRing | None = None
) -> StoredFile:
    return current_store(keyring).put_stream(fileobj, max_bytes=max_bytes)


def open_verified(sha256: str, *, keyring: KeyRing | None = None) -> Iterator[bytes]:
    return current_store(keyring).open_verified(sha256)


def read_verified(sha256: str, *, keyring: KeyRing | None = None) -> bytes:
    return current_store(keyring).read_verified(sha256)


def exists(sha256: str) -> bool:
    return current_store().exists(sha256)


def delete(sha256: str) -> bool:
    return current_store().delete(sha256)
