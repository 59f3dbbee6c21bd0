"""The 164.404(c) content check: missing elements by name, PHI values flagged, readability."""

from __future__ import annotations

from datetime import date

import pytest

from incident_app.services.letters.wording import Element
from incident_app.services.letters.wording import _advice
from incident_app.services.letters.wording import check_notice
from incident_app.services.letters.wording import dates_stated
from incident_app.services.letters.wording import is_toll_free
from incident_app.services.letters.wording import phi_warnings
from incident_app.services.letters.wording import readability

ORGANISATION = {
    "name": "Riverbend Community Health",
    "address_lines": ["1200 Harbor Avenue", "Springfield, IL 62701"],
    "toll_free_number": "1-800-555-0142",
    "email": "privacy@riverbend.example",
    "website": "www.riverbend.example",
}
BREACH = {
    "what_happened": "A billing laptop was stolen from a car.",
    "breach_start": date(2025, 3, 3),
    "breach_end": None,
    "discovered_on": date(2025, 3, 6),
    "phi_types": ["Full name", "Date of birth"],
    "steps_for_individuals": ["Review your insurance statements."],
    "what_we_are_doing": ["We are encrypting every laptop."],
}
LETTER = """Notice of a data breach
What happened
A billing laptop was stolen
from a car. The breach happened on March 3, 2025. We discovered it on March 6, 2025.
What information was involved
Full name
Date of birth
What you can do
Review your insurance statements.
What we are doing
We are encrypting every laptop.
For more information call us toll-free at 1-800-555-0142 or email privacy@riverbend.example.
"""


def _context(**breach: object) -> dict[str, object]:
    return {"organisation": ORGANISATION, "breach": {**BREACH, **breach}}


def test_a_complete_letter_has_nothing_missing() -> None:
    report = check_notice(_context(), LETTER)

    assert report.missing == ()
    assert report.phi_warnings == ()
    assert report.ready_for_review


def test_a_letter_without_the_discovery_date_names_that_element() -> None:
    text = LETTER.replace("We discovered it on March 6, 2025.", "")

    assert check_notice(_context(), text).missing == (Element.DISCOVERY_DATE,)


def test_case_data_missing_the_discovery_date_is_reported_even_if_text_has_a_date() -> None:
    assert Element.DISCOVERY_DATE in check_notice(_context(discovered_on=None), LETTER).missing


def test_empty_case_data_lists_every_element_by_name() -> None:
    report = check_notice({"organisation": {}, "breach": {}}, "")

    # No breach date in the data counts as "not known" (a note), not as missing.
    assert [str(element) for element in report.missing] == [
        "(A) what happened",
        "(A) date of discovery",
        "(B) types of information involved",
        "(C) steps individuals should take",
        "(D) what the organisation is doing",
        "(E) contact procedures",
    ]
    assert not report.ready_for_review


def test_an_unknown_breach_date_is_allowed_with_a_note() -> None:
    report = check_notice(_context(breach_start=None), LETTER)

    assert Element.BREACH_DATE not in report.missing
    assert "breach date is not known" in report.notes[0]


def test_a_breach_date_in_the_data_but_not_in_the_letter_is_missing() -> None:
    text = LETTER.replace("The breach happened on March 3, 2025.", "")

    assert check_notice(_context(), text).missing == (Element.BREACH_DATE,)


def test_a_phi_type_left_out_of_the_letter_is_missing() -> None:
    text = LETTER.replace("Date of birth\n", "")

    assert check_notice(_context(), text).missing == (Element.PHI_TYPES,)


@pytest.mark.parametrize(
    ("key", "element"),
    [("steps_for_individuals", Element.STEPS), ("what_we_are_doing", Element.WHAT_WE_ARE_DOING)],
)
def test_empty_steps_or_actions_are_missing(key: str, element: Element) -> None:
    assert check_notice(_context(**{key: []}), LETTER).missing == (element,)


def test_spanish_dates_count() -> None:
    text = LETTER.replace("March 3, 2025", "3 de marzo de 2025").replace(
        "March 6, 2025", "6 de marzo de 2025"
    )

    assert check_notice(_context(), text, language="es").missing == ()


def test_any_one_contact_channel_is_enough_without_substitute_notice() -> None:
    organisation = {**ORGANISATION, "toll_free_number": "", "email": "", "website": ""}
    text = LETTER + "\nWrite to us at 1200 Harbor Avenue, Springfield, IL 62701."

    report = check_notice({"organisation": organisation, "breach": BREACH}, text)

    assert report.missing == ()


def test_no_contact_channel_printed_is_missing() -> None:
    text = LETTER.replace(
        "For more information call us toll-free at 1-800-555-0142 or email "
        "privacy@riverbend.example.",
        "",
    )

    assert check_notice(_context(), text).missing == (Element.CONTACT,)


