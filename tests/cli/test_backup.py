"""Backups restore to the same data, files and intact audit chain, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from config import TestConfig
from incident_app import app_store
from incident_app import create_app
from incident_app.cli.database import alembic_config
from incident_app.db import get_session
from incident_app.models.user import User
from tests.support.scratch_db import scratch_postgres


def _app(url: str, tmp: Path, name: str):
    config = type(
        "BackupConfig",
        (TestConfig,),
        {
            "DATABASE_URL": url,
            "INSTANCE_DIR": tmp / "instance",
            "FILE_STORE_DIR": tmp / f"files-{name}",
        },
    )
    return create_app(config)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request, tmp_path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'live.sqlite'}", f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump missing: PostgreSQL backup test skipped")
    with scratch_postgres("bak", 2) as (live, restored):
        yield live, restored


def test_backup_then_restore_gives_back_rows_files_and_the_chain(two_databases, tmp_path):
    live_url, restored_url = two_databases
    command.upgrade(alembic_config(live_url), "head")
    live = _app(live_url, tmp_path, "live")
    runner = live.test_cli_runner()
    assert (
        runner.invoke(
            args=[
                "users",
                "create",
                "--email",
                "po@example.org",
                "--role",
                "privacy_officer",
                "--password",
                "a long password",
            ]
        ).exit_code
        == 0
    )
    with live.app_context():
        stored = app_store.put_bytes(b"mail-house affidavit")

    made = runner.invoke(args=["backup", "create", str(tmp_path / "bk")])
    assert made.exit_code == 0, made.output
    assert "1 stored files" in made.output

    restored = _app(restored_url, tmp_path, "restored")
    done = restored.test_cli_runner().invoke(args=["backup", "restore", str(tmp_path / "bk")])

    assert done.exit_code == 0, done.output
    assert "Audit chain: intact, 1 events" in done.output
    with restored.app_context():
        assert get_session().scalars(sa.select(User.email)).all() == ["po@example.org"]
        assert app_store.read_verified(stored.sha256) == b"mail-house affidavit"


def test_a_damaged_backup_is_refused_before_anything_is_touched(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    command.upgrade(alembic_config(url), "head")
    app = _app(url, tmp_path, "live")
    runner = app.test_cli_runner()
    runner.invoke(args=["backup", "create", str(tmp_path / "bk")])
    (tmp_path / "bk" / "database.sqlite").write_bytes(b"tampered")
    target = tmp_path / "restored.sqlite"

    result = (
        _app(f"sqlite:///{target}", tmp_path, "r")
        .test_cli_runner()
        .invoke(args=["backup", "restore", str(tmp_path / "bk")])
    )

    assert result.exit_code != 0 and "does not match the manifest" in result.output
    assert not target.exists()


def test_restore_will_not_overwrite_without_force(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    command.upgrade(alembic_config(url), "head")
    runner = _app(url, tmp_path, "live").test_cli_runner()
    runner.invoke(args=["backup", "create", str(tmp_path / "bk")])

    result = runner.invoke(args=["backup", "restore", str(tmp_path / "bk")])

    assert result.exit_code != 0 and "pass --force" in result.output
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["backend"] == "sqlite" and manifest["alembic_revision"]


def test_backup_refuses_an_existing_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    command.upgrade(alembic_config(url), "head")
    (tmp_path / "bk").mkdir()

    result = (
        _app(url, tmp_path, "live")
        .test_cli_runner()
        .invoke(args=["backup", "create", str(tmp_path / "bk")])
    )

    assert result.exit_code != 0 and "already exists" in result.output
