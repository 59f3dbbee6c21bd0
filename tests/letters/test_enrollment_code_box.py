"""The enrollment-code box (issue 23) on the rendered letters: right of the window and clear of
everything the window can show when the sheet shifts, above the "Re:" line; the mail-merge
fast path stamps the same code at the same place as a full render; a bad code is refused."""

from __future__ import annotations

from datetime import date

import pytest

from incident_app import letters
from incident_app.errors import ValidationFailed
from incident_app.letters import envelope
from tests.letters.pdf_lines import positioned_text
from tests.letters.samples import individual_context

POINT = 1 / 72
CODE = "ZQ7K-4MW2-PX9A"
OFFER = {
    "vendor": "Experian",
    "product": "IdentityWorks credit monitoring",
    "months": 24,
    "url": "https://www.experianidworks.com/3bcredit",
    "phone": "1-877-288-8057",
    "enrol_by": date(2026, 12, 31),
}


def _context(template: str, code: str = CODE) -> dict:
    context = individual_context(enrollment_code=code)
    if template == "individual_deceased.html":
        context["recipient"]["subject_name"] = "Ana Rivera"
    return {**context, "identity_protection": OFFER}


@pytest.mark.parametrize(
    "template",
    [
        "individual_adult.html",
        "individual_minor.html",
        "individual_deceased.html",
        "individual_es.html",
    ],
)
def test_the_code_box_never_shows_through_the_window(template: str) -> None:
    page = positioned_text(letters.render_pdf(template, _context(template)))[0]
    fragments = [(top * POINT, left * POINT, text) for top, left, text in page]
    seen = envelope.seen_through()

    [code] = [f for f in fragments if CODE in f[2]]
    label = [f for f in fragments if f[2].startswith(("Enrollment code", "Código de"))]
    assert label and code[1] >= seen.right and label[0][1] >= seen.right
    reference = [f for f in fragments if f[2].startswith(("Re:", "Asunto:"))]
    assert code[0] < reference[0][0]


def test_the_fast_path_prints_the_code_where_a_full_render_does() -> None:
    context = _context("individual_adult.html")
    common = {k: v for k, v in context.items() if k != "recipient"}
    [(_, merged)] = list(
        letters.render_batch("individual_adult.html", common, [context["recipient"]])
    )
    full = letters.render_pdf("individual_adult.html", context)

    def where(pdf: bytes) -> list[tuple[float, float]]:
        page = positioned_text(pdf)[0]
        return [(round(top), round(left)) for top, left, text in page if CODE in text]

    assert where(merged) == where(full) and len(where(full)) == 1
    assert "24 months of IdentityWorks credit monitoring" in letters.pdf_text(merged)


@pytest.mark.parametrize("code", ["abc1234", "AB", "X" * 25, "CODE 1234"])
def test_a_code_that_would_not_fit_the_box_is_refused(code: str) -> None:
    with pytest.raises(ValidationFailed, match="An enrollment code must be 4-24"):
        letters.render_pdf("individual_adult.html", _context("individual_adult.html", code))
