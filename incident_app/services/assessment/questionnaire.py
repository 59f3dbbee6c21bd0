"""The breach risk assessment's questionnaire (45 CFR 164.402): its answer tables, the `Answers`
schema, validation of a version's answers and the outcome they support. No session, no audit:
recording.py holds the use cases that save and sign versions.

The burden of proof is on the covered entity (164.414(b)): an answer that would take an
incident out of the notice rules must come with its documentation, which `outcome` checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from typing import TypedDict
from typing import cast

from incident_app.access import Capability
from incident_app.access import can
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Conclusion
from incident_app.models.user import User

YES, NO, UNKNOWN = "yes", "no", "unknown"

ElementField = Literal[
    "exc_workforce",
    "exc_good_faith",
    "exc_within_scope",
    "exc_no_further_use",
    "exc_both_authorized",
    "exc_cannot_retain",
]
EncryptionField = Literal[
    "encryption_what", "encryption_standard", "encryption_conformant", "key_compromised"
]
NarrativeField = Literal["f1_narrative", "f2_narrative", "f3_narrative", "f4_narrative"]


class Answers(TypedDict):
    """A version's answers as `clean_answers` leaves them (AssessmentVersion.answers).

    Choices and texts are "" when unanswered; the exception elements are confirmations."""

    # Choices (see CHOICES)
    phi_involved: str
    use_permitted: str
    safeguard: str
    encryption_standard: str
    encryption_conformant: str
    key_compromised: str
    destruction_method: str
    exception: str
    conclusion: str  # a Conclusion value, never ""
    f1_sensitivity: str
    f1_reidentification: str
    f2_recipient: str
    f3_acquired: str
    f4_mitigation: str
    # Texts (see TEXTS)
    phi_narrative: str
    encryption_what: str
    destruction_detail: str
    safe_harbor_narrative: str
    exception_facts: str
    exception_justification: str
    f1_narrative: str
    f2_narrative: str
    f3_narrative: str
    f4_narrative: str
    rationale: str
    # The 164.402(1) exception elements (see EXCEPTION_ELEMENTS)
    exc_workforce: bool
    exc_good_faith: bool
    exc_within_scope: bool
    exc_no_further_use: bool
    exc_both_authorized: bool
    exc_cannot_retain: bool
    f1_identifiers: list[str]  # sorted codes of IDENTIFIERS


# HHS guidance on unsecured PHI (74 FR 42740): the processes judged to meet the standard.
ENCRYPTION_STANDARDS = {
    "nist_800_111": "Data at rest: NIST SP 800-111 (storage encryption)",
    "nist_800_52": "Data in motion: NIST SP 800-52 (TLS)",
    "nist_800_77": "Data in motion: NIST SP 800-77 (IPsec VPN)",
    "nist_800_113": "Data in motion: NIST SP 800-113 (SSL VPN)",
    "fips_140": "FIPS 140-2 / 140-3 validated module",
    "other": "Other or unknown standard",
}
# Destruction: shredding/destroying hard copy, or NIST SP 800-88 sanitization of media.
# Redaction is "specifically excluded as a means of data destruction".
DESTRUCTION_METHODS = {
    "shredded": "Paper or film shredded or destroyed so it cannot be read or reconstructed",
    "nist_800_88": "Electronic media cleared, purged or destroyed per NIST SP 800-88",
    "redaction": "Redaction (does not count as destruction)",
    "other": "Other method",
}
SECURE_DESTRUCTION = frozenset({"shredded", "nist_800_88"})

# 164.402 paragraph (1): the elements each exception needs, every one of them confirmed.
EXCEPTION_ELEMENTS: dict[str, tuple[tuple[ElementField, str], ...]] = {
    "unintentional_workforce_use": (
        (
            "exc_workforce",
            "By a workforce member or person acting under the authority of the "
            "covered entity or business associate",
        ),
        ("exc_good_faith", "Unintentional, and made in good faith"),
        ("exc_within_scope", "Within the scope of that person's authority"),
        (
            "exc_no_further_use",
            "Not further used or disclosed in a manner the Privacy Rule does not permit",
        ),
    ),
    "inadvertent_authorized_disclosure": (
        (
            "exc_both_authorized",
            "Inadvertent disclosure by a person authorized to access PHI to "
            "another person authorized at the same covered entity, business "
            "associate or organized health care arrangement",
        ),
        (
            "exc_no_further_use",
            "Not further used or disclosed in a manner the Privacy Rule does not permit",
        ),
    ),
    "unable_to_retain": (
        (
            "exc_cannot_retain",
            "Good-faith belief that the unauthorized recipient would not "
            "reasonably have been able to retain the information",
        ),
    ),
}
NO_EXCEPTION = "none"  # answered: no exception of 164.402(1) applies (not left blank)
EXCEPTION_LABELS = {
    "unintentional_workforce_use": "164.402(1)(i) Unintentional good-faith workforce use",
    "inadvertent_authorized_disclosure": "164.402(1)(ii) Inadvertent disclosure between "
    "authorized persons",
    "unable_to_retain": "164.402(1)(iii) Recipient unable to retain the information",
}
ELEMENT_FIELDS = sorted({name for elements in EXCEPTION_ELEMENTS.values() for name, _ in elements})

# The four factors of 164.402(2): structured answer -> risk ("low", "high" or "unknown").
FACTOR_RISK: dict[str, dict[str, str]] = {
    "f1_sensitivity": {"low": "low", "moderate": "low", "high": "high", UNKNOWN: UNKNOWN},
    "f1_reidentification": {"low": "low", "high": "high", UNKNOWN: UNKNOWN},
    "f2_recipient": {
        "covered_entity": "low",
        "own_workforce": "low",
        "known_individual": "high",
        "malicious": "high",
        UNKNOWN: UNKNOWN,
    },
    "f3_acquired": {NO: "low", YES: "high", UNKNOWN: UNKNOWN},
    "f4_mitigation": {
        "assurances": "low",
        "returned_or_destroyed": "low",
        "partial": "high",
        "none": "high",
        UNKNOWN: UNKNOWN,
    },
}
FACTOR_NARRATIVES: tuple[NarrativeField, ...] = (
    "f1_narrative",
    "f2_narrative",
    "f3_narrative",
    "f4_narrative",
)
IDENTIFIERS = (
    "names",
    "ssn",
    "date_of_birth",
    "address",
    "financial",
    "diagnosis",
    "medications",
    "lab_results",
    "medical_record_number",
    "health_plan_id",
    "other",
)
TRI_STATE = {YES, NO, UNKNOWN}
CHOICES: dict[str, set[str]] = {
    "phi_involved": TRI_STATE,
    "use_permitted": TRI_STATE,
    "safeguard": {"none", "encryption", "destruction", UNKNOWN},
    "encryption_standard": set(ENCRYPTION_STANDARDS),
    "encryption_conformant": TRI_STATE,
    "key_compromised": TRI_STATE,
    "destruction_method": set(DESTRUCTION_METHODS),
    "exception": {*EXCEPTION_ELEMENTS, NO_EXCEPTION},
    "conclusion": {c.value for c in Conclusion},
    **{name: set(risks) for name, risks in FACTOR_RISK.items()},
}
TEXTS = (
    "phi_narrative",
    "encryption_what",
    "destruction_detail",
    "safe_harbor_narrative",
    "exception_facts",
    "exception_justification",
    *FACTOR_NARRATIVES,
    "rationale",
)
TEXT_MAX = 20_000


@dataclass(frozen=True)
class Outcome:
    """What a version's answers conclude, in the terms the rules engine reads."""

    not_phi_or_permitted: bool
    phi_secured: bool
    exception: str | None
    conclusion: Conclusion


