"""Shared fixtures: one engine per backend, one rolled-back transaction per test.

The suite runs on SQLite; with TEST_DATABASE_URL set (a throwaway PostgreSQL database) every
database test runs a second time on PostgreSQL ([sqlite] / [postgresql] in the test ids).
Under pytest-xdist (`-n auto` in pyproject.toml) each worker gets a PostgreSQL database of its
own, `<database>_gw0`, `<database>_gw1`, … on the same server (created when the worker starts,
dropped when it ends), and TEST_DATABASE_URL points at it inside that worker.
Code under test may commit: `join_transaction_mode="create_savepoint"` turns its commits into
savepoint releases inside the outer transaction that the fixture rolls back.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

import incident_app.models  # noqa: F401  (registers every table)
from config import TestConfig
from incident_app import create_app
from incident_app.db import Base
from incident_app.db import make_engine
from incident_app.models.audit import GENESIS_HASH
from incident_app.models.audit import AuditChainHead

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# Run first, so the longest tests do not end up last on one worker while the other idles.
HEAVY_FIRST = (
    "tests/browser/test_enrollment_codes_flow.py",
    "tests/browser/test_accessibility_sweep.py",
)


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = os.environ.get("TEST_DATABASE_URL")
    if not worker or not base:
        return
    url = sa.engine.make_url(base)
    name = f"{url.database}_{worker}"
    _admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    config.stash[_WORKER_DATABASE] = (base, name)
    os.environ["TEST_DATABASE_URL"] = url.set(database=name).render_as_string(hide_password=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    found = config.stash.get(_WORKER_DATABASE, None)
    if found is None:
        return
    base, name = found
    os.environ["TEST_DATABASE_URL"] = base
    _admin_sql(sa.engine.make_url(base), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by fixture parameters
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests first, the two longest at the very front (a stable sort: the rest keeps
    its order). Every xdist worker collects the same order, as xdist requires."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        if path in HEAVY_FIRST:
            return 0
        return 1 if item.get_closest_marker("browser") else 2

    items.sort(key=rank)


_WORKER_DATABASE = pytest.StashKey[tuple[str, str]]()


def _admin_sql(url: sa.engine.URL, *statements: str) -> None:
    """Statements on the server's `postgres` database, outside a transaction."""
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        admin.dispose()


def _fresh_schema(engine: sa.Engine) -> None:
    Base.metadata.drop_all(engine)  # tests only; production schema comes from Alembic
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(AuditChainHead).values(id=1, seq=0, last_hash=GENESIS_HASH))


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    url = "sqlite://" if request.param == "sqlite" else os.environ["TEST_DATABASE_URL"]
    engine = make_engine(url)
    _fresh_schema(engine)
    yield engine
    engine.dispose()


def make_config(engine: sa.Engine, tmp_path: Path, **overrides: object) -> type[TestConfig]:
    attrs = {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "INSTANCE_DIR": tmp_path / "instance",
        "FILE_STORE_DIR": tmp_path / "files",
        **overrides,
    }
    return type("PerTestConfig", (TestConfig,), attrs)


@pytest.fixture
def app(engine: sa.Engine, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(make_config(engine, tmp_path))
    app.extensions["engine"].dispose()
    app.extensions["engine"] = engine
    with engine.connect() as connection:
        transaction = connection.begin()
        app.extensions["sessionmaker"].configure(
            bind=connection, join_transaction_mode="create_savepoint"
        )
        yield app
        transaction.rollback()


@pytest.fixture
def session(app: Flask) -> Iterator[sa.orm.Session]:
    """For service tests only (no HTTP): an app context held for the whole test."""
    from incident_app.db import get_session

    with app.app_context():
        yield get_session()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture(params=BACKENDS)
def live_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on a database of its own that every connection really shares (issue 18: the
    usual fixtures run every test in one rolled-back transaction, where locks cannot be seen).
    Helpers for it: tests/support/live_db.py."""
    admin: sa.Engine | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.db'}"
    else:
        base = sa.engine.make_url(os.environ["TEST_DATABASE_URL"])
        name = f"bd_tx_{os.getpid()}_{secrets.token_hex(3)}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    _fresh_schema(engine)
    config = make_config(
        engine,
        tmp_path,
        SQLITE_BUSY_TIMEOUT_MS=300,
        JOB_LOCK_RETRY_SECONDS=(0.2, 0.4, 0.8, 1.0, 1.0),
    )
    engine.dispose()
    app = create_app(config)
    yield app
    app.extensions["engine"].dispose()
    if admin is not None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token from the form on `path` (tests post through the real forms)."""
    response = client.get(path)
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, f"no csrf_token on {path} (status {response.status_code})"
    return match.group(1)


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = "correct horse battery staple"):
        token = csrf_token(self._client, "/login")
        return self._client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def logout(self):
        token = csrf_token(self._client, "/")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
