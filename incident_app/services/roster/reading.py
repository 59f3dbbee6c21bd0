"""Reading a stored roster file in the worker: verified chunks → CSV records, row by row.

A file that stops being readable part-way (bytes that are not UTF-8, broken quoting, damaged
storage) raises ImportAborted naming the row, so the person knows where to look.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

from incident_app.storage import StorageError

Record = tuple[int, list[str]]  # (spreadsheet row, fields)

# Bytes that are not UTF-8 decode to this marker (a private-use character) and bump a counter,
# so the reader can name the row that holds them instead of the chunk the decoder was on.
_BAD_BYTE = "\U000f4bad"
_MARK_BAD_BYTES = "breachdesk-roster-mark"
_bad_bytes = [0]


def _mark_bad_bytes(error: UnicodeError) -> tuple[str, int]:
    _bad_bytes[0] += 1
    return _BAD_BYTE, error.end  # type: ignore[attr-defined]


codecs.register_error(_MARK_BAD_BYTES, _mark_bad_bytes)


class ImportAborted(Exception):
    """The file cannot be imported at all; the message says why and that nothing changed."""


def unreadable_store(error: StorageError) -> ImportAborted:
    return ImportAborted(
        f"The stored file could not be read: {error}. Nothing was imported; upload the file again."
    )


class ChunkReader(io.RawIOBase):
    """A file-like view of the file store's verified chunks, counting bytes consumed."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.consumed += size
        return size


def records(raw: ChunkReader, delimiter: str) -> Iterator[Record]:
    """(spreadsheet row, fields) of every non-blank data record; ImportAborted on a file
    that stops being readable part-way (not UTF-8, broken quoting, damaged storage)."""
    text = io.TextIOWrapper(
        io.BufferedReader(raw, 1 << 20),
        encoding="utf-8-sig",
        newline="",
        errors=_MARK_BAD_BYTES,
    )
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    row, seen_errors = 0, _bad_bytes[0]
    try:
        for row, record in enumerate(reader, start=1):
            # The decoder runs ahead of the reader: once it met a bad byte, look for the
            # marker in each record to name the exact row.
            if _bad_bytes[0] != seen_errors and any(_BAD_BYTE in f for f in record):
                raise ImportAborted(
                    f"Row {row} is not UTF-8 text (the file is probably partly Latin-1 or "
                    "Windows-1252). Save it as “CSV UTF-8” and upload it again. Nothing "
                    "was imported."
                )
            if row > 1 and record and (len(record) > 1 or record[0]):
                yield row, record
    except csv.Error as error:
        raise ImportAborted(
            f"Row {row + 1} cannot be read as CSV ({error}); check for an "
            "unclosed quote. Nothing was imported."
        ) from error
    except StorageError as error:
        raise unreadable_store(error) from error


def chunked(items: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