def clean_answers(raw: Mapping[str, object]) -> Answers:
    """Keep only known answers, as strings, booleans and an identifier list. Unknown choices
    raise ValidationFailed on their field."""
    answers: dict[str, object] = {}
    for name, allowed in CHOICES.items():
        value = str(raw.get(name) or "").strip()
        if value and value not in allowed:
            raise ValidationFailed(f"Choose one of the listed answers ({value!r}).", field=name)
        answers[name] = value
    for name in TEXTS:
        value = str(raw.get(name) or "").strip()
        if len(value) > TEXT_MAX:
            raise ValidationFailed(f"Keep this under {TEXT_MAX:,} characters.", field=name)
        answers[name] = value
    for name in ELEMENT_FIELDS:
        answers[name] = bool(raw.get(name))
    identifiers = [str(item) for item in _items(raw.get("f1_identifiers"))]
    unknown = [item for item in identifiers if item not in IDENTIFIERS]
    if unknown:
        raise ValidationFailed(f"Unknown identifier type {unknown[0]!r}.", field="f1_identifiers")
    answers["f1_identifiers"] = sorted(set(identifiers))
    answers["conclusion"] = answers["conclusion"] or Conclusion.UNDECIDED.value
    # The loops above set exactly the keys of Answers (tests/services/test_assessment.py).
    return cast(Answers, answers)


def _items(value: object) -> Iterable[object]:
    """A form's list answer (a list or tuple), or nothing when unanswered."""
    return cast(Iterable[object], value or ())


