"""Database plumbing: the Base, one engine + sessionmaker per app, a session per app context.

Transactions on SQLite (issue 18). WAL lets any number of readers run beside the one writer,
as long as reads do not take the write lock. The decision, and why:

- Every session (requests of any method, jobs, the CLI) begins *deferred* transactions: its
  reads never wait for a writer and never make one wait.
- Before its first write (INSERT/UPDATE/DELETE, or a savepoint, which exists to undo one) and
  before every SELECT … FOR UPDATE, the transaction *escalates*: the read transaction is
  ended (it wrote nothing, so COMMIT only drops its snapshot) and BEGIN IMMEDIATE takes the
  write lock, queueing behind the busy timeout. `writing(session)` does the same on request.
- Why not write inside the deferred transaction: one that read and then writes could fail at
  once with SQLITE_BUSY_SNAPSHOT (the busy timeout does not apply), which is why every
  transaction used to be BEGIN IMMEDIATE. Escalation never lets that happen; the audit-chain
  append locks the chain head FOR UPDATE, so even a GET that audits a PHI read reads the
  head inside the write lock and the chain cannot fork.
- What it costs: the work goes on in a fresh snapshot, so rows read before the first write
  may have changed — exactly PostgreSQL's default READ COMMITTED, under which this code
  already runs; code that needs a row to stay put locks it FOR UPDATE (a row lock there, the
  write lock here). So one rule holds on both backends, and the lock is held only from the
  first write to the commit: a login's password check, an upload's encryption, a page's
  rendering all happen before it. (A first version kept BEGIN IMMEDIATE for POST requests:
  the soak measured logins holding the lock ~0.8 s for the password hash.)
- Nothing may keep a transaction open while it waits on something slow: rendering, file I/O,
  a client reading a streamed response. Long jobs write in short transactions; downloads are
  gathered, the session is closed, then the bytes are sent (blueprints/_downloads.py).
- Raw `engine.connect()/begin()` (migrations, the tests' outer transaction) begins IMMEDIATE.
- Every statement goes through SQLAlchemy (`execute`, `exec_driver_sql`), never the driver's
  own cursor: the escalation above only sees what SQLAlchemy executes. A write on the raw
  cursor upgrades the read transaction in place and meets SQLITE_BUSY at once (the roster
  import's staging did, until issue 18's soak caught it; tests/services/roster/
  test_roster_import_locking.py). PostgreSQL's COPY is the one raw-cursor write.

Write-lock holds of at least BREACHDESK_LOCK_LOG_MS (default 2000) ms are logged on
"breachdesk.db.lock". PostgreSQL is untouched: none of the events above are installed on it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask import g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

lock_log = logging.getLogger("breachdesk.db.lock")

# The execution option naming how a SQLite transaction begins (sessions set it, see get_session).
BEGIN_OPTION = "breachdesk_sqlite_begin"
DEFERRED = "DEFERRED"
IMMEDIATE = "IMMEDIATE"
# Write-lock holds at least this long are logged on breachdesk.db.lock (bench/soak.py sets 0).
LOCK_LOG_MS = float(os.environ.get("BREACHDESK_LOCK_LOG_MS", "2000"))

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no time zones and hands back naive values; this type stores UTC and always
    returns an aware UTC datetime, so hashing and comparisons agree across backends.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_class: type, *, length: int = 40) -> sa.Enum:
    """Store a StrEnum by its readable value (not its Python name), without a native type."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def make_engine(url: str, *, busy_timeout_ms: int = 10000) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout, foreign keys and the transaction
    modes described in this module's docstring."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as error:
        raise SystemExit(f"DATABASE_URL is not a valid database URL: {url!r}") from error
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(url, **kwargs)
    _make_sqlite_transactional(engine, busy_timeout_ms=busy_timeout_ms, wal=not in_memory)
    return engine


def _make_sqlite_transactional(engine: Engine, *, busy_timeout_ms: int, wal: bool) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN: deferred or IMMEDIATE (see the docstring)."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    sa.event.listen(engine, "begin", _on_begin)
    sa.event.listen(engine, "before_cursor_execute", _before_execute)
    sa.event.listen(engine, "savepoint", _on_savepoint)
    sa.event.listen(engine, "commit", _released)
    sa.event.listen(engine, "rollback", _released)


