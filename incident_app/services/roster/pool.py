"""How roster records become staged rows: in the importing process, or in helper processes.

With helpers, the importing process reads and parses the CSV and stages what comes back, while
the helpers normalise and encrypt (roster_rows.RowBuilder) — the costly part, about three
quarters of the work. Chunks go out and come back in file order, a few per helper, so the
reject report, the row numbers and the memory bound are the same as with one process.
Helpers hold no database connection: every write stays in the importing process and its
transactions (all-or-nothing and cancelling work as without helpers).

Helpers are started with "spawn", never "fork": the scheduler process has threads and open
connections. They get the key ring's material as an initializer argument (pickled through a
pipe to a child of this process: never logged, never written anywhere).
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import sqlalchemy as sa

from incident_app.crypto import KeyRing
from incident_app.services.roster.rows import STAGED_COLUMNS
from incident_app.services.roster.rows import BuilderSpec
from incident_app.services.roster.rows import Built
from incident_app.services.roster.rows import RowBuilder

# Page cache while staging (KiB) on SQLite: most of the external-id index stays in memory.
# 64 MB was no faster at a million rows and cost the importing process 30 MB more.
SQLITE_CACHE_KIB = 32 * 1024
# Chunks in flight per helper: enough that a helper never waits for its next chunk, few
# enough that memory stays bounded however big the file.
CHUNKS_PER_WORKER = 3

Chunk = Sequence[tuple[int, list[str]]]
Material = tuple[tuple[tuple[str, bytes], ...], bytes]


def built_here(builder: RowBuilder, chunks: Iterable[Chunk]) -> Iterator[Built]:
    for chunk in chunks:
        yield builder.build_chunk(chunk)


def start_pool(workers: int, keyring: KeyRing, spec: BuilderSpec) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_helper,
        initargs=(keyring.material(), spec),
    )


def built_in_order(
    pool: ProcessPoolExecutor, workers: int, chunks: Iterable[Chunk]
) -> Iterator[Built]:
    """Each chunk's outcome in file order, with at most CHUNKS_PER_WORKER chunks per helper
    in flight (memory stays bounded however big the file)."""
    pending: deque[Future[Built]] = deque()
    for chunk in chunks:
        pending.append(pool.submit(_build_chunk, chunk))
        if len(pending) >= workers * CHUNKS_PER_WORKER:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def stage_rows(connection: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Bulk-insert staged rows (roster_rows.STAGED_COLUMNS order) on `connection`, inside the
    caller's transaction: COPY on PostgreSQL, executemany on SQLite. No ORM objects: this is
    the hot path of a million-row import."""
    driver = connection.connection.driver_connection
    columns = ", ".join(STAGED_COLUMNS)
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY roster_person ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    marks = ", ".join("?" * len(STAGED_COLUMNS))
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f"INSERT INTO roster_person ({columns}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def widen_sqlite_cache(connection: sa.Connection) -> int | None:
    """Give a SQLite connection a staging-sized page cache; returns the size it had (None on
    other databases)."""
    if connection.dialect.name != "sqlite":
        return None
    before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    return before


# -- inside a helper process -------------------------------------------------------------

_HELPER: dict[str, RowBuilder] = {}


def _start_helper(material: Material, spec: BuilderSpec) -> None:
    """Pool initializer: the key ring (one AESGCM object, the HMAC pads) and the RowBuilder,
    made once per helper process, not once per chunk."""
    data_keys, index_key = material
    _HELPER["builder"] = spec.builder(KeyRing(data_keys, index_key))
    # Building rows makes no reference cycles (str, bytes, tuples, flat dicts), so reference
    # counting frees everything; the cycle collector would only walk the chunks being
    # unpickled and built, again and again: measured 17 % of the helpers' CPU time at a
    # million rows (bench/roster_import.py).
    gc.disable()


def _build_chunk(chunk: Chunk) -> Built:
    return _HELPER["builder"].build_chunk(chunk)
