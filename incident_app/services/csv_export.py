"""One way to stream a table out as CSV: rows read in keyset batches (id > last id, by id, a
limited number per read, the session emptied between batches so memory stays flat), each row
turned into cells by the caller, every cell neutralised against formula injection.

Shared by the exports of several areas (the roster, the inquiry log); it reads only what the
caller's query selects, and neither audits nor checks access: the caller does both before the
first line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session

from incident_app.services.roster.normalise import neutralise_cell

T = TypeVar("T")


def csv_line(cells: Iterable[object]) -> str:
    """One CSV line, every cell neutralised against formula injection."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise_cell(cell) for cell in cells])
    return buffer.getvalue()


def keyset_batches(
    session: Session,
    query: sa.Select[T],
    *,
    key: InstrumentedAttribute[int],
    batch_size: int,
) -> Iterator[T]:
    """The entities `query` selects, in `key` order, `batch_size` per read; the session is
    emptied after each batch (the caller keeps nothing of a batch it has consumed)."""
    last: Any = 0
    while True:
        batch: Sequence[T] = session.scalars(
            query.where(key > last).order_by(key).limit(batch_size)
        ).all()
        if not batch:
            return
        yield from batch
        last = getattr(batch[-1], key.key)
        session.expunge_all()


def csv_lines(
    session: Session,
    *,
    header: Sequence[str],
    query: sa.Select[T],
    key: InstrumentedAttribute[int],
    cells: Callable[[T], Iterable[object]],
    batch_size: int,
) -> Iterator[str]:
    """The header line, then one line per selected entity (`cells` gives its cells)."""
    yield csv_line(header)
    for row in keyset_batches(session, query, key=key, batch_size=batch_size):
        yield csv_line(cells(row))
