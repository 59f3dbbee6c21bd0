"""Import OCR's public breach listing into the reference table, idempotently (the pure
parsing and narrative classification are in ocr_parsing).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.models.ocr import OcrBreach
from incident_app.models.ocr import OcrBreachTag
from incident_app.models.ocr import TagKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.peers.ocr_parsing import BadRow
from incident_app.services.peers.ocr_parsing import check_header
from incident_app.services.peers.ocr_parsing import parse_row

SHIPPED_CSV = Path(__file__).resolve().parents[3] / "data" / "ocr_breach_report.csv"
FLUSH_EVERY = 500


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # the same OCR row twice in one file: imported once
    rejected: list[RejectedRow] = field(default_factory=list)
    file_sha256: str = ""

    @property
    def skipped(self) -> int:
        return self.unchanged + self.duplicates + len(self.rejected)


def import_file(
    session: Session,
    *,
    path: Path,
    actor: User | None,
    now: datetime,
    actor_label: str | None = None,
) -> ImportReport:
    """Import OCR's listing from `path`, idempotently; commits once with one audit event.

    Broken rows are skipped and listed in the report; a file that is not OCR's listing
    (wrong header, not CSV) raises ValidationFailed and nothing is written.
    """
    if not path.is_file():
        raise ValidationFailed(f"No such file: {path}", field="path")
    report = ImportReport(file_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
        try:
            _import_rows(session, stream, report)
        except ValidationFailed:
            session.rollback()
            raise
    _mark_repeated_filings(session)
    audit.record(
        session,
        actor=actor,
        actor_label=actor_label,
        action="ocr.imported",
        at=now,
        subject_type="ocr_breach",
        details={
            "file": path.name,
            "sha256": report.file_sha256,
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "duplicates": report.duplicates,
            "rejected": len(report.rejected),
            "rejected_lines": [row.line for row in report.rejected[:50]],
        },
    )
    session.commit()
    return report


def _import_rows(session: Session, stream: TextIO, report: ImportReport) -> None:
    reader = csv.reader(stream)
    line = 1
    try:
        width = check_header(next(reader, None))
        known = {
            key: (row_id, digest)
            for key, row_id, digest in session.execute(
                sa.select(OcrBreach.row_key, OcrBreach.id, OcrBreach.content_hash)
            )
        }
        seen: set[str] = set()
        pending: list[OcrBreach] = []
        line = reader.line_num + 1
        for fields in reader:
            _import_one(session, fields, line, width, known, seen, pending, report)
            line = reader.line_num + 1
            if len(pending) >= FLUSH_EVERY:
                _flush(session, pending)
        _flush(session, pending)
    except csv.Error as error:
        raise ValidationFailed(
            f"Line {line}: the file cannot be read as CSV ({error}). Nothing was imported.",
            field="path",
        ) from error


def _import_one(
    session: Session,
    fields: list[str],
    line: int,
    width: int,
    known: dict[str, tuple[int, str]],
    seen: set[str],
    pending: list[OcrBreach],
    report: ImportReport,
) -> None:
    if not any(value.strip() for value in fields):
        return  # a blank line
    try:
        parsed = parse_row(fields, width=width)
    except BadRow as problem:
        report.rejected.append(RejectedRow(line, str(problem)))
        return
    if parsed.row_key in seen:
        report.duplicates += 1
        return
    seen.add(parsed.row_key)
    columns = parsed.columns()
    existing = known.get(parsed.row_key)
    if existing is None:
        pending.append(_new_breach(columns, parsed.tags()))
        report.inserted += 1
    elif existing[1] != columns["content_hash"]:
        _update_breach(session.get_one(OcrBreach, existing[0]), columns, parsed.tags())
        report.updated += 1
    else:
        report.unchanged += 1


def _new_breach(columns: dict[str, object], tags: set[tuple[TagKind, str]]) -> OcrBreach:
    breach = OcrBreach(**columns)
    breach.tags = [OcrBreachTag(kind=kind, value=value) for kind, value in sorted(tags)]
    return breach


def _update_breach(
    breach: OcrBreach, columns: dict[str, object], tags: set[tuple[TagKind, str]]
) -> None:
    for name, value in columns.items():
        setattr(breach, name, value)
    breach.tags = [tag for tag in breach.tags if (tag.kind, tag.value) in tags]
    present = {(tag.kind, tag.value) for tag in breach.tags}
    breach.tags.extend(OcrBreachTag(kind=k, value=v) for k, v in sorted(tags - present))


def _flush(session: Session, pending: list[OcrBreach]) -> None:
    """Write a batch and forget it, so memory stays flat however long the file is."""
    session.add_all(pending)
    session.flush()
    for breach in pending:
        session.expunge(breach)
    pending.clear()


def _mark_repeated_filings(session: Session) -> None:
    repeated = (
        sa.select(OcrBreach.filing_key).group_by(OcrBreach.filing_key).having(sa.func.count() > 1)
    )
    is_repeated = OcrBreach.filing_key.in_(repeated)
    session.execute(
        sa.update(OcrBreach)
        .where(OcrBreach.repeated_filing != is_repeated)
        .values(repeated_filing=is_repeated)
        .execution_options(synchronize_session=False)
    )


def breach_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(OcrBreach)) or 0
