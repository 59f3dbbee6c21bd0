"""The content checker passes the real rendered notices and catches a gutted one."""

from __future__ import annotations

import pytest

from incident_app import letters
from incident_app.services.letters.wording import Element
from incident_app.services.letters.wording import check_notice
from tests.letters.samples import document_contexts
from tests.letters.samples import individual_context


@pytest.mark.parametrize("template", sorted(letters.MERGE_TEMPLATES))
def test_rendered_individual_notices_have_every_element(template: str) -> None:
    context = individual_context()
    text = letters.pdf_text(letters.render_pdf(template, context))

    report = check_notice(context, text, language="es" if "_es" in template else "en")

    assert report.missing == ()
    assert report.phi_warnings == ()
    assert report.readability.words > 250


@pytest.mark.parametrize(
    "template", ["substitute_web.html", "substitute_media.html", "media_release.html"]
)
def test_public_notices_have_every_element_and_the_toll_free_number(template: str) -> None:
    context = document_contexts()[template]
    text = letters.pdf_text(letters.render_pdf(template, context))

    assert check_notice(context, text, substitute_notice=True).missing == ()


def test_a_template_that_forgot_the_steps_section_is_caught() -> None:
    context = individual_context()
    text = letters.pdf_text(letters.render_pdf("individual_adult.html", context))
    gutted = text.replace("Enroll in the free credit monitoring", "")

    assert check_notice(context, gutted).missing == (Element.STEPS,)
