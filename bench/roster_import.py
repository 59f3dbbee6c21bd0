"""Roster import throughput: the real import service against a raw insert of the same rows.

    .venv/bin/python bench/roster_import.py --rows 1000000

Generates a seeded synthetic roster (accents, apostrophes, ~2 % bad rows, a few duplicates,
deceased people with next of kin, minors), imports it through the real services
(`roster_upload.create_import` + the worker's `run_next`: upload checks, encrypted file store,
normalising, AES-GCM per person, blind indexes, staging, duplicate merge, counts, obligations)
into a fresh SQLite database, then — when BENCH_DATABASE_URL or TEST_DATABASE_URL is set — into
that PostgreSQL database (its tables are dropped and recreated: use a throwaway database).

The baseline, timed in the same run, reads the same CSV with the csv module and inserts every
field as text without validation or encryption: sqlite3 `executemany` in batches of the same
size, PostgreSQL `COPY`. The last line is machine-readable:

    roster_import: rows=<N> sqlite_s=<s> sqlite_rows_per_s=<r> vs_raw=<ratio> peak_rss_mb=<m> \
      final_lock_ms=<f> max_lock_ms=<l>

(vs_raw = raw seconds / import seconds, so 0.25 means the import takes four times as long.)
The import's session begins deferred transactions, as the worker job's does; `final_lock_ms`
is how long (SQLite) the final transaction (flip, recount, obligations, audit) held the write
lock, `max_lock_ms` the longest hold of the whole import (db.py's lock log).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import incident_app.models  # noqa: E402, F401  (registers every table)
from config import Config  # noqa: E402
from incident_app import clock  # noqa: E402
from incident_app import db  # noqa: E402
from incident_app.crypto import KeyRing  # noqa: E402
from incident_app.db import Base  # noqa: E402
from incident_app.db import make_engine  # noqa: E402
from incident_app.demo.roster_files import ROSTER_HEADER  # noqa: E402
from incident_app.demo.roster_files import write_roster  # noqa: E402
from incident_app.models.incident import Incident  # noqa: E402
from incident_app.models.incident import IncidentMember  # noqa: E402
from incident_app.models.roster import ImportMode  # noqa: E402
from incident_app.models.user import Role  # noqa: E402
from incident_app.models.user import User  # noqa: E402
from incident_app.services.roster import staging as roster_staging  # noqa: E402
from incident_app.services.roster import upload as roster_upload  # noqa: E402
from incident_app.services.roster import worker as roster_worker  # noqa: E402
from incident_app.storage import FileStore  # noqa: E402
from tests.support.audit_helpers import audit_info  # noqa: E402
from tests.support.audit_helpers import create_chain_head  # noqa: E402

# The generator lives with the demo seed so `flask demo seed` imports the same kind of roster.
HEADER = ROSTER_HEADER


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def fresh_database(url: str) -> sa.Engine:
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    create_chain_head(engine)  # as migration 0001 does
    return engine


class LockHolds(logging.Handler):
    """db.py's write-lock log, every hold (LOCK_LOG_MS=0): (ms, first statement)."""

    def __init__(self) -> None:
        super().__init__()
        self.holds: list[tuple[float, str]] = []
        db.LOCK_LOG_MS = 0
        logger = logging.getLogger("breachdesk.db.lock")
        logger.addHandler(self)
        logger.setLevel(logging.WARNING)
        logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        held_ms, first = record.args  # type: ignore[misc]
        self.holds.append((float(held_ms), str(first)))

    def final_ms(self) -> float:
        """The final transaction's hold: it begins by locking the import row."""
        finals = [ms for ms, first in self.holds if first.startswith("SELECT roster_import.id")]
        return finals[-1] if finals else 0.0


def run_import(
    engine: sa.Engine, csv_path: Path, work: Path, workers: int = 0
) -> tuple[float, object]:
    """Upload + worker run through the real services; returns (seconds, finished import)."""
    ring = KeyRing([("bench", os.urandom(32))], os.urandom(32))
    store = FileStore(work / f"files-{engine.dialect.name}", ring)
    with Session(
        engine,
        expire_on_commit=False,
        execution_options={db.BEGIN_OPTION: db.DEFERRED},
        info=audit_info(work / "instance"),  # signs audit events as the app would
    ) as session:
        now = clock.utcnow()
        user = User(
            email="bench@example.org",
            name="Bench",
            role=Role.PRIVACY_OFFICER,
            password_hash="-",
            created_at=now,
        )
        session.add(user)
        session.flush()
        incident = Incident(
            reference="BENCH-1",
            title="Bench",
            discovered_on=date(2025, 9, 15),
            created_by_id=user.id,
            created_at=now,
            updated_at=now,
        )
        session.add(incident)
        session.flush()
        session.add(IncidentMember(incident_id=incident.id, user_id=user.id, case_role="lead"))
        session.commit()
        start = time.perf_counter()
        with csv_path.open("rb") as upload:
            roster_upload.create_import(
                session,
                actor=user,
                now=clock.utcnow(),
                incident_id=incident.id,
                upload=upload,
                filename=csv_path.name,
                mode=ImportMode.REPLACE,
                store=store,
                max_bytes=1 << 40,
            )
        record = roster_worker.run_next(
            session, keyring=ring, store=store, clock=clock.utcnow, workers=workers
        )
        return time.perf_counter() - start, record


