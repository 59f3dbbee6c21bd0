"""Individual notices (164.404(c)) render to real PDFs with every required element."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from incident_app import letters
from tests.letters.samples import individual_context

ENGLISH = ["individual_adult.html", "individual_minor.html", "individual_deceased.html"]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("template", ENGLISH)
def test_english_notices_carry_the_five_required_parts_and_dates(template: str) -> None:
    text = _flat(letters.pdf_text(letters.render_pdf(template, individual_context())))

    for heading in (
        "What happened",
        "What information was involved",
        "What you can do",
        "What we are doing",
        "For more information",
    ):
        assert heading in text
    assert "between March 3, 2025 and March 4, 2025" in text
    assert "We discovered it on March 6, 2025" in text
    assert "Health insurance number" in text
    assert "Enroll in the free credit monitoring" in text
    assert "We are encrypting every laptop" in text
    assert "toll-free at 1-800-555-0142" in text
    assert "privacy@riverbend.example" in text
    assert "April 1, 2025" in text
    assert "Dana O'Brien" in text


def test_the_adult_notice_greets_the_person_with_accents_intact() -> None:
    context = individual_context(name="Zoë Núñez O'Brien-Łukasz", letter_id="RCH-1")

    text = letters.pdf_text(letters.render_pdf("individual_adult.html", context))

    assert "Dear Zoë Núñez O'Brien-Łukasz:" in text
    assert "Letter ID: RCH-1" in text


def test_the_minor_notice_is_addressed_to_the_parent_or_guardian() -> None:
    text = _flat(
        letters.pdf_text(letters.render_pdf("individual_minor.html", individual_context()))
    )

    assert "Parent or Guardian of Zoë Núñez" in text
    assert "Dear Parent or Guardian of Zoë Núñez:" in text
    assert "you are the parent or guardian of the child named above" in text


def test_the_deceased_notice_names_the_person_who_died_outside_the_window() -> None:
    context = individual_context(name="Zoë Núñez", subject_name="Ramón Núñez")

    text = _flat(letters.pdf_text(letters.render_pdf("individual_deceased.html", context)))

    assert "health information of Ramón Núñez" in text
    assert "next of kin or personal representative" in text
    assert "Dear Zoë Núñez:" in text


def test_the_spanish_notice_uses_spanish_dates_headings_and_page_label() -> None:
    text = _flat(letters.pdf_text(letters.render_pdf("individual_es.html", individual_context())))

    for heading in (
        "Qué pasó",
        "Qué información se vio afectada",
        "Qué puede hacer usted",
        "Qué estamos haciendo nosotros",
        "Más información",
    ):
        assert heading in text
    assert "entre el 3 de marzo de 2025 y el 4 de marzo de 2025" in text
    assert "La descubrimos el 6 de marzo de 2025" in text
    assert "1 de abril de 2025" in text
    assert "Estimado/a Zoë Núñez:" in text
    assert "Página 1 de 2" in text
    assert "Carta N.º RCH-2025-0007-000001" in text


def test_an_unknown_breach_date_is_said_plainly() -> None:
    context = individual_context()
    context["breach"] = {**context["breach"], "breach_start": None, "breach_end": None}

    text = _flat(letters.pdf_text(letters.render_pdf("individual_adult.html", context)))

    assert "on a date we have not yet been able to determine" in text


def test_every_page_shows_page_x_of_y_and_the_letter_id() -> None:
    pdf = letters.render_pdf("individual_adult.html", individual_context())
    pages = PdfReader(BytesIO(pdf)).pages

    assert len(pages) == 2
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of 2" in text
        assert "Letter ID: RCH-2025-0007-000001" in text


def test_archival_output_declares_pdf_a_3a_with_an_output_intent() -> None:
    pdf = letters.render_pdf("individual_adult.html", individual_context(), archival=True)

    reader = PdfReader(BytesIO(pdf))
    xmp = reader.xmp_metadata.stream.get_data()
    assert b'pdfaid:part="3"' in xmp
    assert b'pdfaid:conformance="A"' in xmp  # tagged (accessible), not only "B"asic
    assert "/OutputIntents" in reader.trailer["/Root"]
    assert "Dear Zoë Núñez:" in letters.pdf_text(pdf)


def test_ordinary_output_is_not_marked_archival() -> None:
    pdf = letters.render_pdf("individual_adult.html", individual_context())

    assert PdfReader(BytesIO(pdf)).xmp_metadata is None


@pytest.mark.parametrize("template", [*ENGLISH, "individual_es.html"])
def test_the_re_line_names_the_letter_and_no_title_repeats_it_after_the_salutation(
    template: str,
) -> None:
    text = _flat(letters.pdf_text(letters.render_pdf(template, individual_context())))

    salutation = re.search(r"(Dear|Estimado/a) [^:]+:", text)
    assert salutation is not None
    after = text[salutation.end() :]
    assert "Notice of a data breach" not in after and "Aviso de una brecha de datos" not in after
    assert re.search(r"(Re|Asunto): ", text[: salutation.start()])


def test_the_dates_sentence_is_left_out_when_the_narrative_already_gives_both_dates() -> None:
    context = individual_context()
    breach = context["breach"]
    breach["breach_end"] = breach["breach_start"]
    breach["what_happened"] = (
        "On March 3, 2025 a laptop was stolen from a car. We discovered it on March 6, 2025."
    )
    breach["dates_stated"] = True

    text = _flat(letters.pdf_text(letters.render_pdf("individual_adult.html", context)))

    assert text.count("March 6, 2025") == 1
    assert "The breach happened" not in text
    breach["dates_stated"] = False
    again = _flat(letters.pdf_text(letters.render_pdf("individual_adult.html", context)))
    assert "The breach happened on March 3, 2025. We discovered it on March 6, 2025" in again
