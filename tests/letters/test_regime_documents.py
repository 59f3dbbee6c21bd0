"""The templates of the regimes beyond HIPAA render to real PDFs that carry what their rule
asks: GDPR Art. 33(3), the CRA statutes' numbers, the FTC form fields, the 42 CFR Part 2
citation; only shipped glyphs; nothing fetched from case text."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from incident_app import letters
from tests.letters.regime_samples import ART33
from tests.letters.regime_samples import regime_contexts
from tests.letters.samples import HHS_REPORT
from tests.letters.samples import individual_context
from tests.letters.test_fetch_attacks import _assert_clean
from tests.letters.test_fetch_attacks import _attacks
from tests.letters.test_fetch_attacks import loopback_server  # noqa: F401 (a fixture)

CONTEXTS = regime_contexts()
NEW_TEMPLATES = sorted(CONTEXTS)


def _render(template: str, context: dict | None = None) -> tuple[bytes, str]:
    pdf = letters.render_pdf(template, context or CONTEXTS[template])
    return pdf, re.sub(r"\s+", " ", letters.pdf_text(pdf))


@pytest.mark.parametrize("template", NEW_TEMPLATES)
def test_each_renders_with_letterhead_ids_page_numbers_and_only_shipped_glyphs(template):
    pdf, text = _render(template)

    pages = PdfReader(BytesIO(pdf)).pages
    assert "Riverbend Community Health" in text
    for number, page in enumerate(pages, start=1):
        page_text = page.extract_text()
        assert re.search(rf"Page {number} of {len(pages)}", page_text)
        assert re.search(r"(Letter ID:|Document) [A-Z0-9-]+", page_text)
    assert "\ufffd" not in text
    # Every character the template itself prints is one the shipped fonts can draw.
    source = (letters.TEMPLATE_DIR / template).read_text(encoding="utf-8")
    assert letters.unprintable_characters({"source": source}) == []


def test_the_shared_gdpr_partial_prints_only_shipped_glyphs():
    source = Path(letters.TEMPLATE_DIR / "_gdpr_art33_items.html").read_text(encoding="utf-8")
    assert letters.unprintable_characters({"source": source}) == []


@pytest.mark.parametrize("template", NEW_TEMPLATES)
def test_a_missing_value_fails_loudly(template):
    context = {k: v for k, v in CONTEXTS[template].items() if k != "letter_date"}
    with pytest.raises(letters.MissingLetterField, match="letter_date"):
        letters.render_html(template, context)


def test_gdpr_record_carries_every_art_33_3_item_and_the_utc_times():
    _, text = _render("gdpr_art33.html")
    for expected in (
        "Became aware of the breach March 6, 2025, 14:05 UTC",
        "72 hours end March 9, 2025, 14:05 UTC",
        "(a) Nature of the personal data breach",
        "Categories of data subjects Patients",
        "Approximate number of data subjects 37",
        "Categories of personal data Full name; Date of birth; Diagnosis codes",
        "Approximate number of personal data records 1,450",
        "(b) Data protection officer or other contact point Dr. Lena Vogt",
        "(c) Likely consequences of the breach",
        "Risk of identity fraud.",
        "(d) Measures taken or proposed to address the breach",
        "Disk encryption on every laptop.",
        "Art. 33(4)",
    ):
        assert expected in text, expected


def test_a_late_record_prints_the_reasons_and_a_record_due_today_warns():
    late = {**ART33, "late": True, "delay_reasons": "Forensics found EU records on day 5."}
    _, text = _render("gdpr_art33.html", {**CONTEXTS["gdpr_art33.html"], "gdpr": late})
    assert "later than 72 hours after awareness" in text
    assert "Forensics found EU records on day 5." in text

    today = {**ART33, "due_today": True}
    _, text = _render("gdpr_art33.html", {**CONTEXTS["gdpr_art33.html"], "gdpr": today})
    assert "The 72 hours end today, at March 9, 2025, 14:05 UTC" in text


def test_processor_variant_addresses_the_controller_with_the_same_items():
    _, text = _render("gdpr_art33_processor.html")
    assert "Klinikum Beispiel GmbH" in text and "acting as your processor" in text
    assert "The controller's 72 hours end at the latest" in text
    assert "(d) Measures taken or proposed" in text


def test_cra_notice_carries_the_numbers_timing_distribution_and_content():
    _, text = _render("cra_notice.html")
    for expected in (
        "Minn. Stat. 325E.61, subd. 2",
        "1,200 Minnesota residents (3,004 people in total)",
        "sent between April 1, 2025 and April 3, 2025",
        "First-class mail",
        "Types of information involved",
        "Copies to: Experian, TransUnion",
    ):
        assert expected in text, expected


def test_ftc_packet_carries_the_form_fields():
    _, text = _render("ftc_notice.html")
    for expected in (
        "Type of entity Vendor of personal health records",
        "Date of the breach March 3, 2025 to March 4, 2025",
        "Date of discovery March 6, 2025",
        "Number of individuals affected 1,204",
        "Residents by state IL: 1,150; WI: 54",
        "Who acquired the information An advertising platform",
        "Media notice required Yes",
        "no later than May 5, 2025",
    ):
        assert expected in text, expected


def test_ftc_annual_log_entry_says_which_year():
    context = {
        **CONTEXTS["ftc_notice.html"],
        "annual_log": True,
        "reporting_year": "2025",
        "heading": "FTC breach log entry for 2025 (16 CFR 318.5(c))",
        "due_on": None,
    }
    _, text = _render("ftc_notice.html", context)
    assert "FTC breach log entry for 2025" in text
    assert "the 2025 log is submitted to the FTC" in text


def test_sec_worksheet_is_marked_on_the_page_and_in_the_footer():
    pdf, text = _render("sec_8k_worksheet.html")
    assert "WORKSHEET FOR COUNSEL — NOT A FILING" in text
    for page in PdfReader(BytesIO(pdf)).pages:
        assert "worksheet for counsel, not a filing" in page.extract_text()
    assert "Billing stopped for nine days" in text


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("individual_adult.html", individual_context()),
        (
            "hhs_packet.html",
            {
                "organisation": CONTEXTS["gdpr_art33.html"]["organisation"],
                "document_id": "RCH-DOC-0017-02",
                "letter_date": CONTEXTS["gdpr_art33.html"]["letter_date"],
                "report": HHS_REPORT,
            },
        ),
    ],
)
def test_part2_citation_is_printed_only_when_the_context_carries_it(template, context):
    _, plain = _render(template, context)
    assert "42 CFR Part 2" not in plain

    citation = "42 CFR 2.16(a); 45 CFR 164.404(b)"
    _, text = _render(template, {**context, "part2_citation": citation})
    assert "also given under 42 CFR Part 2" in text and citation in text


def test_hostile_case_text_in_the_new_documents_is_text_and_fetches_nothing(loopback_server):  # noqa: F811
    port, access_log = loopback_server
    attack = " ".join(_attacks(port))
    gdpr = {**ART33, "nature": attack, "contact_point": attack}
    pdf, text = _render("gdpr_art33.html", {**CONTEXTS["gdpr_art33.html"], "gdpr": gdpr})
    _assert_clean(pdf)
    cra = {**CONTEXTS["cra_notice.html"], "requirement": attack}
    cra_pdf, _ = _render("cra_notice.html", cra)
    _assert_clean(cra_pdf)
    assert access_log == []
    assert '<link rel="attachment"' in text