def raw_sqlite(csv_path: Path, db_path: Path, batch: int) -> float:
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    columns = ", ".join(f"c{i} TEXT" for i in range(len(HEADER) + 1))
    connection.execute(f"CREATE TABLE raw ({columns})")
    insert = f"INSERT INTO raw VALUES ({', '.join('?' * (len(HEADER) + 1))})"
    start = time.perf_counter()
    for rows in _raw_batches(csv_path, batch):
        connection.execute("BEGIN")
        connection.executemany(insert, rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def _raw_batches(csv_path: Path, batch: int):
    width = len(HEADER) + 1
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows: list[list[str]] = []
        for record in reader:
            rows.append((record + [""] * width)[:width])
            if len(rows) >= batch:
                yield rows
                rows = []
        if rows:
            yield rows


def raw_postgresql(engine: sa.Engine, csv_path: Path) -> float:
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER) + 1))
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS bench_raw")
        connection.exec_driver_sql(f"CREATE TABLE bench_raw ({columns})")
    start = time.perf_counter()
    with engine.begin() as connection:
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy("COPY bench_raw FROM STDIN") as copy:
            for rows in _raw_batches(csv_path, 5000):
                for row in rows:
                    copy.write_row(row)
    elapsed = time.perf_counter() - start
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE bench_raw")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument(
        "--workers",
        type=int,
        default=Config.ROSTER_IMPORT_WORKERS,
        help="helper processes that normalise, encrypt and stage (default: "
        "ROSTER_IMPORT_WORKERS, what the worker job uses; 0: all in the "
        "importing process)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as folder:
        work = Path(folder)
        csv_path = work / "roster.csv"
        started = time.perf_counter()
        write_roster(csv_path, args.rows, args.seed)
        print(
            f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )

        raw_s = raw_sqlite(csv_path, work / "raw.sqlite", roster_staging.BATCH_ROWS)
        print(f"sqlite raw executemany: {raw_s:.2f} s", flush=True)
        engine = fresh_database(f"sqlite:///{work / 'bench.sqlite'}")
        holds = LockHolds()
        sqlite_s, record = run_import(engine, csv_path, work, args.workers)
        engine.dispose()
        print(f"sqlite import: {sqlite_s:.2f} s — {record.message}", flush=True)
        for ms, first in sorted(holds.holds, reverse=True)[:8]:
            print(f"  longest write-lock holds: {ms:.0f} ms, first: {first[:70]}", flush=True)

        pg_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
        if pg_url:
            pg_engine = fresh_database(pg_url)
            pg_raw = raw_postgresql(pg_engine, csv_path)
            pg_s, pg_record = run_import(pg_engine, csv_path, work, args.workers)
            Base.metadata.drop_all(pg_engine)
            pg_engine.dispose()
            print(
                f"postgresql raw COPY: {pg_raw:.2f} s; import: {pg_s:.2f} s "
                f"({args.rows / pg_s:,.0f} rows/s, vs_raw={pg_raw / pg_s:.3f}) — "
                f"{pg_record.message}",
                flush=True,
            )

    print(f"finished at {datetime.now(UTC):%H:%M:%S} UTC, workers={args.workers}", flush=True)
    # peak_rss_mb: the largest of the importing process and each helper process (every one
    # is a process of its own); both are printed here. A helper's figure can only be too
    # high: started between fork and exec, it counts as big as this process was then.
    own, helper = peak_rss_mb(), peak_rss_mb(resource.RUSAGE_CHILDREN)
    print(
        f"importing process peak_rss_mb={own:.0f}, largest helper peak_rss_mb={helper:.0f}",
        flush=True,
    )
    print(
        f"roster_import: rows={args.rows} sqlite_s={sqlite_s:.2f} "
        f"sqlite_rows_per_s={args.rows / sqlite_s:.0f} vs_raw={raw_s / sqlite_s:.3f} "
        f"peak_rss_mb={max(own, helper):.0f} final_lock_ms={holds.final_ms():.0f} "
        f"max_lock_ms={max((ms for ms, _ in holds.holds), default=0):.0f}"
    )


if __name__ == "__main__":
    main()
