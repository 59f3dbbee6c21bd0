"""Rendering mail-merge letters: the fast batch path of `letters.merge_letters`, redone letter by
letter for a group it refuses so one bad name fails one letter, with their page counts (the
renderer's, not re-read from each PDF: parsing every letter again cost ~1.4 ms a letter) and
the parts each was written from (the chunk's print file is built from them, not re-parsed)."""

from __future__ import annotations

from collections.abc import Generator
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from incident_app import letters
from incident_app.errors import ValidationFailed
from incident_app.services.mail_merge.planning import Entry

GROUP = 50  # letters per render call, and per transaction inside a chunk
RENDER_ERRORS = (ValidationFailed, letters.LetterRenderError)


class Rendered(NamedTuple):
    entry: Entry
    pdf: bytes | None  # None: it failed, for `reason`
    parts: letters.LetterParts | None  # what the PDF was written from, when at hand
    reason: str
    pages: int


def render_all(
    template_name: str,
    common: dict[str, Any],
    items: Sequence[tuple[Entry, letters.RecipientContext]],
    *,
    processes: int = 1,
    snapshot: letters.TemplateSnapshot | None = None,
) -> Generator[Rendered, None, None]:
    """One Rendered per item, in order, through the fast batch path; from the batch's
    template snapshot when given (else the files on disk).

    letters.merge_letters stops at the first recipient it refuses or cannot lay out; the group
    it was rendering is then redone letter by letter, so one bad name fails one letter.
    """
    start = 0
    while start < len(items):
        rest = items[start:]
        try:
            results = letters.merge_letters(
                template_name,
                common,
                [r for _, r in rest],
                workers=processes,
                chunk_size=GROUP,
                snapshot=snapshot,
            )
            for (entry, _), merged in zip(rest, results, strict=False):
                start += 1
                pages = letters.batch_page_count(template_name, common, snapshot)
                yield Rendered(entry, merged.pdf, merged.parts, "", pages)
        except RENDER_ERRORS:
            yield from _one_by_one(template_name, common, items[start : start + GROUP], snapshot)
            start += GROUP


def _one_by_one(
    template_name: str,
    common: dict[str, Any],
    items: Sequence[tuple[Entry, letters.RecipientContext]],
    snapshot: letters.TemplateSnapshot | None,
) -> Generator[Rendered, None, None]:
    for entry, recipient in items:
        try:
            [merged] = list(
                letters.merge_letters(template_name, common, [recipient], snapshot=snapshot)
            )
        except RENDER_ERRORS as error:
            yield Rendered(entry, None, None, f"The letter could not be laid out: {error}", 0)
        else:
            pages = letters.batch_page_count(template_name, common, snapshot)
            yield Rendered(entry, merged.pdf, merged.parts, "", pages)