def stored_answers(version: AssessmentVersion) -> Answers:
    """The answers of a saved version: `clean_answers` wrote them."""
    return cast(Answers, version.answers or {})


def factor_risks(answers: Mapping[str, object]) -> dict[str, str]:
    """Risk per structured factor answer; a missing answer counts as unknown."""
    return {
        name: table.get(cast(str, answers.get(name) or UNKNOWN), UNKNOWN)
        for name, table in FACTOR_RISK.items()
    }


def suggested_conclusion(answers: Mapping[str, object]) -> Conclusion:
    """Unknown or high-risk answers default to breach (the presumption of 164.402(2))."""
    risks = factor_risks(answers).values()
    return Conclusion.LOW_PROBABILITY if all(r == "low" for r in risks) else Conclusion.BREACH


def outcome(answers: Answers, *, actor: User) -> Outcome:
    """Validate the answers' claims and derive the outcome. Raises ValidationFailed."""
    return Outcome(
        not_phi_or_permitted=_not_phi_or_permitted(answers),
        phi_secured=_secured(answers),
        exception=_exception(answers),
        conclusion=_conclusion(answers, actor),
    )


def _not_phi_or_permitted(answers: Answers) -> bool:
    claimed = answers["phi_involved"] == NO or answers["use_permitted"] == YES
    if claimed and not answers["phi_narrative"]:
        raise ValidationFailed(
            "Explain why no PHI was involved or why the Privacy Rule permitted the use or "
            "disclosure: this finding ends the breach analysis and must be documented.",
            field="phi_narrative",
        )
    return claimed


def _secured(answers: Answers) -> bool:
    if answers["safeguard"] == "encryption":
        return _encryption_secured(answers)
    if answers["safeguard"] == "destruction":
        if not answers["destruction_method"]:
            raise ValidationFailed("Choose how the PHI was destroyed.", field="destruction_method")
        return answers["destruction_method"] in SECURE_DESTRUCTION
    return False


def _encryption_secured(answers: Answers) -> bool:
    # The guidance protects encrypted PHI only while the key or credentials are not breached.
    required: tuple[tuple[EncryptionField, str], ...] = (
        ("encryption_what", "Describe what was encrypted and with which product or algorithm."),
        ("encryption_standard", "Choose the standard the encryption follows."),
        ("encryption_conformant", "Say whether the encryption conforms to the NIST guidance."),
        (
            "key_compromised",
            "Say whether the decryption key or credentials were also exposed: "
            "encrypted PHI is unsecured if they were.",
        ),
    )
    for name, message in required:
        if not answers[name]:
            raise ValidationFailed(message, field=name)
    return (
        answers["encryption_conformant"] == YES
        and answers["key_compromised"] == NO
        and answers["encryption_standard"] != "other"
    )


def _exception(answers: Answers) -> str | None:
    name = answers["exception"]
    if name in ("", NO_EXCEPTION):
        return None
    missing = [label for field, label in EXCEPTION_ELEMENTS[name] if not answers[field]]
    if missing:
        raise ValidationFailed(
            f"{EXCEPTION_LABELS[name]} applies only if every element is met; not confirmed: "
            + "; ".join(missing)
            + ".",
            field="exception",
        )
    if not answers["exception_facts"]:
        raise ValidationFailed("Record the facts that meet the exception.", field="exception_facts")
    if not answers["exception_justification"]:
        raise ValidationFailed(
            "Explain why the exception applies: an exception without its justification is "
            "not documented (164.414(b)).",
            field="exception_justification",
        )
    return name


def _conclusion(answers: Answers, actor: User) -> Conclusion:
    conclusion = Conclusion(answers["conclusion"])
    if conclusion != Conclusion.LOW_PROBABILITY:
        return conclusion
    if not can(actor, Capability.SIGN_DETERMINATIONS):
        raise ValidationFailed(
            "Only a privacy officer can conclude a low probability of compromise. Save your "
            "analysis with the conclusion left undecided for the privacy officer to review.",
            field="conclusion",
        )
    unknown = [name for name, risk in factor_risks(answers).items() if risk == UNKNOWN]
    if unknown:
        raise ValidationFailed(
            "A low probability of compromise cannot be demonstrated while a factor is unknown "
            "or unanswered: unknown answers default to breach.",
            field=unknown[0],
        )
    for name in FACTOR_NARRATIVES:
        if not answers[name]:
            raise ValidationFailed(
                "Document this factor before concluding low probability.", field=name
            )
    if not answers["rationale"]:
        raise ValidationFailed(
            "A low-probability conclusion needs the privacy officer's rationale.",
            field="rationale",
        )
    return conclusion
