"""Read a PDF back as positioned text, so two PDFs can be compared line by line."""

from __future__ import annotations

from io import BytesIO

from pypdf import PageObject
from pypdf import PdfReader

Fragment = tuple[float, float, str]  # (distance from the top in pt, x in pt, text)


def positioned_text(pdf: bytes) -> list[list[Fragment]]:
    """Per page, every text fragment with its position, top to bottom then left to right.

    Sorting by position makes the result independent of the order in which content streams
    draw (a stamped overlay draws the recipient's boxes after the body)."""
    return [_page_fragments(page) for page in PdfReader(BytesIO(pdf)).pages]


def _page_fragments(page: PageObject) -> list[Fragment]:
    height = float(page.mediabox.height)
    fragments: list[Fragment] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            fragments.append((round(height - y, 1), round(x, 1), text.strip()))

    page.extract_text(visitor_text=visit)
    return sorted(fragments)
