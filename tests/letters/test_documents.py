"""Every template renders to a real PDF that carries its required content."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from incident_app import letters
from tests.letters.samples import HHS_REPORT
from tests.letters.samples import document_contexts
from tests.letters.samples import individual_context

CONTEXTS = document_contexts()
# The templates this module owns; other engineers' templates have their own tests.
OWN_TEMPLATES = sorted(CONTEXTS) + sorted(letters.MERGE_TEMPLATES)


def _text(template: str) -> str:
    context = CONTEXTS.get(template) or individual_context()
    return re.sub(r"\s+", " ", letters.pdf_text(letters.render_pdf(template, context)))


def test_every_owned_template_has_a_context_here() -> None:
    expected = {
        "substitute_web.html",
        "substitute_media.html",
        "media_release.html",
        "hhs_packet.html",
        "ba_to_ce.html",
        "state_ag.html",
        "risk_assessment.html",
    }
    assert set(CONTEXTS) == expected
    assert set(OWN_TEMPLATES) <= set(letters.known_templates())


@pytest.mark.parametrize("template", OWN_TEMPLATES)
def test_every_template_renders_with_letterhead_date_id_and_page_numbers(template: str) -> None:
    pdf = letters.render_pdf(template, CONTEXTS.get(template) or individual_context())

    pages = PdfReader(BytesIO(pdf)).pages
    text = letters.pdf_text(pdf)
    assert "Riverbend Community Health" in text or "Ledgerline Billing Services" in text
    assert "1-800-555-0142" in text
    for number, page in enumerate(pages, start=1):
        page_text = page.extract_text()
        assert re.search(rf"(Page|Página) {number} (of|de) {len(pages)}", page_text)
        assert re.search(r"(Letter ID:|Document|Carta N\.º) [A-Z0-9-]+", page_text)


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_a_missing_value_fails_loudly_for_every_document(template: str) -> None:
    context = {k: v for k, v in CONTEXTS[template].items() if k != "letter_date"}

    with pytest.raises(letters.MissingLetterField, match="letter_date"):
        letters.render_html(template, context)


@pytest.mark.parametrize("template", ["substitute_web.html", "substitute_media.html"])
def test_substitute_notice_is_conspicuous_with_toll_free_number_and_90_days(template) -> None:
    text = _text(template)

    assert "call us free of charge at 1-800-555-0142" in text
    assert "works until July 1, 2025" in text
    assert "April 2, 2025" in text
    for heading in (
        "What happened",
        "What information was involved",
        "What you can do",
        "What we are doing",
        "For more information",
    ):
        assert heading in text


def test_the_web_posting_names_its_90_day_period() -> None:
    assert "from April 2, 2025 to July 1, 2025" in _text("substitute_web.html")


def test_the_media_substitute_notice_names_the_areas() -> None:
    assert "Sangamon County, Illinois; Peoria County, Illinois" in _text("substitute_media.html")


def test_the_press_release_gives_state_counts_and_the_five_parts() -> None:
    text = _text("media_release.html")

    assert "notifies Illinois residents of a data breach" in text
    assert "1,204 people, including 1,150 residents of Illinois" in text
    assert "We discovered it on March 6, 2025" in text
    assert "Sam Rivera, 217-555-0199" in text


def test_the_hhs_packet_shows_the_portal_labels_and_answers() -> None:
    text = _text("hhs_packet.html")

    assert "Breach Affecting 500 or More Individuals" in text
    assert "Breach Start Date 03/03/2025" in text
    assert "Discovery End Date 03/06/2025" in text
    assert "Approximate Number of Individuals Affected by the Breach 1204" in text
    assert "Was Media Notice Required? Yes" in text
    assert "Business Associate involved No" in text


def test_the_hhs_json_has_the_same_answers_as_the_packet() -> None:
    data = json.loads(letters.hhs_packet_json(HHS_REPORT))
    text = _text("hhs_packet.html")

    assert data["Section 3 – Breach"]["Type of Breach"] == "Theft"
    assert data["General"]["Breach Affecting"] == "500 or More Individuals"
    for rows in data.values():
        for label, answer in rows.items():
            assert f"{label} {answer}" in text


def test_the_hhs_packet_says_fewer_than_500_at_499() -> None:
    data = json.loads(letters.hhs_packet_json({**HHS_REPORT, "individuals_affected": 499}))

    assert data["General"]["Breach Affecting"] == "Fewer Than 500 Individuals"


def test_the_business_associate_notice_identifies_each_individual() -> None:
    text = _text("ba_to_ce.html")

    assert "Ledgerline Billing Services, a business associate of Riverbend" in text
    assert "discovered on March 5, 2025" in text
    assert "Zoë Núñez MRN 000412" in text
    assert "Seán O'Brien MRN 000977" in text
    assert "more information promptly" in text


def test_the_attorney_general_notice_carries_the_state_specifics() -> None:
    text = _text("state_ag.html")

    assert "under N.Y. Gen. Bus. Law § 899-aa" in text
    assert "37 New York residents (1,204 people in total)" in text
    assert "on April 1, 2025" in text
    assert "within 5 business days of notifying the Secretary" in text
    assert "Enclosures: Sample resident notice; Copy of HHS notice" in text


def test_the_risk_assessment_documents_all_four_factors_and_the_conclusion() -> None:
    text = _text("risk_assessment.html")

    for factor in (
        "(i) Nature and extent",
        "(ii) The unauthorized person",
        "(iii) Whether the PHI",
        "(iv) Extent of mitigation",
    ):
        assert factor in text
    assert "the breach is reportable" in text
    assert "Approved by Lee Park, Counsel" in text
    assert "Keep until March 12, 2031" in text
