"""Mail merge: many recipients of one template, each as a standalone PDF.

A variable-data printer's trick. In a mail-merge letter only four fixed-size boxes depend on
the recipient (address window, reference line, salutation, footer letter id); the body —
95% of the layout work — is the same for everyone. So the batch lays the body out ONCE
(mode "base": empty boxes), renders all recipients' boxes of a chunk in ONE cheap WeasyPrint
pass (mode "overlay": the boxes alone, at the same places, one section per recipient with the
same page count), and stamps overlay pages onto copies of the shared pages (pdf.py). Every
recipient still gets a standalone PDF. Chunks run in a process pool, one FontConfiguration
per worker. Given a TemplateSnapshot (snapshot.py), everything is rendered from the snapshot's
files: a batch prints the approved template version whatever happens on disk meanwhile.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any
from typing import NamedTuple
from typing import TypedDict

from incident_app.letters.contexts import RecipientContext
from incident_app.letters.pdf import LetterParts
from incident_app.letters.pdf import SerialisedPdf
from incident_app.letters.pdf import base_parts
from incident_app.letters.pdf import stamp_letter_parts
from incident_app.letters.render import LetterRenderError
from incident_app.letters.render import font_config
from incident_app.letters.render import is_exercise
from incident_app.letters.render import render_mode
from incident_app.letters.render import write_pdf
from incident_app.letters.snapshot import TemplateSnapshot
from incident_app.letters.templates import MERGE_TEMPLATES
from incident_app.letters.validation import validate_recipient

DEFAULT_CHUNK = 100
_OVERLAY_HEAD = (
    '<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
    '<link rel="stylesheet" href="letters.css">'
    "<style>@page {{ @bottom-right {{ content: none; }} }}</style></head><body>"
)


class SharedLayout(TypedDict):
    template_name: str
    common: dict[str, Any]
    base_pdf: bytes
    page_count: int
    lang: str
    snapshot: TemplateSnapshot | None  # None: the files on disk


class Merged(NamedTuple):
    """One recipient's letter, and the parts it was written from (for the print file)."""

    letter_id: str
    pdf: bytes
    parts: LetterParts | None  # None from a process pool: not sent between processes