def _on_begin(connection: sa.Connection) -> None:
    if connection.get_execution_options().get(BEGIN_OPTION, IMMEDIATE) == DEFERRED:
        connection.exec_driver_sql("BEGIN")
        connection.info[_STATE] = DEFERRED
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        _holding(connection)


def _before_execute(
    connection: sa.Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    state = connection.info.get(_STATE)
    if state == DEFERRED and _WRITE_STATEMENT.match(statement):
        _escalate(connection)
        state = connection.info.get(_STATE)
    if isinstance(state, float) and _FIRST not in connection.info:
        connection.info[_FIRST] = statement  # named in the lock log (what held it)


def _on_savepoint(connection: sa.Connection, _name: str) -> None:
    # A savepoint exists to undo a write: take the lock before it, not inside it.
    if connection.info.get(_STATE) == DEFERRED:
        _escalate(connection)


# Statements that write (SQLite has no SELECT … FOR UPDATE; see _for_update below).
_WRITE_STATEMENT = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b"
    r"|\s*WITH\b.*\b(INSERT|UPDATE|DELETE|REPLACE)\b",  # a CTE in front of a write
    re.I | re.S,
)
_STATE = "breachdesk_sqlite_txn"  # connection.info: DEFERRED while a read, else the lock start
_FIRST = "breachdesk_sqlite_first"  # connection.info: the first statement under the lock


def _holding(connection: sa.Connection) -> None:
    connection.info[_STATE] = time.perf_counter()
    connection.info.pop(_FIRST, None)


def _released(connection: sa.Connection) -> None:
    state = connection.info.pop(_STATE, None)
    first = connection.info.pop(_FIRST, "")
    if isinstance(state, float):
        held_ms = (time.perf_counter() - state) * 1000
        if held_ms >= LOCK_LOG_MS:
            lock_log.warning("write lock held %.0f ms (first: %s)", held_ms, first[:100])


def _escalate(connection: sa.Connection) -> None:
    """End the read (it wrote nothing, so COMMIT only drops its snapshot), then take the
    write lock: the unit of work goes on in a fresh snapshot, like PostgreSQL's READ
    COMMITTED, and never meets SQLITE_BUSY_SNAPSHOT. BEGIN IMMEDIATE waits for the busy
    timeout; if it times out, no transaction is open and SQLAlchemy's rollback is a no-op."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    connection.info.pop(_STATE, None)
    raw.execute("COMMIT")
    raw.execute("BEGIN IMMEDIATE")
    _holding(connection)


def writing(session: Session) -> None:
    """Take the write lock for `session`'s unit of work now (SQLite; nothing on PostgreSQL).

    Call it before the reads a write depends on (or lock a row with FOR UPDATE, which does
    the same). A read transaction already open is ended first, so what was read before this
    call may be stale: read again what the write depends on."""
    if session.get_bind().dialect.name != "sqlite":
        return
    connection = session.connection()
    if connection.info.get(_STATE) == DEFERRED and not connection.in_nested_transaction():
        _escalate(connection)


@sa.event.listens_for(Session, "do_orm_execute")
def _for_update(state: ORMExecuteState) -> None:
    """SELECT … FOR UPDATE (row locks and SKIP LOCKED on PostgreSQL) takes SQLite's write lock
    before the select runs, so a claim or a chain-head read is never answered from a stale
    snapshot."""
    if state.is_select and getattr(state.statement, "_for_update_arg", None) is not None:
        writing(state.session)


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"], busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"]
    )
    app.extensions["engine"] = engine
    app.extensions["sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The session for the current app context, created on first use; on SQLite its
    transactions begin deferred and escalate before their first write (module docstring)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["sessionmaker"](
            execution_options={BEGIN_OPTION: DEFERRED}
        )
    return g.db_session


def end_session() -> None:
    """End the current app context's session (its transaction with it), e.g. before a
    response streams; a later get_session() in the same context starts a new one."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _close_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
