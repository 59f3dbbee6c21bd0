"""Check a notice for the content 45 CFR 164.404(c) requires, before it goes to legal review.

Pure: the letter context (letters.IndividualNoticeContext and friends) and the text read back
from the rendered PDF go in, a report comes out. Elements are checked in BOTH places: the case
data must hold the fact, and the letter the reader gets must actually print it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from incident_app.letters.templates import MONTHS_EN
from incident_app.letters.templates import MONTHS_ES

TOLL_FREE_AREA_CODES = frozenset({"800", "833", "844", "855", "866", "877", "888"})
PLAIN_LANGUAGE_GRADE = 8.0  # plain-language guidance aims at grade 8 or below
HARD_EASE = 50.0  # Flesch below 50 is "fairly difficult" to "difficult"
HARD_GRADE = 12.0  # beyond high school
PLAIN_LANGUAGE_EASE = 60.0  # Flesch 60-70 is "plain English"; Fernández Huerta uses the same scale


class Element(StrEnum):
    """The required elements, named as a reviewer would name them."""

    WHAT_HAPPENED = "(A) what happened"
    BREACH_DATE = "(A) date of the breach"
    DISCOVERY_DATE = "(A) date of discovery"
    PHI_TYPES = "(B) types of information involved"
    STEPS = "(C) steps individuals should take"
    WHAT_WE_ARE_DOING = "(D) what the organisation is doing"
    CONTACT = "(E) contact procedures"
    TOLL_FREE = "(E) toll-free number (substitute notice)"


@dataclass(frozen=True)
class Readability:
    ease: float  # Flesch reading ease (English) or Fernández Huerta (Spanish); higher is easier
    grade: float | None  # Flesch-Kincaid grade level (English only)
    words: int
    sentences: int
    advice: str


@dataclass(frozen=True)
class ContentReport:
    missing: tuple[Element, ...]
    phi_warnings: tuple[str, ...]  # places that look like actual PHI values, not types
    notes: tuple[str, ...]
    readability: Readability

    @property
    def ready_for_review(self) -> bool:
        return not self.missing and not self.phi_warnings


def check_notice(
    context: Mapping[str, Any],
    text: str,
    *,
    language: str = "en",
    substitute_notice: bool = False,
) -> ContentReport:
    """Which 164.404(c)(1) elements are missing from `context` or from the rendered `text`.

    `substitute_notice`: conspicuous substitute notice (164.404(d)(2)(ii)) applies, so a
    toll-free number is mandatory.
    """
    breach = context.get("breach") or {}
    organisation = context.get("organisation") or {}
    flat = _normalise(text)
    missing, notes = _check_facts(breach, flat)
    contact_missing, contact_notes = _check_contact(organisation, flat, substitute_notice)
    return ContentReport(
        missing=tuple(missing + contact_missing),
        phi_warnings=tuple(phi_warnings(breach, text)),
        notes=tuple(notes + contact_notes),
        readability=readability(text, language=language),
    )


def _check_facts(breach: Mapping[str, Any], flat: str) -> tuple[list[Element], list[str]]:
    missing: list[Element] = []
    notes: list[str] = []
    if not _printed(breach.get("what_happened"), flat):
        missing.append(Element.WHAT_HAPPENED)
    start = breach.get("breach_start")
    if start is None:
        # "if known" (164.404(c)(1)(A)): allowed, but say so plainly in the letter.
        notes.append("The breach date is not known; the letter must say so.")
    elif not _date_printed(start, flat):
        missing.append(Element.BREACH_DATE)
    discovered = breach.get("discovered_on")
    if not isinstance(discovered, date) or not _date_printed(discovered, flat):
        missing.append(Element.DISCOVERY_DATE)
    for element, key in (
        (Element.PHI_TYPES, "phi_types"),
        (Element.STEPS, "steps_for_individuals"),
        (Element.WHAT_WE_ARE_DOING, "what_we_are_doing"),
    ):
        items = breach.get(key) or []
        if not items or not all(_printed(item, flat) for item in items):
            missing.append(element)
    return missing, notes


def _check_contact(
    organisation: Mapping[str, Any], flat: str, substitute_notice: bool
) -> tuple[list[Element], list[str]]:
    channels = [
        organisation.get("toll_free_number"),
        organisation.get("email"),
        organisation.get("website"),
        ", ".join(organisation.get("address_lines") or []) or None,
    ]
    missing = [] if any(_printed(value, flat) for value in channels) else [Element.CONTACT]
    notes: list[str] = []
    number = organisation.get("toll_free_number") or ""
    toll_free = is_toll_free(number) and _printed(number, flat)
    if number and not is_toll_free(number):
        notes.append(f"{number} is not a toll-free number (800, 833, 844, 855, 866, 877, 888).")
    if substitute_notice and not toll_free:
        missing.append(Element.TOLL_FREE)
    return missing, notes


def is_toll_free(number: str) -> bool:
    """A North American toll-free number: +1 / 1, then 800, 833, 844, 855, 866, 877 or 888."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return len(digits) == 10 and digits[:3] in TOLL_FREE_AREA_CODES


