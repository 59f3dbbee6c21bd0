"""An import's report: its rejected rows, warnings and merged duplicates, one CSV line each.

Written to a temporary file while the import runs (cells neutralised against formula injection
as they are written), and put in the encrypted file store just before the import commits.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.roster import RosterPerson
from incident_app.services.roster.normalise import neutralise_cell
from incident_app.services.roster.rows import MERGED
from incident_app.services.roster.rows import Issue
from incident_app.storage import FileStore

REPORT_HEADER = ("row", "column", "outcome", "reason", "value")


class ImportReport:
    """The report of one run, in a temporary file until `store` (closed by `close`)."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # closed by close(), via the wrapper
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=False)
        self._writer = csv.writer(self._text)
        self._writer.writerow(REPORT_HEADER)

    def add_issues(self, issues: Iterable[Issue]) -> None:
        for issue in issues:
            self._writer.writerow([neutralise_cell(v) for v in issue])

    def add_merged(self, session: Session, import_id: int) -> None:
        """One line per row of this import flagged as a duplicate, naming the row it repeats."""
        kept = sa.orm.aliased(RosterPerson)
        rows = session.execute(
            sa.select(RosterPerson.row_number, kept.row_number, kept.import_id)
            .join(kept, kept.id == RosterPerson.duplicate_of_id)
            .where(RosterPerson.import_id == import_id)
            .order_by(RosterPerson.row_number)
        )
        for row, kept_row, kept_import in rows:
            where = (
                f"row {kept_row}"
                if kept_import == import_id
                else (f"the existing roster (import {kept_import}, row {kept_row})")
            )
            self._writer.writerow(
                [
                    row,
                    "",
                    MERGED,
                    f"same person as {where} (same external id, or same name, date of "
                    "birth and address): merged, not counted twice",
                    "",
                ]
            )

    def store(self, store: FileStore) -> str:
        """Put the report in the file store; returns its SHA-256."""
        self._text.flush()
        self._file.seek(0)
        return store.put_stream(self._file, max_bytes=1 << 40).sha256

    def close(self) -> None:
        self._text.close()