def render_batch(
    template_name: str,
    common_context: Mapping[str, Any],
    recipients: Sequence[RecipientContext],
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    snapshot: TemplateSnapshot | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield (letter_id, pdf_bytes) per recipient, in order; each PDF carries the same text
    as render_pdf(template_name, {**common_context, "recipient": recipient}). See
    merge_letters, which this is."""
    for merged in merge_letters(
        template_name,
        common_context,
        recipients,
        workers=workers,
        chunk_size=chunk_size,
        snapshot=snapshot,
    ):
        yield merged.letter_id, merged.pdf


def merge_letters(
    template_name: str,
    common_context: Mapping[str, Any],
    recipients: Sequence[RecipientContext],
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    snapshot: TemplateSnapshot | None = None,
) -> Iterator[Merged]:
    """render_batch's letters with their parts (None when rendered in a process pool).

    `workers` None or 1 renders in this process; more uses a process pool (fork), each worker
    with its own FontConfiguration. `snapshot`: render from the snapshot's files, not the
    disk's. Output is plain PDF 1.7, not PDF/A: archive copies come
    from render_pdf(..., archival=True). Raises
    ValidationFailed for a bad recipient (before any rendering) and ValueError for a template
    that is not a mail-merge template.
    """
    if template_name not in MERGE_TEMPLATES:
        raise ValueError(f"{template_name} is not a mail-merge template")
    for recipient in recipients:
        validate_recipient(recipient)
    layout = shared_layout(template_name, common_context, snapshot)
    chunks = [list(recipients[i : i + chunk_size]) for i in range(0, len(recipients), chunk_size)]
    if not workers or workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield from _merge_chunk(layout, chunk)
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(layout,)
    ) as pool:
        for results in pool.map(_merge_chunk_in_worker, chunks):
            yield from results


_LAYOUTS: dict[str, SharedLayout] = {}
_LAYOUTS_KEPT = 4


def shared_layout(
    template_name: str,
    common_context: Mapping[str, Any],
    snapshot: TemplateSnapshot | None = None,
) -> SharedLayout:
    """The body laid out once, with empty recipient boxes; kept for the last few bodies, so a
    worker rendering chunk after chunk of one mailing lays its body out once, not per chunk
    (a full letter's layout, ~0.25 s). Kept by template, snapshot version and context."""
    version = "disk" if snapshot is None else snapshot.version
    key = "\0".join(
        (template_name, version, json.dumps(common_context, sort_keys=True, default=repr))
    )
    layout = _LAYOUTS.get(key)
    if layout is None:
        if len(_LAYOUTS) >= _LAYOUTS_KEPT:
            _LAYOUTS.clear()
        layout = _LAYOUTS[key] = _shared_layout(template_name, common_context, snapshot)
    return layout


def batch_page_count(
    template_name: str,
    common_context: Mapping[str, Any],
    snapshot: TemplateSnapshot | None = None,
) -> int:
    """Pages of every letter render_batch makes of this template and context (each recipient's
    boxes are stamped on the same body pages; a recipient that would add a page is refused)."""
    return shared_layout(template_name, common_context, snapshot)["page_count"]


def _shared_layout(
    template_name: str, common_context: Mapping[str, Any], snapshot: TemplateSnapshot | None
) -> SharedLayout:
    html = render_mode(template_name, common_context, mode="base", snapshot=snapshot)
    # An exercise's EXERCISE header is on the base pages every recipient's boxes are stamped on.
    base_pdf, page_count = write_pdf(html, exercise=is_exercise(common_context), snapshot=snapshot)
    lang_match = re.search(r'<html lang="([a-z-]+)"', html)
    return {
        "template_name": template_name,
        "common": dict(common_context),
        "base_pdf": base_pdf,
        "page_count": page_count,
        "lang": lang_match.group(1) if lang_match else "en",
        "snapshot": snapshot,
    }


def _overlay_html(layout: SharedLayout, chunk: Sequence[RecipientContext]) -> str:
    sections = [
        render_mode(
            layout["template_name"],
            {**layout["common"], "recipient": recipient},
            mode="overlay",
            snapshot=layout["snapshot"],
            page_count=layout["page_count"],
        )
        for recipient in chunk
    ]
    return _OVERLAY_HEAD.format(lang=layout["lang"]) + "".join(sections) + "</body></html>"


def _merge_chunk(layout: SharedLayout, chunk: Sequence[RecipientContext]) -> list[Merged]:
    overlay_pdf, overlay_pages = write_pdf(
        _overlay_html(layout, chunk), snapshot=layout["snapshot"]
    )
    pages = layout["page_count"]
    if overlay_pages != pages * len(chunk):
        # A recipient box spilled onto an extra page: the stamps would no longer line up.
        raise LetterRenderError(
            f"Recipient overlay has {overlay_pages} pages, expected {pages * len(chunk)}."
        )
    base = base_parts(layout["base_pdf"])
    overlay = SerialisedPdf(overlay_pdf, offset=base["size"])
    return [
        Merged(recipient["letter_id"], *stamp_letter_parts(base, overlay, first_page=index * pages))
        for index, recipient in enumerate(chunk)
    ]


_worker_layout: SharedLayout | None = None


def _init_worker(layout: SharedLayout) -> None:
    global _worker_layout
    _worker_layout = layout
    font_config(layout["snapshot"])


def _merge_chunk_in_worker(chunk: Sequence[RecipientContext]) -> list[Merged]:
    assert _worker_layout is not None, "worker started without _init_worker"
    # The parts share the body's objects with every other letter: pickling them per letter
    # would cost more than the print file parsing the letter again.
    return [merged._replace(parts=None) for merged in _merge_chunk(_worker_layout, chunk)]
