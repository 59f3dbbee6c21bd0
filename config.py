"""Configuration classes from the environment: secure defaults first, relaxations explicit."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from error


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from error


def instance_secret(filename: str) -> str:
    """A secret kept in instance/ so every gunicorn worker and restart shares it (dev only).

    Created once with O_EXCL, so two workers starting together cannot write different keys.
    """
    path = INSTANCE_DIR / filename
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'breachdesk.sqlite'}")
    INSTANCE_DIR = INSTANCE_DIR
    FILE_STORE_DIR = Path(os.environ.get("FILE_STORE_DIR", INSTANCE_DIR / "files"))
    LETTER_TEMPLATE_DIR = BASE_DIR / "letter_templates"

    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "breachdesk_session"
    REMEMBER_COOKIE_DURATION = 0
    IDLE_TIMEOUT_MINUTES = _int_env("IDLE_TIMEOUT_MINUTES", 30)
    ABSOLUTE_SESSION_HOURS = _int_env("ABSOLUTE_SESSION_HOURS", 12)
    LOGIN_MAX_FAILURES = _int_env("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCK_MINUTES = _int_env("LOGIN_LOCK_MINUTES", 15)
    # How long an emailed set-password invitation link stays valid.
    INVITATION_HOURS = _int_env("INVITATION_HOURS", 72)
    PASSWORD_MIN_LENGTH = 12
    # argon2id cost: argon2-cffi's RFC 9106 "low memory" profile (~160 ms here).
    ARGON2_TIME_COST = _int_env("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = _int_env("ARGON2_MEMORY_COST", 65536)
    ARGON2_PARALLELISM = 4
    HSTS = False
    WTF_CSRF_TIME_LIMIT = 3600
    MAX_CONTENT_LENGTH = _int_env("MAX_UPLOAD_MB", 25) * 1024 * 1024
    # Roster CSVs are larger than other uploads (a million people is ~130 MB); checked by size
    # before the body is read. The worker looks for queued imports every ROSTER_POLL_SECONDS.
    ROSTER_MAX_MB = _int_env("ROSTER_MAX_MB", 150)
    ROSTER_POLL_SECONDS = _int_env("ROSTER_POLL_SECONDS", 5)
    # A vendor's file of identity-protection enrollment codes (issue 23), read whole.
    CODES_MAX_MB = _int_env("CODES_MAX_MB", 5)
    # Helper processes that normalise, encrypt and stage a big roster import (files of 4 MB
    # and more): one per CPU, at most two, none on one CPU. 0 turns them off.
    ROSTER_IMPORT_WORKERS = _int_env(
        "ROSTER_IMPORT_WORKERS", min(os.cpu_count() or 1, 2) if (os.cpu_count() or 1) > 1 else 0
    )
    # Audit chain (issue 24): signed checkpoints of the head, written outside the database every
    # AUDIT_CHECKPOINT_MINUTES (to AUDIT_CHECKPOINT_DIR, default FILE_STORE_DIR/audit-checkpoints,
    # and the log); AUDIT_CHECKPOINT_EMAIL=true also mails each one to the privacy officers.
    AUDIT_CHECKPOINT_DIR = os.environ.get("AUDIT_CHECKPOINT_DIR", "")
    AUDIT_CHECKPOINT_MINUTES = _int_env("AUDIT_CHECKPOINT_MINUTES", 60)
    AUDIT_CHECKPOINT_EMAIL = os.environ.get("AUDIT_CHECKPOINT_EMAIL", "false").lower() in (
        "1",
        "true",
        "yes",
    )
    SCHEDULER_HEARTBEAT_SECONDS = _int_env("SCHEDULER_HEARTBEAT_SECONDS", 30)
    REMINDER_SWEEP_MINUTES = _float_env("REMINDER_SWEEP_MINUTES", 1)  # 0.25: every 15 s
    SQLITE_BUSY_TIMEOUT_MS = 10000
    # Reminder email (issue 9). Empty SMTP_HOST: reminders are in-app only (warned at start).
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = _int_env("SMTP_PORT", 587)
    SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "true").lower() in ("1", "true", "yes")
    SMTP_SSL = os.environ.get("SMTP_SSL", "false").lower() in ("1", "true", "yes")
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_TIMEOUT_SECONDS = _int_env("SMTP_TIMEOUT_SECONDS", 10)
    MAIL_FROM = os.environ.get("MAIL_FROM", "breachdesk@localhost")
    APP_BASE_URL = os.environ.get("APP_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    EMAIL_RETRY_MAX_MINUTES = _int_env("EMAIL_RETRY_MAX_MINUTES", 60)
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Mail merge (issue 8): how often the Mailing tab polls; render processes per worker.
    MAIL_MERGE_POLL_SECONDS = _int_env("MAIL_MERGE_POLL_SECONDS", 5)
    MAIL_MERGE_RENDER_PROCESSES = _int_env("MAIL_MERGE_RENDER_PROCESSES", 1)
    # REST API (/api/v1): per-token fixed-window rate limit and the largest JSON body.
    API_RATE_LIMIT = _int_env("API_RATE_LIMIT", 120)
    API_RATE_WINDOW_SECONDS = _int_env("API_RATE_WINDOW_SECONDS", 60)
    API_MAX_BODY_BYTES = _int_env("API_MAX_BODY_BYTES", 256 * 1024)


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # Without SECRET_KEY, the factory keeps a generated one in instance/secret_key.
    SESSION_COOKIE_SECURE = False


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    DATABASE_URL = "sqlite://"
    SESSION_COOKIE_SECURE = False
    # Cheap hashes for fixtures only; production keeps the defaults above.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1


class ProductionConfig(Config):
    ENV_NAME = "production"
    HSTS = True
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}


def config_from_env() -> type[Config]:
    """The config class named by APP_ENV (development by default)."""
    name = os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError as error:
        raise SystemExit(f"APP_ENV must be one of {sorted(CONFIGS)}, got {name!r}") from error
