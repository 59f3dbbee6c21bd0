"""Throwaway PostgreSQL databases for tests that need a real, empty, separately-migrated
database (migrations, backups, killed worker processes) next to the shared test database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from config import TestConfig
from incident_app import create_app
from incident_app.db import Base
from incident_app.db import make_engine
from incident_app.models.audit import GENESIS_HASH
from incident_app.models.audit import AuditChainHead


@contextmanager
def scratch_postgres(prefix: str, count: int = 1) -> Iterator[list[str]]:
    """Create `count` empty databases on TEST_DATABASE_URL's server and drop them after.
    Skips the test when TEST_DATABASE_URL is not set."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(f"TEST_DATABASE_URL not set: PostgreSQL {prefix} test skipped")
    server = sa.engine.make_url(base)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # says whose a leftover is
    names = [f"bd_{prefix}_{worker}_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield [server.set(database=n).render_as_string(hide_password=False) for n in names]
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def real_app(url: str, tmp_path: Path) -> Flask:
    """An app on a real database (the schema created, the audit chain started) with its own
    engine and connections: for tests where workers or threads must really run side by side
    instead of inside the shared test transaction."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(AuditChainHead).values(id=1, seq=0, last_hash=GENESIS_HASH))
    engine.dispose()
    config = type(
        "RealConfig",
        (TestConfig,),
        {
            "DATABASE_URL": url,
            "INSTANCE_DIR": tmp_path / "instance",
            "FILE_STORE_DIR": tmp_path / "files",
        },
    )
    return create_app(config)
