"""CLI commands call the same services as the web, and fail with clear messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.user import Role
from incident_app.models.user import User

ROOT = Path(__file__).resolve().parents[2]


def test_users_create_from_the_command_line(app, runner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "PO@Example.org",
            "--role",
            "privacy_officer",
            "--password",
            "a long password",
        ]
    )

    assert result.exit_code == 0, result.output
    assert "Created po@example.org with role privacy_officer." in result.output
    with app.app_context():
        user = get_session().scalars(sa.select(User)).one()
        event = get_session().scalars(sa.select(AuditEvent)).one()
    assert user.role is Role.PRIVACY_OFFICER
    assert (event.action, event.actor_label) == ("user.created", "system (cli)")


def test_users_create_rejects_a_short_password(app, runner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@example.org",
            "--role",
            "legal",
            "--password",
            "short",
        ]
    )

    assert result.exit_code != 0 and "at least 12 characters" in result.output
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_ensure_admin_runs_twice_and_creates_once(app, runner, monkeypatch) -> None:
    monkeypatch.setenv("ADMIN_EMAIL", "boss@example.org")
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)

    first = runner.invoke(args=["users", "ensure-admin"])
    second = runner.invoke(args=["users", "ensure-admin"])

    assert "Generated password" in first.output
    assert "nothing created" in second.output


def test_audit_verify_reports_intact_and_broken_chains(app, runner) -> None:
    runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "a@example.org",
            "--role",
            "legal",
            "--password",
            "a long password",
        ]
    )
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "Audit chain intact: 1 events" in ok.output

    with app.app_context():
        session = get_session()
        session.execute(sa.update(AuditEvent).values(action="user.forged"))
        session.commit()
    broken = runner.invoke(args=["audit", "verify"])

    assert broken.exit_code == 1 and "BROKEN at event #1" in broken.output


def _production_keys() -> dict[str, str]:
    import base64
    import secrets

    from incident_app.crypto import generate_key_line

    return {
        "BREACHDESK_DATA_KEYS": generate_key_line("k1"),
        "BREACHDESK_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BREACHDESK_AUDIT_KEYS": generate_key_line("audit1"),
    }


def _flask(*args: str, **env: str) -> subprocess.CompletedProcess:
    hidden = (
        "SECRET_KEY",
        "APP_ENV",
        "BREACHDESK_DATA_KEYS",
        "BREACHDESK_INDEX_KEY",
        "BREACHDESK_AUDIT_KEYS",
    )
    environment = {k: v for k, v in os.environ.items() if k not in hidden}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_production_refuses_to_start_without_secret_key(tmp_path) -> None:
    result = _flask(
        "users", "list", APP_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite"
    )

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_database_url_pointing_at_nothing_gives_a_clear_error() -> None:
    result = _flask(
        "users",
        "list",
        APP_ENV="production",
        SECRET_KEY="x" * 32,
        DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none",
        **_production_keys(),
    )

    assert result.returncode != 0
    assert (
        "Cannot use the database at postgresql+psycopg://nobody@127.0.0.1:1/none" in result.stderr
    )
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_invalid_database_url_is_named() -> None:
    result = _flask(
        "users",
        "list",
        APP_ENV="production",
        SECRET_KEY="x" * 32,
        DATABASE_URL="not a url",
        **_production_keys(),
    )

    assert result.returncode != 0 and "not a valid database URL" in result.stderr


@pytest.mark.slow
def test_production_refuses_to_start_without_data_keys(tmp_path) -> None:
    result = _flask(
        "users",
        "list",
        APP_ENV="production",
        SECRET_KEY="x" * 32,
        DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite",
    )

    assert result.returncode != 0
    assert "BREACHDESK_DATA_KEYS is not set" in result.stderr
    assert "Traceback" not in result.stderr
