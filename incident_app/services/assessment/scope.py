"""Which risk-assessment questions apply, given the answers before them.

The assessment page shows a question only when it applies (nothing about encryption keys once
"not encrypted" is answered; an exception's elements only for that exception), and a saved
version keeps only the answers that apply, so the signed record (164.414(b) documentation)
never carries answers to questions its own answers ruled out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from incident_app.services.assessment.questionnaire import EXCEPTION_ELEMENTS
from incident_app.services.assessment.questionnaire import Answers

UNANSWERED = ""

# question -> (the earlier question it depends on, the answers for which it applies)
APPLIES_WHEN: dict[str, tuple[str, frozenset[str]]] = {
    # No PHI involved ends the Privacy Rule question (164.402 "breach" needs PHI).
    "use_permitted": ("phi_involved", frozenset({UNANSWERED, "yes", "unknown"})),
    **{
        name: ("safeguard", frozenset({"encryption"}))
        for name in (
            "encryption_what",
            "encryption_standard",
            "encryption_conformant",
            "key_compromised",
        )
    },
    **{
        name: ("safeguard", frozenset({"destruction"}))
        for name in ("destruction_method", "destruction_detail")
    },
    **{
        name: ("exception", frozenset(EXCEPTION_ELEMENTS))
        for name in ("exception_facts", "exception_justification")
    },
}


def _element_rules() -> dict[str, tuple[str, frozenset[str]]]:
    """Each exception element applies for the exceptions that list it (one may be shared)."""
    rules: dict[str, set[str]] = {}
    for exception, elements in EXCEPTION_ELEMENTS.items():
        for name, _label in elements:
            rules.setdefault(name, set()).add(exception)
    return {name: ("exception", frozenset(names)) for name, names in rules.items()}


APPLIES_WHEN.update(_element_rules())


def applies(name: str, answers: Mapping[str, object]) -> bool:
    """Whether question `name` applies given the other answers (unlisted ones always do)."""
    rule = APPLIES_WHEN.get(name)
    if rule is None:
        return True
    before, values = rule
    return str(answers.get(before) or UNANSWERED) in values and applies(before, answers)


def in_scope(answers: Answers) -> Answers:
    """The answers with those to questions that do not apply cleared ("" or False)."""
    kept: dict[str, object] = dict(answers)
    for name in APPLIES_WHEN:
        if not applies(name, answers):
            kept[name] = False if isinstance(answers.get(name), bool) else UNANSWERED
    return cast(Answers, kept)


def show_when() -> dict[str, dict[str, list[str]]]:
    """For the page's script: question -> {earlier question: [answers that show it]}."""
    return {name: {before: sorted(values)} for name, (before, values) in APPLIES_WHEN.items()}
