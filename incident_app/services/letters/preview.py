"""A letter read in the page: page images of the exact stored bytes, its text, and what
changed since the last approved version.

The images are rasterised from the stored PDF after its SHA-256 is verified, so what the
reviewer reads is what they approve (letters/raster.py). Every page image served is an audited
PHI read; the page's own read is audited by reading.letter_page.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlalchemy.orm import Session

from incident_app.errors import NotFound
from incident_app.letters.pdf import pdf_text
from incident_app.letters.raster import PreviewUnavailable
from incident_app.letters.raster import page_count
from incident_app.letters.raster import page_png
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterVersion
from incident_app.models.user import User
from incident_app.services.letters.access import visible_letter
from incident_app.services.letters.review import LetterIntegrityFailed
from incident_app.services.letters.trail import audit_read
from incident_app.storage import FileStore
from incident_app.storage import StorageError

DiffRow = tuple[str, str, str]  # (same|changed|removed|added, old line, new line)


@dataclass(frozen=True)
class Preview:
    version: LetterVersion
    pages: int  # 0 when no image can be made (see `problem`)
    problem: str
    lines: list[str]  # the version's text, for screen readers and searching
    baseline: LetterVersion | None  # the last approved version, when it is another one
    changes: list[DiffRow] = field(default_factory=list)  # only the rows that differ


def preview_of(store: FileStore, letter: Letter) -> Preview | None:
    """The current version's preview and its changes against the last approved version.
    Reads the store; no audit (the caller's read is audited)."""
    version = letter.current_version
    if version is None:
        return None
    try:
        data = store.read_verified(version.sha256)
    except StorageError as error:
        return Preview(version, 0, f"The stored PDF failed its check: {error}", [], None)
    lines = text_lines(data)
    try:
        pages, problem = page_count(data), ""
    except PreviewUnavailable as error:
        pages, problem = 0, str(error)
    baseline = letter.approved_version
    if baseline is None or baseline.id == version.id:
        return Preview(version, pages, problem, lines, None)
    try:
        old = text_lines(store.read_verified(baseline.sha256))
    except StorageError as error:
        problem = f"The approved version's stored PDF failed its check: {error}"
        return Preview(version, pages, problem, lines, baseline)
    changes = [row for row in side_by_side(old, lines) if row[0] != "same"]
    return Preview(version, pages, problem, lines, baseline, changes)


def page_image(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    version_id: int,
    page: int,
    store: FileStore,
) -> bytes:
    """PNG of one page of one version, rasterised from the verified stored bytes. Audited.
    Raises NotFound, LetterIntegrityFailed (audited refusal), PreviewUnavailable. Commits."""
    letter = visible_letter(session, actor, incident_id, letter_id)
    version = session.get(LetterVersion, version_id)
    if version is None or version.letter_id != letter.id:
        raise NotFound("No such version of this letter.")
    details = {"version": version.number, "sha256": version.sha256, "page": page}
    try:
        data = store.read_verified(version.sha256)
    except StorageError as error:
        audit_read(
            session, letter, "letter.page_refused", actor, now, {**details, "reason": str(error)}
        )
        session.commit()
        raise LetterIntegrityFailed(
            f"The stored PDF of {letter.document_id} version {version.number} no longer "
            "matches its SHA-256; no image is shown."
        ) from error
    image = page_png(data, page)
    audit_read(session, letter, "letter.page_viewed", actor, now, details)
    session.commit()
    return image


def text_lines(data: bytes) -> list[str]:
    return [line.rstrip() for line in pdf_text(data).splitlines() if line.strip()]


def side_by_side(old: list[str], new: list[str]) -> list[DiffRow]:
    """difflib opcodes as rows: ("same"|"changed"|"removed"|"added", old line, new line)."""
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        left, right = old[i1:i2], new[j1:j2]
        label = {"equal": "same", "replace": "changed", "delete": "removed", "insert": "added"}[tag]
        for index in range(max(len(left), len(right))):
            rows.append(
                (
                    label,
                    left[index] if index < len(left) else "",
                    right[index] if index < len(right) else "",
                )
            )
    return rows
