"""The mail-merge fast path produces, per recipient, the same letter as render_pdf."""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader

from incident_app import letters
from incident_app.errors import ValidationFailed
from tests.letters.pdf_lines import positioned_text
from tests.letters.samples import individual_context

LONG_NAME = (
    "María Guadalupe Fernández-Villaseñor de la Santísima Trinidad Zoë Núñez O'Brien "
    "Łukasz Müller-Peñasa"
)
HARD_RECIPIENTS = [
    {"letter_id": "RCH-1", "name": "Zoë Núñez", "address_lines": ["42 Elm St", "Peoria, IL"]},
    {"letter_id": "RCH-2", "name": "Seán O'Brien", "address_lines": ["1 Bay Rd", "Erie, PA"]},
    {"letter_id": "RCH-3", "name": LONG_NAME, "address_lines": ["9 Oak Ave", "Aurora, IL"]},
    {"letter_id": "RCH-4", "name": "محمد عبد الله", "address_lines": ["5 Pine St", "Dover, DE"]},
    {"letter_id": "RCH-5", "name": "דוד כהן", "address_lines": ["7 Ash Ct", "Salem, OR"]},
    {"letter_id": "RCH-6", "name": "Kim 😀 Lee", "address_lines": ["3 Elm St", "Troy, NY"]},
]
COMMON = {key: value for key, value in individual_context().items() if key != "recipient"}


def test_the_long_name_is_really_100_characters() -> None:
    assert len(LONG_NAME) == 100


@pytest.mark.parametrize(
    "template",
    ["individual_adult.html", "individual_minor.html", "individual_es.html"],
)
def test_each_batch_letter_has_exactly_the_text_of_its_single_render(template: str) -> None:
    batch = dict(letters.render_batch(template, COMMON, HARD_RECIPIENTS))

    assert list(batch) == [recipient["letter_id"] for recipient in HARD_RECIPIENTS]
    for recipient in HARD_RECIPIENTS:
        single = letters.render_pdf(template, {**COMMON, "recipient": recipient})
        assert positioned_text(batch[recipient["letter_id"]]) == positioned_text(single)


def test_batch_letters_carry_their_own_recipient_and_nobody_else() -> None:
    batch = dict(letters.render_batch("individual_adult.html", COMMON, HARD_RECIPIENTS[:3]))

    text = letters.pdf_text(batch["RCH-2"])
    assert "Dear Seán O'Brien:" in text
    assert "Núñez" not in text
    assert "Guadalupe" not in text
    assert b"RCH-1" not in batch["RCH-2"]
    for page in PdfReader(BytesIO(batch["RCH-2"])).pages:
        assert "Letter ID: RCH-2" in page.extract_text()


def test_the_emoji_is_replaced_by_one_replacement_character() -> None:
    [(_, pdf)] = letters.render_batch("individual_adult.html", COMMON, HARD_RECIPIENTS[5:])

    assert "Dear Kim \ufffd Lee:" in letters.pdf_text(pdf)


def test_rtl_names_keep_their_letters() -> None:
    [(_, pdf)] = letters.render_batch("individual_adult.html", COMMON, HARD_RECIPIENTS[3:4])

    words = letters.pdf_text(pdf).split()
    assert {"محمد", "عبد", "الله"} <= set(words)


def test_a_pool_of_two_workers_gives_the_same_letters_in_order() -> None:
    recipients = [{**HARD_RECIPIENTS[i % 6], "letter_id": f"RCH-{i:03d}"} for i in range(12)]

    pooled = list(
        letters.render_batch("individual_adult.html", COMMON, recipients, workers=2, chunk_size=4)
    )
    single = list(letters.render_batch("individual_adult.html", COMMON, recipients))

    assert [letter_id for letter_id, _ in pooled] == [r["letter_id"] for r in recipients]
    assert [positioned_text(pdf) for _, pdf in pooled] == [
        positioned_text(pdf) for _, pdf in single
    ]


def test_each_batch_letter_is_a_standalone_pdf_with_all_its_pages() -> None:
    [(_, pdf)] = letters.render_batch("individual_adult.html", COMMON, HARD_RECIPIENTS[:1])

    reader = PdfReader(BytesIO(pdf))
    assert len(reader.pages) == 2
    assert "Page 2 of 2" in reader.pages[1].extract_text()
    assert reader.attachments == {}


def test_a_document_template_cannot_be_merged() -> None:
    with pytest.raises(ValueError, match="not a mail-merge template"):
        list(letters.render_batch("media_release.html", COMMON, HARD_RECIPIENTS[:1]))


def test_a_bad_recipient_stops_the_batch_before_anything_renders() -> None:
    recipients = [*HARD_RECIPIENTS[:2], {**HARD_RECIPIENTS[0], "name": "x" * 121}]

    with pytest.raises(ValidationFailed, match="1-120 characters"):
        next(letters.render_batch("individual_adult.html", COMMON, recipients))
