"""Pure handling of OCR's breach-portal listing: one CSV row to one normalised breach, and the
keyword classification of OCR's narratives into response actions. No database, no clock.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime

from incident_app.errors import ValidationFailed
from incident_app.models.ocr import BreachFlag
from incident_app.models.ocr import TagKind

OCR_COLUMNS = (
    "Name of Covered Entity",
    "State",
    "Covered Entity Type",
    "Individuals Affected",
    "Breach Submission Date",
    "Type of Breach",
    "Location of Breached Information",
    "Business Associate Present",
    "Web Description",
)
PORTAL_COLUMN = "Portal List"  # added by our snapshot; optional so a raw OCR export imports too
PLACEHOLDER_COUNT = 500
MAX_COUNT = 2**31 - 1
MAX_LENGTHS = {"entity_name": 300, "entity_type": 60, "token": 80, "portal_list": 40}
NO_DESCRIPTION = {"", "\\N"}  # "\N" is a database NULL that leaked into OCR's export
OCR_DUPLICATE = re.compile(
    r"\bduplicate (?:case|of a previous)|\bcase is a duplicate|\breport was a duplicate", re.I
)
STATE_CODE = re.compile(r"[A-Z]{2}")


# --------------------------------------------------------------------------------------------
# Pure: response actions found in OCR's narrative
# --------------------------------------------------------------------------------------------

# Words that turn a sentence into a description of what was missing ("the laptop was not
# encrypted", "failed to conduct a risk analysis") rather than something the entity did.
NEGATION = re.compile(
    r"\bnot\b|n't\b|\bfail\w*|\black\w*|\babsence of\b|\bnever\b|\bhad no\b", re.I
)
DOING = re.compile(
    r"\b(?:implement|adopt|install|deploy|enhanc|upgrad|requir|expand|add|began|begin|"
    r"strengthen|improv|enforc|ensur|now|will|updat|reset|chang|enabl|migrat|encrypted all)\w*",
    re.I,
)


@dataclass(frozen=True)
class ActionRule:
    code: str
    label: str
    pattern: re.Pattern[str]
    negatable: bool = True  # ignore sentences that say the thing was missing
    needs_doing: bool = False  # the keyword alone is not an action ("the password was stolen")


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


ACTION_RULES: tuple[ActionRule, ...] = (
    ActionRule(
        "credit_monitoring",
        "Offered credit monitoring or identity protection",
        _rx(
            r"credit (?:report )?monitoring|identity (?:theft )?(?:protection|monitoring"
            r"|restoration)"
        ),
        negatable=False,
    ),
    ActionRule(
        "workforce_sanctioned",
        "Sanctioned or dismissed the workforce members involved",
        _rx(
            r"\bsanction(?:ed|ing)\b|\bdisciplin(?:ed|ary action)|\b(?:terminated|fired|"
            r"dismissed) (?:the |an? |two |several )?(?:employee|workforce member|"
            r"staff member|physician|nurse)s?\b|\b(?:employee|workforce member|staff "
            r"member|physician|nurse)s? (?:was|were|has been|have been) (?:terminated|"
            r"fired|dismissed)|\bemployment (?:was|has been) terminated"
        ),
        negatable=False,
    ),
    ActionRule(
        "retrained", "Trained or retrained the workforce", _rx(r"\b(?:re-?)?train(?:ed|ing)\b")
    ),
    ActionRule(
        "encryption",
        "Adopted or extended encryption",
        _rx(r"\bencrypt(?:ed|ion|ing|s)?\b"),
        needs_doing=True,
    ),
    ActionRule(
        "policies_revised",
        "Revised policies and procedures",
        _rx(
            r"\b(?:revis|updat|modif|amend|strengthen|improv|enhanc|develop|adopt|"
            r"implement|review|creat|establish)\w*\b[^.]{0,60}\bpolic(?:y|ies)\b"
        ),
    ),
    ActionRule(
        "risk_analysis",
        "Performed a new risk analysis or risk management plan",
        _rx(r"\brisk (?:analysis|analyses|assessment|management plan)"),
    ),
    ActionRule(
        "mfa",
        "Added multi-factor authentication",
        _rx(r"\bmulti-?factor|\btwo-?factor|\bdual-factor|\b2FA\b|\bMFA\b"),
    ),
    ActionRule(
        "passwords", "Reset or strengthened passwords", _rx(r"\bpasswords?\b"), needs_doing=True
    ),
    ActionRule(
        "safeguards",
        "Implemented additional safeguards",
        _rx(
            r"\b(?:additional|new|enhanced|improved|stronger|further)\b[^.]{0,40}"
            r"\bsafeguards\b"
        ),
    ),
    ActionRule(
        "law_enforcement",
        "Notified law enforcement",
        _rx(
            r"\blaw enforcement\b|\bpolice\b|\bFBI\b|\bFederal Bureau of Investigation"
            r"|\bsheriff|\bSecret Service\b"
        ),
    ),
    ActionRule(
        "business_associate",
        "Ended or revised the business associate relationship",
        _rx(
            r"\bterminat\w*\b[^.]{0,60}\b(?:business associate|BA|contract|relationship"
            r"|vendor)\b|\b(?:revis|updat|amend)\w*\b[^.]{0,40}\bbusiness associate "
            r"(?:agreement|contract)s?"
        ),
    ),
    ActionRule(
        "ocr_technical_assistance",
        "OCR gave technical assistance",
        _rx(r"\btechnical assistance\b"),
        negatable=False,
    ),
)
ACTION_LABELS = {rule.code: rule.label for rule in ACTION_RULES}
ABBREVIATION = re.compile(
    r"(?:\b(?:Inc|Co|Corp|Ltd|Dr|St|Mr|Mrs|Ms|No|Jr|L\.L\.C|U\.S)|\b[A-Z])\.$"
)


def split_sentences(text: str) -> list[str]:
    """Sentences of a narrative; a full stop after "Inc", "Dr", "U.S" or an initial is kept."""
    pieces = re.split(r"(?<=[.!?])\s+(?=[A-Z\"“(])", " ".join(text.split()))
    sentences: list[str] = []
    for piece in pieces:
        if sentences and ABBREVIATION.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        elif piece:
            sentences.append(piece)
    return sentences


def rule_matches(rule: ActionRule, sentence: str) -> bool:
    if not rule.pattern.search(sentence):
        return False
    if rule.negatable and NEGATION.search(sentence):
        return False
    return not rule.needs_doing or DOING.search(sentence) is not None


def actions_in(text: str | None) -> list[str]:
    """Codes of the response actions a narrative reports, in ACTION_RULES order."""
    sentences = split_sentences(text or "")
    return [
        rule.code
        for rule in ACTION_RULES
        if any(rule_matches(rule, sentence) for sentence in sentences)
    ]


def sentences_for(text: str | None, code: str) -> list[str]:
    """The sentences of `text` that made the classifier report action `code`."""
    rule = next(rule for rule in ACTION_RULES if rule.code == code)
    return [s for s in split_sentences(text or "") if rule_matches(rule, s)]


# --------------------------------------------------------------------------------------------
# Pure: one CSV row → one normalised breach
# --------------------------------------------------------------------------------------------


class BadRow(ValueError):
    """A row that cannot be imported; the message says why, for the import report."""


@dataclass(frozen=True)
class ParsedBreach:
    row_key: str
    filing_key: str
    entity_name: str
    state: str | None
    entity_type: str | None
    individuals_affected: int | None
    submitted_on: date
    breach_types: list[str]
    locations: list[str]
    business_associate_present: bool
    web_description: str | None
    portal_list: str | None
    actions: list[str]
    flags: list[str]

    def columns(self) -> dict[str, object]:
        values = dict(self.__dict__)
        values["content_hash"] = _sha256(values)
        return values

    def tags(self) -> set[tuple[TagKind, str]]:
        return (
            {(TagKind.BREACH_TYPE, v) for v in self.breach_types}
            | {(TagKind.LOCATION, v) for v in self.locations}
            | {(TagKind.ACTION, v) for v in self.actions}
            | {(TagKind.FLAG, v) for v in self.flags}
        )


def _sha256(value: object) -> str:
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _clean(value: str) -> str:
    """Trailing spaces and runs of whitespace go; the text itself (and any U+FFFD) stays."""
    return " ".join(value.split())


def _limited(value: str, what: str, limit: int) -> str:
    if len(value) > limit:
        raise BadRow(f"{what} is longer than {limit} characters")
    return value


def split_multi(cell: str, what: str) -> list[str]:
    """A multi-valued OCR cell ("Laptop, Network Server") → its distinct values, in order."""
    values = [_clean(part) for part in cell.split(",")]
    distinct = list(dict.fromkeys(value for value in values if value))
    return [_limited(value, f"a {what} value", MAX_LENGTHS["token"]) for value in distinct]


def parse_count(raw: str) -> int | None:
    text = raw.strip().replace(",", "")
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise BadRow(f"Individuals Affected {raw.strip()!r} is not a whole number")
    if int(text) > MAX_COUNT:
        raise BadRow(f"Individuals Affected {raw.strip()!r} is too large")
    return int(text)


def parse_date(raw: str) -> date:
    try:
        return datetime.strptime(raw.strip(), "%m/%d/%Y").date()
    except ValueError:
        raise BadRow(
            f"Breach Submission Date {raw.strip()!r} is not a date in the form MM/DD/YYYY"
        ) from None


def parse_yes_no(raw: str) -> bool:
    answer = raw.strip().lower()
    if answer not in ("yes", "no"):
        raise BadRow(f"Business Associate Present {raw.strip()!r} is neither Yes nor No")
    return answer == "yes"


def parse_state(raw: str) -> str | None:
    state = raw.strip().upper()
    if state and not STATE_CODE.fullmatch(state):
        raise BadRow(f"State {raw.strip()!r} is not a two-letter code")
    return state or None


def parse_row(fields: Sequence[str], *, width: int) -> ParsedBreach:
    """Normalise one row of OCR's listing; raise BadRow saying what is wrong with it."""
    if len(fields) != width:
        raise BadRow(f"expected {width} fields, found {len(fields)}")
    name = _limited(_clean(fields[0]), "Name of Covered Entity", MAX_LENGTHS["entity_name"])
    if not name:
        raise BadRow("Name of Covered Entity is blank")
    count = parse_count(fields[3])
    submitted_on = parse_date(fields[4])
    cleaned = _clean(fields[8])
    description = None if cleaned in NO_DESCRIPTION else cleaned
    portal = _clean(fields[9]) if width > len(OCR_COLUMNS) else ""
    return ParsedBreach(
        row_key=_sha256(list(fields[: len(OCR_COLUMNS)])),
        filing_key=_sha256([name.casefold(), submitted_on.isoformat(), count]),
        entity_name=name,
        state=parse_state(fields[1]),
        entity_type=_limited(_clean(fields[2]), "Covered Entity Type", MAX_LENGTHS["entity_type"])
        or None,
        individuals_affected=count,
        submitted_on=submitted_on,
        breach_types=split_multi(fields[5], "Type of Breach"),
        locations=split_multi(fields[6], "Location of Breached Information"),
        business_associate_present=parse_yes_no(fields[7]),
        web_description=description,
        portal_list=_limited(portal, "Portal List", MAX_LENGTHS["portal_list"]) or None,
        actions=actions_in(description),
        flags=flags_for(fields, count, description),
    )


def flags_for(fields: Sequence[str], count: int | None, description: str | None) -> list[str]:
    flags = []
    if count is None:
        flags.append(BreachFlag.COUNT_MISSING.value)
    elif count == PLACEHOLDER_COUNT:
        flags.append(BreachFlag.COUNT_FLOOR.value)
    if any("\ufffd" in value for value in fields):
        flags.append(BreachFlag.TEXT_DAMAGED.value)
    if description and OCR_DUPLICATE.search(description):
        flags.append(BreachFlag.OCR_DUPLICATE.value)
    return flags


def check_header(header: Sequence[str] | None) -> int:
    """The number of fields per row, or ValidationFailed when this is not OCR's listing."""
    cleaned = tuple(_clean(name) for name in header or ())
    if cleaned in (OCR_COLUMNS, (*OCR_COLUMNS, PORTAL_COLUMN)):
        return len(cleaned)
    raise ValidationFailed(
        "The first line is not the header of OCR's breach listing. Expected the columns: "
        + ", ".join(OCR_COLUMNS)
        + f" (and optionally {PORTAL_COLUMN}). Nothing was imported.",
        field="path",
    )
