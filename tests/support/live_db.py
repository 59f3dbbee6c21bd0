"""Helpers for tests on a live database (the `live_app` fixture of tests/conftest.py): another
connection's long write, and whether the write lock is free."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from flask import Flask

from incident_app.db import make_engine
from incident_app.models.user import User


def backend(app: Flask) -> str:
    return str(app.extensions["engine"].dialect.name)


class Writer(threading.Thread):
    """Another process's long write: holds the write lock (SQLite) / a row lock (PostgreSQL)
    on the users table for `seconds`, then commits."""

    def __init__(self, app: Flask, seconds: float) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(app.config["DATABASE_URL"], busy_timeout_ms=5000)
        self.seconds = seconds
        self.holding = threading.Event()

    def run(self) -> None:
        with self.engine.connect() as connection:  # a raw begin() is BEGIN IMMEDIATE
            with connection.begin():
                connection.execute(sa.update(User).values(name=User.name))
                self.holding.set()
                time.sleep(self.seconds)
        self.engine.dispose()

    def __enter__(self) -> Writer:
        self.start()
        assert self.holding.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.join(30)


def write_lock_is_free(app: Flask, *, no_reader: bool = False) -> bool:
    """SQLite: another connection can take the write lock at once (and with `no_reader`, no
    connection holds a read snapshot either: a write followed by a TRUNCATE checkpoint,
    which no open transaction lets finish). PostgreSQL: no other connection of this
    database sits in an open transaction."""
    engine = make_engine(app.config["DATABASE_URL"], busy_timeout_ms=0)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                try:
                    with connection.begin():  # BEGIN IMMEDIATE
                        connection.execute(sa.update(User).values(name=User.name))
                except sa.exc.OperationalError:
                    return False
                if no_reader:
                    raw = connection.connection.dbapi_connection  # outside any transaction
                    assert raw is not None
                    busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    return bool(busy[0] == 0)
                return True
            stuck = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
            ).scalar_one()
            return stuck == 0
    finally:
        engine.dispose()
