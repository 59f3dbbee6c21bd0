"""How roster records become staged rows: in the importing process, or in helper processes.

With helpers, the importing process reads and parses the CSV and stages what comes back
(staging.py), while the helpers normalise and encrypt (roster_rows.RowBuilder) — the costly
part, about three quarters of the work. Chunks go out and come back in file order, a few per
helper, so the reject report, the row numbers and the memory bound are the same as with one
process. Helpers hold no database connection: every write stays in the importing process and
its transactions (all-or-nothing and cancelling work as without helpers).

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

from incident_app.crypto import KeyRing
from incident_app.services.roster.rows import BuilderSpec
from incident_app.services.roster.rows import Built
from incident_app.services.roster.rows import RowBuilder

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
