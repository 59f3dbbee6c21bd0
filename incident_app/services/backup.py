"""Backups: a consistent copy of the database plus the encrypted file store, with a manifest.

SQLite uses the online backup API (safe while gunicorn and the scheduler run); PostgreSQL uses
`pg_dump --format=custom`. Files are copied as stored (still encrypted). Encryption keys are
NOT in a backup: keep BREACHDESK_DATA_KEYS / BREACHDESK_INDEX_KEY / BREACHDESK_AUDIT_KEYS in
your secret store, or the backup cannot be read (nor its audit chain verified).
Restore checks every file against the manifest before touching anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypedDict
from typing import cast

import sqlalchemy as sa

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite"
PG_FILE = "database.dump"
FILES_DIR = "files"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why."""


class Manifest(TypedDict):
    """manifest.json of a backup."""

    created_at: str  # ISO 8601
    backend: str  # "sqlite" or "postgresql"
    alembic_revision: str | None
    database: str  # the dump's file name inside the backup
    sha256: dict[str, str]  # path relative to the backup -> SHA-256 of the file


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    database_bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_env(url: sa.URL) -> dict[str, str]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return env


def _pg_args(url: sa.URL) -> list[str]:
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    return args + ["--dbname", url.database or ""]


def _run(command: list[str], url: sa.URL) -> None:
    try:
        subprocess.run(command, check=True, env=_pg_env(url), capture_output=True, text=True)
    except FileNotFoundError as error:
        raise BackupError(
            f"{command[0]} is not installed (apt-get install postgresql-client)"
        ) from error
    except subprocess.CalledProcessError as error:
        raise BackupError(f"{command[0]} failed: {error.stderr.strip()[:500]}") from error


def create(
    *, database_url: str, file_store: Path, out_dir: Path, now: datetime, revision: str | None
) -> BackupResult:
    """Write a backup into `out_dir` (which must not exist yet)."""
    if out_dir.exists():
        raise BackupError(f"{out_dir} already exists; choose a new folder for each backup.")
    out_dir.mkdir(parents=True)
    url = sa.engine.make_url(database_url)
    db_file = _dump_database(url, out_dir)
    files = _copy_files(file_store, out_dir / FILES_DIR)
    manifest: Manifest = {
        "created_at": now.isoformat(),
        "backend": url.get_backend_name(),
        "alembic_revision": revision,
        "database": db_file.name,
        "sha256": {
            str(p.relative_to(out_dir)): _sha256(p)
            for p in sorted(out_dir.rglob("*"))
            if p.is_file()
        },
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return BackupResult(out_dir, files, db_file.stat().st_size)


def _dump_database(url: sa.URL, out_dir: Path) -> Path:
    if url.get_backend_name() == "sqlite":
        source = Path(url.database or "")
        if not source.is_file():
            raise BackupError(f"No SQLite database at {source}.")
        target = out_dir / SQLITE_FILE
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)  # the online backup API: a consistent copy while others write
        return target
    target = out_dir / PG_FILE
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), *_pg_args(url)], url)
    return target


def _copy_files(source: Path, target: Path) -> int:
    target.mkdir(parents=True)
    count = 0
    if not source.is_dir():
        return count
    for path in sorted(source.rglob("*.bin")):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        count += 1
    return count


def verify(backup_dir: Path) -> Manifest:
    """Check every file of a backup against its manifest; raise BackupError naming the first
    missing or changed file."""
    try:
        # What create() wrote; a damaged manifest fails below on its first missing key.
        manifest = cast(Manifest, json.loads((backup_dir / MANIFEST).read_text()))
    except (OSError, ValueError) as error:
        raise BackupError(f"{backup_dir} has no readable {MANIFEST}.") from error
    for relative, expected in manifest["sha256"].items():
        path = backup_dir / relative
        if not path.is_file():
            raise BackupError(f"{relative} is missing from the backup.")
        if _sha256(path) != expected:
            raise BackupError(f"{relative} does not match the manifest (changed or damaged).")
    return manifest


def restore(*, backup_dir: Path, database_url: str, file_store: Path, force: bool) -> Manifest:
    """Restore a verified backup into `database_url` and `file_store`."""
    manifest = verify(backup_dir)
    url = sa.engine.make_url(database_url)
    if manifest["backend"] != url.get_backend_name():
        raise BackupError(
            f"This is a {manifest['backend']} backup; DATABASE_URL is {url.get_backend_name()}."
        )
    if url.get_backend_name() == "sqlite":
        _restore_sqlite(backup_dir / manifest["database"], Path(url.database or ""), force)
    else:
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *_pg_args(url),
                str(backup_dir / manifest["database"]),
            ],
            url,
        )
    _restore_files(backup_dir / FILES_DIR, file_store)
    return manifest


def _restore_sqlite(source: Path, target: Path, force: bool) -> None:
    if target.exists() and not force:
        raise BackupError(f"{target} exists; stop the app and pass --force to replace it.")
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _restore_files(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*.bin")):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not destination.exists():
            shutil.copy2(path, destination)
