"""Envelope window, strict context, template versions, printable text."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from incident_app import letters
from incident_app.errors import ValidationFailed
from incident_app.letters import versions
from tests.letters.pdf_lines import positioned_text
from tests.letters.samples import individual_context

# The address block in PDF points from the top-left: 1.0625in/2.1875in, 4in x 0.8125in
# (letters.css; test_envelope_window.py checks it against the #10 envelope).
WINDOW_LEFT, WINDOW_TOP, WINDOW_RIGHT, WINDOW_BOTTOM = 76.5, 157.5, 364.5, 216.0


class _WindowText(HTMLParser):
    """Text chunks inside the element marked data-window, and the tags found in it."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.chunks: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += 1
            self.tags.append(tag)
        elif ("data-window", "recipient") in attrs:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and data.strip():
            self.chunks.append(data.strip())


def _window(html: str) -> _WindowText:
    parser = _WindowText()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("template", sorted(letters.MERGE_TEMPLATES))
def test_the_window_holds_only_the_name_and_the_address(template: str) -> None:
    html = letters.render_html(template, individual_context())

    window = _window(html)
    name = "Parent or Guardian of Zoë Núñez" if "minor" in template else "Zoë Núñez"
    assert window.chunks == [name, "42 Elm Street, Apt 3", "Peoria, IL 61602"]
    assert set(window.tags) == {"p"}


def test_a_100_character_name_stays_inside_the_window_and_the_body_does_not_move() -> None:
    long_name = "Wolfeschlegelsteinhausenbergerdorff " * 2 + "Zoë Núñez O'Brien-Łukasz Abc"
    short = positioned_text(letters.render_pdf("individual_adult.html", individual_context()))
    long = positioned_text(
        letters.render_pdf("individual_adult.html", individual_context(name=long_name))
    )

    assert len(long_name) == 100
    in_window = [
        f[2]
        for f in long[0]
        if WINDOW_TOP < f[0] <= WINDOW_BOTTOM and WINDOW_LEFT <= f[1] < WINDOW_RIGHT
    ]
    # The name wraps (three lines at the smaller size) and the address still fits below it.
    assert " ".join(in_window[:-2]) == long_name
    assert in_window[-2:] == ["42 Elm Street, Apt 3", "Peoria, IL 61602"]
    # The body starts 4.25in (306pt) from the top on every letter, whatever the name.
    assert [f for f in long[0] if f[0] > 300] == [f for f in short[0] if f[0] > 300]
    assert long[1] == short[1]


def test_the_address_block_lines_are_inside_the_window_geometry() -> None:
    page = positioned_text(letters.render_pdf("individual_adult.html", individual_context()))[0]

    address = [f for f in page if f[2] in ("Zoë Núñez", "42 Elm Street, Apt 3")]
    assert len(address) == 2
    for top, left, _ in address:
        assert WINDOW_TOP < top <= WINDOW_BOTTOM
        assert WINDOW_LEFT <= left < WINDOW_RIGHT


def test_a_missing_field_fails_loudly_with_its_name() -> None:
    context = individual_context()
    context["breach"] = {k: v for k, v in context["breach"].items() if k != "discovered_on"}

    with pytest.raises(letters.MissingLetterField, match="discovered_on"):
        letters.render_pdf("individual_adult.html", context)


def test_a_missing_organisation_fails_loudly() -> None:
    context = {k: v for k, v in individual_context().items() if k != "organisation"}

    with pytest.raises(letters.MissingLetterField, match="organisation"):
        letters.render_html("individual_adult.html", context)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"letter_id": "rch 1"}, "Letter id"),
        ({"name": "x" * 121}, "1-120 characters"),
        ({"name": "   "}, "1-120 characters"),
        ({"address_lines": []}, "address"),
        ({"address_lines": ["a", "b", "c", "d"]}, "address"),
        ({"address_lines": ["x" * 61]}, "address"),
    ],
)
def test_a_recipient_that_would_overflow_the_window_is_refused(change, message) -> None:
    with pytest.raises(ValidationFailed, match=message):
        letters.render_html("individual_adult.html", individual_context(**change))


def test_a_logo_that_is_not_an_image_data_uri_is_refused() -> None:
    context = individual_context()
    context["organisation"] = {**context["organisation"], "logo_data_uri": "file:///etc/passwd"}

    with pytest.raises(ValidationFailed, match="logo"):
        letters.render_html("individual_adult.html", context)


def test_logo_data_uri_accepts_png_and_refuses_svg() -> None:
    assert letters.logo_data_uri(b"\x89PNG", "image/png") == "data:image/png;base64,iVBORw=="
    with pytest.raises(ValidationFailed):
        letters.logo_data_uri(b"<svg/>", "image/svg+xml")


def test_accented_names_come_back_out_of_the_pdf() -> None:
    context = individual_context(name="Zoë Núñez-O'Brien Łucja Müller José")

    text = letters.pdf_text(letters.render_pdf("individual_adult.html", context))

    for word in ("Zoë", "Núñez-O'Brien", "Łucja", "Müller", "José"):
        assert word in text


def test_printable_replaces_what_the_shipped_fonts_cannot_draw() -> None:
    assert letters.printable("Zoë Núñez") == "Zoë Núñez"
    assert letters.printable("Kim 👩\u200d⚕\ufe0f Lee") == "Kim \ufffd Lee"
    assert letters.printable("a\x07b") == "a\ufffdb"
    assert letters.printable("Zoe\u0308") == "Zoë"  # NFC first
    assert letters.unprintable_characters({"a": ["x😀", "ok"]}) == ["😀"]


def test_template_version_is_stable_and_covers_includes_css_and_fonts() -> None:
    version = letters.template_version("individual_adult.html")
    files = {
        p.relative_to(letters.TEMPLATE_DIR).as_posix()
        for p in versions._template_files("individual_adult.html")
    }

    assert version == letters.template_version("individual_adult.html")
    assert len(version) == 64
    assert version != letters.template_version("individual_es.html")
    assert {
        "individual_adult.html",
        "_base.html",
        "_macros.html",
        "_individual_body_en.html",
        "letters.css",
        "fonts/NotoSans-Regular.ttf",
    } <= files


def test_template_version_changes_when_an_included_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "letter_templates"
    shutil.copytree(letters.TEMPLATE_DIR, copy)
    monkeypatch.setattr(versions, "TEMPLATE_DIR", copy.resolve())
    before = letters.template_version("individual_adult.html")

    body = copy / "_individual_body_en.html"
    body.write_text(body.read_text() + "\n<p>One more sentence.</p>\n")

    assert letters.template_version("individual_adult.html") != before
