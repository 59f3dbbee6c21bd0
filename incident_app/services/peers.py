"""Peers from OCR's breach portal: import the public listing, find comparable breaches,
summarise their sizes and what the entities did in response.

Sections: pure parsing and classification (no database), the import use case, the queries.
The OCR listing is public-domain reference data, so the query functions take no actor;
`peer_report` (what the page calls) checks the capability like any other use case.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import ValidationFailed
from incident_app.models.ocr import BreachFlag
from incident_app.models.ocr import OcrBreach
from incident_app.models.ocr import OcrBreachTag
from incident_app.models.ocr import TagKind
from incident_app.models.user import User
from incident_app.services import audit

SHIPPED_CSV = Path(__file__).resolve().parents[2] / "data" / "ocr_breach_report.csv"
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
FLUSH_EVERY = 500


# --------------------------------------------------------------------------------------------
# Pure: response actions found in OCR's narrative
# --------------------------------------------------------------------------------------------

# Words that turn a sentence into a description of what was missing ("the laptop was not
# encrypted", "failed to conduct a risk analysis") rather than something the entity did.
NEGATION = re.compile(r"\bnot\b|n't\b|\bfail\w*|\black\w*|\babsence of\b|\bnever\b|\bhad no\b",
                      re.I)
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
    ActionRule("credit_monitoring", "Offered credit monitoring or identity protection",
               _rx(r"credit (?:report )?monitoring|identity (?:theft )?(?:protection|monitoring"
                   r"|restoration)"), negatable=False),
    ActionRule("workforce_sanctioned", "Sanctioned or dismissed the workforce members involved",
               _rx(r"\bsanction(?:ed|ing)\b|\bdisciplin(?:ed|ary action)|\b(?:terminated|fired|"
                   r"dismissed) (?:the |an? |two |several )?(?:employee|workforce member|"
                   r"staff member|physician|nurse)s?\b|\b(?:employee|workforce member|staff "
                   r"member|physician|nurse)s? (?:was|were|has been|have been) (?:terminated|"
                   r"fired|dismissed)|\bemployment (?:was|has been) terminated"),
               negatable=False),
    ActionRule("retrained", "Trained or retrained the workforce",
               _rx(r"\b(?:re-?)?train(?:ed|ing)\b")),
    ActionRule("encryption", "Adopted or extended encryption",
               _rx(r"\bencrypt(?:ed|ion|ing|s)?\b"), needs_doing=True),
    ActionRule("policies_revised", "Revised policies and procedures",
               _rx(r"\b(?:revis|updat|modif|amend|strengthen|improv|enhanc|develop|adopt|"
                   r"implement|review|creat|establish)\w*\b[^.]{0,60}\bpolic(?:y|ies)\b")),
    ActionRule("risk_analysis", "Performed a new risk analysis or risk management plan",
               _rx(r"\brisk (?:analysis|analyses|assessment|management plan)")),
    ActionRule("mfa", "Added multi-factor authentication",
               _rx(r"\bmulti-?factor|\btwo-?factor|\bdual-factor|\b2FA\b|\bMFA\b")),
    ActionRule("passwords", "Reset or strengthened passwords",
               _rx(r"\bpasswords?\b"), needs_doing=True),
    ActionRule("safeguards", "Implemented additional safeguards",
               _rx(r"\b(?:additional|new|enhanced|improved|stronger|further)\b[^.]{0,40}"
                   r"\bsafeguards\b")),
    ActionRule("law_enforcement", "Notified law enforcement",
               _rx(r"\blaw enforcement\b|\bpolice\b|\bFBI\b|\bFederal Bureau of Investigation"
                   r"|\bsheriff|\bSecret Service\b")),
    ActionRule("business_associate", "Ended or revised the business associate relationship",
               _rx(r"\bterminat\w*\b[^.]{0,60}\b(?:business associate|BA|contract|relationship"
                   r"|vendor)\b|\b(?:revis|updat|amend)\w*\b[^.]{0,40}\bbusiness associate "
                   r"(?:agreement|contract)s?")),
    ActionRule("ocr_technical_assistance", "OCR gave technical assistance",
               _rx(r"\btechnical assistance\b"), negatable=False),
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
    return [rule.code for rule in ACTION_RULES
            if any(rule_matches(rule, sentence) for sentence in sentences)]


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
    description = _clean(fields[8])
    description = None if description in NO_DESCRIPTION else description
    portal = _clean(fields[9]) if width > len(OCR_COLUMNS) else ""
    return ParsedBreach(
        row_key=_sha256(list(fields[: len(OCR_COLUMNS)])),
        filing_key=_sha256([name.casefold(), submitted_on.isoformat(), count]),
        entity_name=name,
        state=parse_state(fields[1]),
        entity_type=_limited(_clean(fields[2]), "Covered Entity Type",
                             MAX_LENGTHS["entity_type"]) or None,
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
        + ", ".join(OCR_COLUMNS) + f" (and optionally {PORTAL_COLUMN}). Nothing was imported.",
        field="path",
    )


# --------------------------------------------------------------------------------------------
# The import use case
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # the same OCR row twice in one file: imported once
    rejected: list[RejectedRow] = field(default_factory=list)
    file_sha256: str = ""

    @property
    def skipped(self) -> int:
        return self.unchanged + self.duplicates + len(self.rejected)


def import_file(
    session: Session, *, path: Path, actor: User | None, now: datetime,
    actor_label: str | None = None,
) -> ImportReport:
    """Import OCR's listing from `path`, idempotently; commits once with one audit event.

    Broken rows are skipped and listed in the report; a file that is not OCR's listing
    (wrong header, not CSV) raises ValidationFailed and nothing is written.
    """
    if not path.is_file():
        raise ValidationFailed(f"No such file: {path}", field="path")
    report = ImportReport(file_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
        try:
            _import_rows(session, stream, report)
        except ValidationFailed:
            session.rollback()
            raise
    _mark_repeated_filings(session)
    audit.record(
        session, actor=actor, actor_label=actor_label, action="ocr.imported", at=now,
        subject_type="ocr_breach",
        details={"file": path.name, "sha256": report.file_sha256, "inserted": report.inserted,
                 "updated": report.updated, "unchanged": report.unchanged,
                 "duplicates": report.duplicates, "rejected": len(report.rejected),
                 "rejected_lines": [row.line for row in report.rejected[:50]]},
    )
    session.commit()
    return report


def _import_rows(session: Session, stream: TextIO, report: ImportReport) -> None:
    reader = csv.reader(stream)
    line = 1
    try:
        width = check_header(next(reader, None))
        known = {key: (row_id, digest) for key, row_id, digest in session.execute(
            sa.select(OcrBreach.row_key, OcrBreach.id, OcrBreach.content_hash))}
        seen: set[str] = set()
        pending: list[OcrBreach] = []
        line = reader.line_num + 1
        for fields in reader:
            _import_one(session, fields, line, width, known, seen, pending, report)
            line = reader.line_num + 1
            if len(pending) >= FLUSH_EVERY:
                _flush(session, pending)
        _flush(session, pending)
    except csv.Error as error:
        raise ValidationFailed(
            f"Line {line}: the file cannot be read as CSV ({error}). Nothing was imported.",
            field="path",
        ) from error


def _import_one(
    session: Session, fields: list[str], line: int, width: int,
    known: dict[str, tuple[int, str]], seen: set[str], pending: list[OcrBreach],
    report: ImportReport,
) -> None:
    if not any(value.strip() for value in fields):
        return  # a blank line
    try:
        parsed = parse_row(fields, width=width)
    except BadRow as problem:
        report.rejected.append(RejectedRow(line, str(problem)))
        return
    if parsed.row_key in seen:
        report.duplicates += 1
        return
    seen.add(parsed.row_key)
    columns = parsed.columns()
    existing = known.get(parsed.row_key)
    if existing is None:
        pending.append(_new_breach(columns, parsed.tags()))
        report.inserted += 1
    elif existing[1] != columns["content_hash"]:
        _update_breach(session.get_one(OcrBreach, existing[0]), columns, parsed.tags())
        report.updated += 1
    else:
        report.unchanged += 1


def _new_breach(columns: dict[str, object], tags: set[tuple[TagKind, str]]) -> OcrBreach:
    breach = OcrBreach(**columns)
    breach.tags = [OcrBreachTag(kind=kind, value=value) for kind, value in sorted(tags)]
    return breach


def _update_breach(
    breach: OcrBreach, columns: dict[str, object], tags: set[tuple[TagKind, str]]
) -> None:
    for name, value in columns.items():
        setattr(breach, name, value)
    breach.tags = [tag for tag in breach.tags if (tag.kind, tag.value) in tags]
    present = {(tag.kind, tag.value) for tag in breach.tags}
    breach.tags.extend(OcrBreachTag(kind=k, value=v) for k, v in sorted(tags - present))


def _flush(session: Session, pending: list[OcrBreach]) -> None:
    """Write a batch and forget it, so memory stays flat however long the file is."""
    session.add_all(pending)
    session.flush()
    for breach in pending:
        session.expunge(breach)
    pending.clear()


def _mark_repeated_filings(session: Session) -> None:
    repeated = (
        sa.select(OcrBreach.filing_key)
        .group_by(OcrBreach.filing_key)
        .having(sa.func.count() > 1)
    )
    is_repeated = OcrBreach.filing_key.in_(repeated)
    session.execute(
        sa.update(OcrBreach)
        .where(OcrBreach.repeated_filing != is_repeated)
        .values(repeated_filing=is_repeated)
        .execution_options(synchronize_session=False)
    )


def breach_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(OcrBreach)) or 0


# --------------------------------------------------------------------------------------------
# Pure: size statistics
# --------------------------------------------------------------------------------------------

# (label, lowest count in the bin); each bin runs up to the next one's lowest count.
SIZE_BINS: tuple[tuple[str, int], ...] = (
    ("Under 1,000", 0),
    ("1,000–4,999", 1_000),
    ("5,000–9,999", 5_000),
    ("10,000–49,999", 10_000),
    ("50,000–99,999", 50_000),
    ("100,000–999,999", 100_000),
    ("1 million or more", 1_000_000),
)


@dataclass(frozen=True)
class SizeBin:
    label: str
    low: int
    count: int


@dataclass(frozen=True)
class Distribution:
    count: int
    minimum: int | None
    q1: int | None
    median: int | None
    q3: int | None
    p90: int | None
    maximum: int | None
    bins: tuple[SizeBin, ...]
    at_floor: int = 0  # rows of exactly 500 (possibly placeholders)
    missing: int = 0  # rows without a count (not in the statistics)


def quantile(ordered: Sequence[int], q: float) -> int:
    """Linear interpolation between closest ranks (numpy's default), rounded to a person."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def summarise(counts: Iterable[int], *, missing: int = 0) -> Distribution:
    ordered = sorted(counts)
    bins = tuple(
        SizeBin(label, low, sum(1 for n in ordered if low <= n < high))
        for (label, low), high in zip(
            SIZE_BINS, [b[1] for b in SIZE_BINS[1:]] + [MAX_COUNT + 1], strict=True)
    )
    if not ordered:
        return Distribution(0, None, None, None, None, None, None, bins, 0, missing)
    return Distribution(
        count=len(ordered), minimum=ordered[0], q1=quantile(ordered, 0.25),
        median=quantile(ordered, 0.5), q3=quantile(ordered, 0.75), p90=quantile(ordered, 0.9),
        maximum=ordered[-1], bins=bins,
        at_floor=sum(1 for n in ordered if n == PLACEHOLDER_COUNT), missing=missing,
    )


def share_at_or_below(counts: Sequence[int], value: int) -> float | None:
    """The fraction of `counts` that are ≤ value (where a breach of `value` falls)."""
    if not counts:
        return None
    return sum(1 for n in counts if n <= value) / len(counts)


# --------------------------------------------------------------------------------------------
# Queries: comparable breaches
# --------------------------------------------------------------------------------------------

MIN_PEERS = 10


@dataclass(frozen=True)
class PeerCriteria:
    breach_types: frozenset[str] = frozenset()
    locations: frozenset[str] = frozenset()
    entity_type: str | None = None
    affected: int | None = None

    @classmethod
    def of(cls, *, breach_types: Iterable[str] = (), locations: Iterable[str] = (),
           entity_type: str | None = None, affected: int | None = None) -> PeerCriteria:
        if affected is not None and affected < 1:
            raise ValidationFailed("Individuals affected must be at least 1.", field="affected")
        return cls(frozenset(breach_types), frozenset(locations), entity_type or None, affected)


@dataclass(frozen=True)
class Tier:
    """How strictly "comparable" is read: which criteria must match, how close in size."""

    same_location: bool
    same_entity: bool
    size_factor: int | None  # within ×factor of the count; None: any size

    def effective(self, criteria: PeerCriteria) -> Tier:
        return Tier(
            self.same_location and bool(criteria.locations),
            self.same_entity and criteria.entity_type is not None,
            self.size_factor if criteria.affected is not None else None,
        )

    def describe(self, criteria: PeerCriteria) -> str:
        parts = ["same type of breach"] if criteria.breach_types else []
        parts += ["same location"] if self.same_location else []
        parts += ["same type of entity"] if self.same_entity else []
        if self.size_factor and criteria.affected:
            low, high = size_band(criteria.affected, self.size_factor)
            parts.append(f"{low:,}–{high:,} individuals (within ×{self.size_factor})")
        return ", ".join(parts) or "all breaches in OCR's listing"


# Tried in order until one yields MIN_PEERS breaches: widen the size band first, then drop
# the entity type, then the location. The type of breach is kept whenever it was given.
TIERS = (
    Tier(True, True, 3), Tier(True, True, 10),
    Tier(True, False, 3), Tier(True, False, 10),
    Tier(False, False, 3), Tier(False, False, 10), Tier(False, False, None),
)


def size_band(affected: int, factor: int) -> tuple[int, int]:
    return -(-affected // factor), affected * factor


def _has_tag(kind: TagKind, values: Iterable[str]) -> sa.ColumnElement[bool]:
    return (
        sa.select(OcrBreachTag.breach_id)
        .where(OcrBreachTag.breach_id == OcrBreach.id, OcrBreachTag.kind == kind,
               OcrBreachTag.value.in_(sorted(values)))
        .exists()
    )


def _conditions(criteria: PeerCriteria, tier: Tier) -> list[sa.ColumnElement[bool]]:
    conditions = [~_has_tag(TagKind.FLAG, [BreachFlag.OCR_DUPLICATE.value])]
    if criteria.breach_types:
        conditions.append(_has_tag(TagKind.BREACH_TYPE, criteria.breach_types))
    if tier.same_location:
        conditions.append(_has_tag(TagKind.LOCATION, criteria.locations))
    if tier.same_entity:
        conditions.append(OcrBreach.entity_type == criteria.entity_type)
    if tier.size_factor and criteria.affected:
        low, high = size_band(criteria.affected, tier.size_factor)
        conditions.append(OcrBreach.individuals_affected.between(low, high))
    return conditions


def _count(session: Session, criteria: PeerCriteria, tier: Tier) -> int:
    stmt = sa.select(sa.func.count()).select_from(OcrBreach).where(*_conditions(criteria, tier))
    return session.scalar(stmt) or 0


def resolve_tier(
    session: Session, criteria: PeerCriteria, *, min_peers: int = MIN_PEERS
) -> tuple[Tier, int]:
    """The strictest tier with at least `min_peers` breaches (else the broadest), and its size."""
    tried: set[Tier] = set()
    tier, total = TIERS[-1].effective(criteria), 0
    for candidate in (t.effective(criteria) for t in TIERS):
        if candidate in tried:
            continue
        tried.add(candidate)
        tier, total = candidate, _count(session, criteria, candidate)
        if total >= min_peers:
            break
    return tier, total


def _ranking(criteria: PeerCriteria) -> list[sa.ColumnElement[object]]:
    """More criteria matched first, then the closest in size, then the most recent."""
    score: sa.ColumnElement[int] = sa.literal(0)
    if criteria.locations:
        score = score + sa.case((_has_tag(TagKind.LOCATION, criteria.locations), 1), else_=0)
    if criteria.entity_type:
        score = score + sa.case((OcrBreach.entity_type == criteria.entity_type, 1), else_=0)
    order: list[sa.ColumnElement[object]] = [score.desc()]
    if criteria.affected:
        n, target = OcrBreach.individuals_affected, criteria.affected
        ratio = sa.case((n >= target, n * 1.0 / target), else_=target * 1.0 / n)
        order += [(n.is_(None)).asc(), ratio.asc()]
    return [*order, OcrBreach.submitted_on.desc(), OcrBreach.id.desc()]


@dataclass(frozen=True)
class Peer:
    breach: OcrBreach
    same_location: bool
    same_entity: bool
    size_ratio: float | None  # how many times larger (>1) or smaller (<1) than ours


@dataclass(frozen=True)
class ComparablePage:
    peers: list[Peer]
    total: int
    tier: Tier
    criteria: PeerCriteria
    limit: int
    offset: int

    @property
    def criteria_text(self) -> str:
        return self.tier.describe(self.criteria)

    @property
    def widened(self) -> bool:
        """True when too few breaches matched every criterion, so some were relaxed."""
        return self.tier != TIERS[0].effective(self.criteria)


def _peer(breach: OcrBreach, criteria: PeerCriteria) -> Peer:
    n = breach.individuals_affected
    return Peer(
        breach=breach,
        same_location=bool(criteria.locations & set(breach.locations)),
        same_entity=criteria.entity_type is not None and breach.entity_type == criteria.entity_type,
        size_ratio=n / criteria.affected if n and criteria.affected else None,
    )


def _comparable_page(
    session: Session, criteria: PeerCriteria, tier: Tier, total: int, limit: int, offset: int
) -> ComparablePage:
    rows = session.scalars(
        sa.select(OcrBreach).where(*_conditions(criteria, tier))
        .order_by(*_ranking(criteria)).limit(limit).offset(offset)
    ).all()
    return ComparablePage([_peer(row, criteria) for row in rows], total, tier, criteria,
                          limit, offset)


def comparable_breaches(
    session: Session, *, breach_types: Iterable[str] = (), locations: Iterable[str] = (),
    entity_type: str | None = None, affected: int | None = None, limit: int = 25,
    offset: int = 0, min_peers: int = MIN_PEERS,
) -> ComparablePage:
    """Breaches like ours, ranked; the criteria are relaxed (see TIERS) until enough match."""
    criteria = PeerCriteria.of(breach_types=breach_types, locations=locations,
                               entity_type=entity_type, affected=affected)
    tier, total = resolve_tier(session, criteria, min_peers=min_peers)
    return _comparable_page(session, criteria, tier, total, limit, offset)


# --------------------------------------------------------------------------------------------
# Queries: sizes and response actions over the comparable set
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeComparison:
    comparable: Distribution
    overall: Distribution
    affected: int | None
    share_at_or_below: float | None  # of the comparable breaches, how many were ≤ ours


def _counts(session: Session, conditions: list[sa.ColumnElement[bool]]) -> tuple[list[int], int]:
    values = session.scalars(
        sa.select(OcrBreach.individuals_affected).where(*conditions)).all()
    counts = [n for n in values if n is not None]
    return counts, len(values) - len(counts)


def _size_comparison(session: Session, criteria: PeerCriteria, tier: Tier) -> SizeComparison:
    counts, missing = _counts(session, _conditions(criteria, tier))
    everything, everything_missing = _counts(session, _conditions(PeerCriteria(), Tier(
        False, False, None)))
    share = share_at_or_below(counts, criteria.affected) if criteria.affected else None
    return SizeComparison(summarise(counts, missing=missing),
                          summarise(everything, missing=everything_missing),
                          criteria.affected, share)


def size_distribution(
    session: Session, *, breach_types: Iterable[str] = (), locations: Iterable[str] = (),
    entity_type: str | None = None, affected: int | None = None, min_peers: int = MIN_PEERS,
) -> SizeComparison:
    """Count, min, quartiles, p90 and max over the comparable set and over all of OCR's data."""
    criteria = PeerCriteria.of(breach_types=breach_types, locations=locations,
                               entity_type=entity_type, affected=affected)
    tier, _total = resolve_tier(session, criteria, min_peers=min_peers)
    return _size_comparison(session, criteria, tier)


@dataclass(frozen=True)
class ActionExample:
    entity_name: str
    submitted_on: date
    sentence: str


@dataclass(frozen=True)
class ActionEvidence:
    code: str
    label: str
    breaches: int
    examples: list[ActionExample]


@dataclass(frozen=True)
class ActionsSummary:
    described: int  # comparable breaches with a narrative to read
    actions: list[ActionEvidence]


MAX_EXAMPLE_CHARS = 400


def _examples(
    session: Session, conditions: list[sa.ColumnElement[bool]], code: str, limit: int
) -> list[ActionExample]:
    rows = session.execute(
        sa.select(OcrBreach.entity_name, OcrBreach.submitted_on, OcrBreach.web_description)
        .where(*conditions, _has_tag(TagKind.ACTION, [code]))
        .order_by(OcrBreach.submitted_on.desc(), OcrBreach.id.desc()).limit(limit)
    ).all()
    examples = []
    for name, submitted_on, text in rows:
        sentence = (sentences_for(text, code) or [""])[0]
        if len(sentence) > MAX_EXAMPLE_CHARS:
            sentence = sentence[: MAX_EXAMPLE_CHARS - 1].rstrip() + "…"
        examples.append(ActionExample(name, submitted_on, sentence))
    return examples


def _actions_summary(
    session: Session, criteria: PeerCriteria, tier: Tier, examples: int
) -> ActionsSummary:
    conditions = _conditions(criteria, tier)
    described = session.scalar(sa.select(sa.func.count()).select_from(OcrBreach).where(
        *conditions, OcrBreach.web_description.is_not(None))) or 0
    in_set = sa.select(OcrBreach.id).where(*conditions)
    counts = dict(session.execute(
        sa.select(OcrBreachTag.value, sa.func.count())
        .where(OcrBreachTag.kind == TagKind.ACTION, OcrBreachTag.breach_id.in_(in_set))
        .group_by(OcrBreachTag.value)
    ).all())
    evidence = [
        ActionEvidence(code, ACTION_LABELS[code], counts[code],
                       _examples(session, conditions, code, examples))
        for code in sorted(counts, key=lambda c: (-counts[c], list(ACTION_LABELS).index(c)))
        if code in ACTION_LABELS
    ]
    return ActionsSummary(described, evidence)


def response_actions(
    session: Session, *, breach_types: Iterable[str] = (), locations: Iterable[str] = (),
    entity_type: str | None = None, affected: int | None = None, examples: int = 3,
    min_peers: int = MIN_PEERS,
) -> ActionsSummary:
    """What comparable entities reported doing, by action, most frequent first, with examples."""
    criteria = PeerCriteria.of(breach_types=breach_types, locations=locations,
                               entity_type=entity_type, affected=affected)
    tier, _total = resolve_tier(session, criteria, min_peers=min_peers)
    return _actions_summary(session, criteria, tier, examples)


# --------------------------------------------------------------------------------------------
# The page's use case
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerReport:
    page: ComparablePage
    sizes: SizeComparison
    actions: ActionsSummary
    imported: int  # rows in the reference table (0: nothing imported yet)


def peer_report(
    session: Session, *, actor: User, criteria: PeerCriteria, page: int = 1, per_page: int = 25,
) -> PeerReport:
    """Everything the peers page shows, with the comparable set resolved once."""
    require(actor, Capability.USE_CALCULATOR)
    tier, total = resolve_tier(session, criteria)
    last_page = max(1, -(-total // per_page))
    offset = (min(max(page, 1), last_page) - 1) * per_page
    return PeerReport(
        page=_comparable_page(session, criteria, tier, total, per_page, offset),
        sizes=_size_comparison(session, criteria, tier),
        actions=_actions_summary(session, criteria, tier, 3),
        imported=breach_count(session),
    )


def filter_choices(session: Session) -> dict[str, list[str]]:
    """The values present in the data, for the filter form (OCR's option lists drift)."""
    tags = session.execute(
        sa.select(OcrBreachTag.kind, OcrBreachTag.value)
        .where(OcrBreachTag.kind.in_([TagKind.BREACH_TYPE, TagKind.LOCATION]))
        .distinct().order_by(OcrBreachTag.value)
    ).all()
    entities = session.scalars(
        sa.select(OcrBreach.entity_type).where(OcrBreach.entity_type.is_not(None))
        .distinct().order_by(OcrBreach.entity_type)
    ).all()
    return {
        "type": [value for kind, value in tags if kind == TagKind.BREACH_TYPE],
        "location": [value for kind, value in tags if kind == TagKind.LOCATION],
        "entity": list(entities),
    }