# ---- PHI values where only types belong ---------------------------------------------------

SSN = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)|(?<![\d-])\d{9}(?![\d-])")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
LABELLED_VALUE = re.compile(
    r"\b(?:MRN|medical record (?:number|no\.?)|DOB|date of birth|SSN|social security "
    r"(?:number|no\.?)|member id|account (?:number|no\.?))\s*[:#]\s*\S+",
    re.IGNORECASE,
)


def phi_warnings(breach: Mapping[str, Any], text: str) -> list[str]:
    """Places where the case data or letter seem to hold PHI values (an SSN, a card number,
    "DOB: ...") where 164.404(c)(1)(B) wants only the types."""
    warnings = []
    for place, value in [*_breach_strings(breach), ("letter text", text)]:
        for kind, found in _phi_values(value):
            warnings.append(f"{place}: looks like {kind} ({_mask(found)})")
    return warnings


def _breach_strings(breach: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for key, value in breach.items():
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    yield f"{key}[{index}]", item


def _phi_values(value: str) -> Iterable[tuple[str, str]]:
    for match in SSN.finditer(value):
        yield "a Social Security number", match.group()
    for match in CARD.finditer(value):
        if _luhn_valid(re.sub(r"\D", "", match.group())):
            yield "a payment card number", match.group()
    for match in LABELLED_VALUE.finditer(value):
        yield "a labelled identifier", match.group()


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _mask(value: str) -> str:
    """Never echo the PHI itself back into a report: keep the shape, hide the digits."""
    return re.sub(r"\d", "•", value)


# ---- readability ---------------------------------------------------------------------------

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n")
VOWEL_GROUPS = {"en": re.compile(r"[aeiouy]+"), "es": re.compile(r"[aeiouáéíóúü]+")}


def readability(text: str, *, language: str = "en") -> Readability:
    """Flesch reading ease and Flesch-Kincaid grade (English) or Fernández Huerta ease
    (Spanish), computed here. Advice only: plain language (164.404(c)(2)) is a judgement."""
    sentences = [s for s in SENTENCE_END.split(text) if WORD.search(s)]
    words = WORD.findall(text)
    if not words:
        return Readability(0.0, None, 0, 0, "No text to score.")
    syllables = sum(_syllables(word, language) for word in words)
    per_sentence = len(words) / max(len(sentences), 1)
    per_word = syllables / len(words)
    if language == "es":
        # Fernández Huerta: 206.84 - 0.60 x syllables per 100 words - 1.02 x words per sentence
        ease = 206.84 - 60.0 * per_word - 1.02 * per_sentence
        grade = None
    else:
        ease = 206.835 - 1.015 * per_sentence - 84.6 * per_word
        grade = round(0.39 * per_sentence + 11.8 * per_word - 15.59, 1)
    return Readability(round(ease, 1), grade, len(words), len(sentences), _advice(ease, grade))


def _syllables(word: str, language: str) -> int:
    lowered = word.lower()
    count = len(VOWEL_GROUPS.get(language, VOWEL_GROUPS["en"]).findall(lowered))
    if language != "es" and lowered.endswith("e") and not lowered.endswith(("le", "ee")):
        count -= 1  # silent final e: "notice", "have"
    return max(count, 1)


def _advice(ease: float, grade: float | None) -> str:
    """One verdict from both scores, with a middle band: ease alone said "plain" beside a
    college grade, and a one-point change between versions flipped "plain" to "hard"."""
    level = f"reading ease {ease:.0f}" + (f", grade {grade:.1f}" if grade is not None else "")
    grade_ok = grade is None or grade <= PLAIN_LANGUAGE_GRADE
    if ease >= PLAIN_LANGUAGE_EASE and grade_ok:
        return f"Plain language ({level})."
    if ease < HARD_EASE or (grade is not None and grade > HARD_GRADE):
        return f"Hard to read ({level}): use shorter sentences and everyday words."
    return f"Fairly plain ({level}): shorter sentences would help some readers."


# ---- text matching -------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _printed(value: object, flat: str) -> bool:
    return isinstance(value, str) and bool(value.strip()) and _normalise(value) in flat


def dates_stated(text: str, start: date | None, discovered: date) -> bool:
    """Whether the officer's own "what happened" already states when the breach happened and
    when it was discovered (164.404(c)(1)(A)), so the letter need not say it again."""
    flat = _normalise(text)
    return start is not None and _date_printed(start, flat) and _date_printed(discovered, flat)


def _date_printed(value: date, flat: str) -> bool:
    forms = {
        f"{MONTHS_EN[value.month - 1]} {value.day}, {value.year}",
        f"{value.day} de {MONTHS_ES[value.month - 1]} de {value.year}",
        value.strftime("%m/%d/%Y"),
        value.isoformat(),
    }
    return any(form.casefold() in flat for form in forms)
