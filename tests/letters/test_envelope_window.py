"""The letters against the #10 window envelope, measured on the rendered PDFs: the address
block keeps 1/8in inside the window on every side, nothing else shows through the window
when the sheet shifts 1/4in, and the archival PDFs are tagged (structure tree, language)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from incident_app import letters
from incident_app.letters import envelope
from tests.letters.pdf_lines import positioned_text
from tests.letters.samples import individual_context

POINT = 1 / 72  # inch
ASCENT, DESCENT = 0.75, 0.25  # of the font size, above / below the baseline (Noto Sans)
LONG_NAME = "Wolfeschlegelsteinhausenbergerdorff " * 2 + "Zoë Núñez O'Brien-Łukasz Abc"
ADDRESS = [
    "1234 North Very Long Avenue Name Boulevard, Apartment 1234",
    "Suite 5600",
    "Peoria, IL 61602",
]


def _fragments(template: str, **recipient: object) -> list[tuple[float, float, str]]:
    """(top of the line, left, text) in inches, for the first page."""
    page = positioned_text(letters.render_pdf(template, individual_context(**recipient)))[0]
    return [(top * POINT, left * POINT, text) for top, left, text in page]


def _address(template: str, name: str) -> set[str]:
    return {name if "minor" not in template else f"Parent or Guardian of {name}", *ADDRESS}


CASES = [
    ("individual_adult.html", "Zoë Núñez"),
    ("individual_adult.html", LONG_NAME),
    ("individual_minor.html", "Zoë Núñez"),
    ("individual_deceased.html", "Zoë Núñez"),
    ("individual_es.html", "Zoë Núñez"),
]


@pytest.mark.parametrize(("template", "name"), CASES)
def test_the_address_keeps_an_eighth_inch_inside_the_window(template: str, name: str) -> None:
    area = envelope.address_area()
    fragments = _fragments(template, name=name, address_lines=ADDRESS)
    size = 10 * POINT  # the largest size the address block uses

    in_block = [f for f in fragments if area.top - 0.5 < f[0] < area.bottom + 0.1 and f[1] < 5.3]
    assert in_block, "no address found"
    for baseline, left, _ in in_block:
        assert baseline - ASCENT * size >= area.top, f"top clearance {baseline} {area}"
        assert baseline + DESCENT * size <= area.bottom, f"bottom clearance {baseline} {area}"
        assert left >= area.left
    # the block itself (overflow hidden) ends left of the area's right edge: 1.0625 + 4.0in
    assert 1.0625 + 4.0 <= area.right


@pytest.mark.parametrize(("template", "name"), CASES)
def test_nothing_but_the_address_shows_when_the_sheet_shifts(template: str, name: str) -> None:
    seen = envelope.seen_through()
    fragments = _fragments(template, name=name, address_lines=ADDRESS)
    size = 11 * POINT  # body text and the Re: line

    shown = [
        text
        for baseline, left, text in fragments
        if baseline - ASCENT * size < seen.bottom
        and baseline + DESCENT * size > seen.top
        and left < seen.right
    ]
    address_words = " ".join(_address(template, name))
    assert all(text in address_words for text in shown), shown
    reference = [f for f in fragments if f[2].startswith(("Re:", "Asunto:"))]
    assert reference and reference[0][0] - ASCENT * size >= seen.bottom


def test_the_old_geometry_is_what_the_issue_measured() -> None:
    """The window model reproduces the measurement in issue 19 for the former block
    (2.125in from the top, 0.875in from the left): 0.083in at the top, 0 at the left."""
    window = envelope.window_on_sheet()
    assert round(2.125 - window.top, 3) == 0.083
    assert window.left == 0.875


@pytest.mark.parametrize(
    ("template", "lang"), [("individual_adult.html", "en"), ("individual_es.html", "es")]
)
def test_archival_letters_are_tagged_pdf_a_with_their_language(template: str, lang: str) -> None:
    pdf = letters.render_pdf(template, individual_context(), archival=True)
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]

    assert "/StructTreeRoot" in root and bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == lang
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="A"' in xmp
    assert root["/StructTreeRoot"].get_object()["/K"]  # a tree with content