def test_substitute_notice_needs_a_toll_free_number_not_only_an_email() -> None:
    organisation = {**ORGANISATION, "toll_free_number": ""}
    text = LETTER.replace("call us toll-free at 1-800-555-0142 or ", "")
    context = {"organisation": organisation, "breach": BREACH}

    assert check_notice(context, text).missing == ()
    assert check_notice(context, text, substitute_notice=True).missing == (Element.TOLL_FREE,)


def test_a_local_number_does_not_satisfy_the_toll_free_rule() -> None:
    organisation = {**ORGANISATION, "toll_free_number": "217-555-0100"}
    text = LETTER.replace("1-800-555-0142", "217-555-0100")

    report = check_notice(
        {"organisation": organisation, "breach": BREACH}, text, substitute_notice=True
    )

    assert report.missing == (Element.TOLL_FREE,)
    assert "217-555-0100 is not a toll-free number" in report.notes[0]


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("1-800-555-0142", True),
        ("(888) 555-0100", True),
        ("+1 833 555 0100", True),
        ("217-555-0100", False),
        ("800-555-014", False),
        ("", False),
    ],
)
def test_is_toll_free(number: str, expected: bool) -> None:
    assert is_toll_free(number) is expected


def test_an_ssn_in_the_types_of_information_is_flagged_and_masked() -> None:
    warnings = phi_warnings({**BREACH, "phi_types": ["SSN 123-45-6789"]}, "")

    assert warnings == ["phi_types[0]: looks like a Social Security number (•••-••-••••)"]


def test_card_numbers_and_labelled_values_are_flagged() -> None:
    breach = {**BREACH, "what_happened": "Card 4111 1111 1111 1111 and DOB: 01/02/1960 leaked"}

    warnings = phi_warnings(breach, "")

    assert any("payment card" in w for w in warnings)
    assert any("labelled identifier" in w and "DOB" in w for w in warnings)
    assert all("4111" not in w and "1960" not in w for w in warnings)


def test_phone_numbers_zip_codes_and_dates_are_not_mistaken_for_phi() -> None:
    text = "Call 1-800-555-0142. Springfield, IL 62701-1234. On 03/06/2025."

    assert phi_warnings(BREACH, text) == []


def test_an_ssn_printed_in_the_letter_blocks_review() -> None:
    report = check_notice(_context(), LETTER + "\nYour SSN 123-45-6789")

    assert not report.ready_for_review
    assert report.phi_warnings[0].startswith("letter text:")


def test_plain_short_sentences_score_as_plain_language() -> None:
    score = readability("We lost a laptop. It had your name on it. Call us. We will help you.")

    assert score.ease > 90
    assert score.grade is not None and score.grade < 3
    assert score.words == 16
    assert score.sentences == 4
    assert score.advice.startswith("Plain language")


def test_long_latinate_sentences_get_advice() -> None:
    text = (
        "Notwithstanding the aforementioned unauthorized acquisition, the organization "
        "subsequently implemented comprehensive administrative, technical, and physical "
        "safeguards consistent with applicable regulatory requirements."
    )

    score = readability(text)

    assert score.ease < 30
    assert score.advice.startswith("Hard to read")


def test_spanish_uses_the_fernandez_huerta_scale_without_a_grade() -> None:
    score = readability("Nos robaron una caja. Tenía su nombre. Llame hoy.", language="es")

    assert score.grade is None
    assert score.ease > 70


@pytest.mark.parametrize(
    ("ease", "grade", "verdict"),
    [
        (65.0, 7.0, "Plain language"),
        (65.0, 10.5, "Fairly plain"),  # easy by ease, but a grade above 8: not "plain"
        (59.0, 8.0, "Fairly plain"),  # one point below 60 is no cliff
        (49.0, 9.0, "Hard to read"),
        (70.0, 12.5, "Hard to read"),
        (75.0, None, "Plain language"),  # Spanish: no grade
    ],
)
def test_the_verdict_reads_both_scores_with_a_middle_band(ease, grade, verdict) -> None:
    assert _advice(ease, grade).startswith(verdict)


def test_no_text_scores_zero() -> None:
    assert readability("").words == 0


def test_dates_stated_needs_both_dates_in_the_narrative() -> None:
    start, found = date(2025, 3, 3), date(2025, 3, 6)
    both = "A laptop was stolen on March 3, 2025. We found out on 03/06/2025."

    assert dates_stated(both, start, found)
    assert not dates_stated("A laptop was stolen on March 3, 2025.", start, found)
    assert not dates_stated(both, None, found)  # unknown start: the letter must say so
