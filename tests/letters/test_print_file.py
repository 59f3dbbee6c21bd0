"""The mail house's print file: every letter's pages in order, each showing exactly what its
standalone PDF shows, with fonts and other common objects written once."""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf import PdfWriter

from incident_app import letters
from tests.letters.pdf_lines import positioned_text
from tests.letters.samples import individual_context

COMMON = {key: value for key, value in individual_context().items() if key != "recipient"}


def _recipients(count: int, start: int = 0) -> list[letters.RecipientContext]:
    return [
        {
            "letter_id": f"RCH-{n}",
            "name": f"Person{n} Zoë Núñez{n}",
            "address_lines": [f"{n} Elm St", "Peoria, IL 61602"],
        }
        for n in range(start, start + count)
    ]


@pytest.fixture(scope="module")
def batch_pdfs() -> list[bytes]:
    # Two render groups (chunk_size 6): two overlay passes, so two sets of overlay subsets.
    return [
        pdf
        for _, pdf in letters.render_batch(
            "individual_adult.html", COMMON, _recipients(12), chunk_size=6
        )
    ]


def _pages_text(pdf: bytes) -> list[list[tuple[int, int, str]]]:
    reader = PdfReader(BytesIO(pdf))
    out = []
    for index in range(len(reader.pages)):
        writer = PdfWriter()
        writer.add_page(reader.pages[index])
        buffer = BytesIO()
        writer.write(buffer)
        out.append(positioned_text(buffer.getvalue()))
    return out


def test_each_page_of_the_print_file_is_the_page_of_its_letter(batch_pdfs: list[bytes]) -> None:
    combined, pages = letters.combine_print_file(batch_pdfs)

    expected = [page for pdf in batch_pdfs for page in _pages_text(pdf)]
    assert pages == len(expected) == len(PdfReader(BytesIO(combined)).pages)
    assert _pages_text(combined) == expected


def test_single_renders_and_batch_letters_mix(batch_pdfs: list[bytes]) -> None:
    single = letters.render_pdf("individual_adult.html", {**COMMON, "recipient": _recipients(1)[0]})
    combined, _ = letters.combine_print_file([batch_pdfs[0], single, batch_pdfs[1]])

    texts = [letters.pdf_text(pdf) for pdf in (batch_pdfs[0], single, batch_pdfs[1])]
    assert letters.pdf_text(combined) == "\n".join(texts)


def test_fonts_are_written_once_not_once_per_letter(batch_pdfs: list[bytes]) -> None:
    one, _ = letters.combine_print_file(batch_pdfs[:1])
    twelve, _ = letters.combine_print_file(batch_pdfs)

    assert sum(map(len, batch_pdfs)) > 5 * len(twelve)  # was the sum, ~27 KB a letter
    # Each extra letter adds its pages and its own address block, not the body and its fonts.
    assert (len(twelve) - len(one)) / 11 < 4_000
    # Body fonts once; the address block's subsets once per overlay pass (two passes here).
    per_letter = batch_pdfs[0].count(b"/FontFile")
    assert per_letter > 0
    assert one.count(b"/FontFile") == per_letter
    assert twelve.count(b"/FontFile") <= 2 * per_letter


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")
def test_qpdf_and_pdfinfo_find_nothing_wrong(batch_pdfs: list[bytes], tmp_path: Path) -> None:
    combined, pages = letters.combine_print_file(batch_pdfs, title="Print file: mailing 7 — ü")
    path = tmp_path / "print.pdf"
    path.write_bytes(combined)

    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors" in check.stdout
    assert "WARNING" not in check.stdout + check.stderr


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils is not installed")
def test_pdfinfo_reads_the_page_count_and_title(batch_pdfs: list[bytes], tmp_path: Path) -> None:
    combined, pages = letters.combine_print_file(batch_pdfs, title="Print file: mailing 7 — ü")
    path = tmp_path / "print.pdf"
    path.write_bytes(combined)

    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert f"Pages:           {pages}" in info.stdout
    assert "Title:           Print file: mailing 7 — ü\n" in info.stdout
    assert info.stderr == ""


def test_a_damaged_letter_is_refused_with_a_clear_message(batch_pdfs: list[bytes]) -> None:
    with pytest.raises(letters.PrintFileError, match="could not be read"):
        letters.combine_print_file([batch_pdfs[0], b"%PDF-1.7 this is not a pdf"])


@pytest.fixture(scope="module")
def merged() -> list[letters.Merged]:
    return list(
        letters.merge_letters("individual_adult.html", COMMON, _recipients(12), chunk_size=6)
    )


def test_letters_added_from_their_parts_print_the_same_pages_as_read_back(
    merged: list[letters.Merged],
) -> None:
    pdfs = [letter.pdf for letter in merged]
    parts = [letter.parts for letter in merged]
    assert all(part is not None for part in parts)

    from_parts, pages = letters.combine_print_file([p for p in parts if p is not None])
    read_back, _ = letters.combine_print_file(pdfs)

    assert pages == 24
    assert _pages_text(from_parts) == _pages_text(read_back)
    # The parts share exactly what the parsed letters share: the body and each overlay
    # pass's subsets once.
    assert from_parts.count(b"/FontFile") == read_back.count(b"/FontFile")
    assert abs(len(from_parts) - len(read_back)) < 0.05 * len(read_back)


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")
def test_a_print_file_of_parts_and_letters_read_back_is_clean_and_in_order(
    merged: list[letters.Merged], tmp_path: Path
) -> None:
    # A chunk resumed by another worker: some letters were just rendered (parts), others
    # were recorded before and are read back from the store (bytes).
    mixed = [letter.parts if index % 3 else letter.pdf for index, letter in enumerate(merged)]
    combined, pages = letters.combine_print_file(
        [m for m in mixed if m is not None], title="Print file: mailing 3, chunk 1"
    )
    path = tmp_path / "mixed.pdf"
    path.write_bytes(combined)

    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0 and "WARNING" not in check.stdout + check.stderr, check.stdout
    expected = [page for letter in merged for page in _pages_text(letter.pdf)]
    assert pages == len(expected) and _pages_text(combined) == expected
    # Shared across both kinds: body fonts once, overlay subsets at most once per kind.
    assert combined.count(b"/FontFile") <= 2 * 2 * merged[0].pdf.count(b"/FontFile")


def test_a_letter_rendered_in_a_process_pool_comes_without_parts() -> None:
    pooled = list(
        letters.merge_letters(
            "individual_adult.html", COMMON, _recipients(4), workers=2, chunk_size=2
        )
    )
    assert [letter.parts for letter in pooled] == [None] * 4
    assert all(letter.pdf.startswith(b"%PDF-") for letter in pooled)
