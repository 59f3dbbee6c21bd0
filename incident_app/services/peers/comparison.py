"""Peers from OCR's breach portal: import the public listing, find comparable breaches,
summarise their sizes and what the entities did in response.

Sections: the import use case and the queries; the pure parsing and narrative classification
are in services/ocr_parsing.py.
The OCR listing is public-domain reference data, so the query functions take no actor;
`peer_report` (what the page calls) checks the capability like any other use case.
"""

from __future__ import annotations

import csv
import hashlib
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
from incident_app.services.peers.ocr_parsing import ACTION_LABELS
from incident_app.services.peers.ocr_parsing import MAX_COUNT
from incident_app.services.peers.ocr_parsing import PLACEHOLDER_COUNT
from incident_app.services.peers.ocr_parsing import BadRow
from incident_app.services.peers.ocr_parsing import check_header
from incident_app.services.peers.ocr_parsing import parse_row
from incident_app.services.peers.ocr_parsing import sentences_for

SHIPPED_CSV = Path(__file__).resolve().parents[3] / "data" / "ocr_breach_report.csv"
FLUSH_EVERY = 500


# Pure parsing and classification live in services/ocr_parsing.py.

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
    session: Session,
    *,
    path: Path,
    actor: User | None,
    now: datetime,
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
        session,
        actor=actor,
        actor_label=actor_label,
        action="ocr.imported",
        at=now,
        subject_type="ocr_breach",
        details={
            "file": path.name,
            "sha256": report.file_sha256,
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "duplicates": report.duplicates,
            "rejected": len(report.rejected),
            "rejected_lines": [row.line for row in report.rejected[:50]],
        },
    )
    session.commit()
    return report


def _import_rows(session: Session, stream: TextIO, report: ImportReport) -> None:
    reader = csv.reader(stream)
    line = 1
    try:
        width = check_header(next(reader, None))
        known = {
            key: (row_id, digest)
            for key, row_id, digest in session.execute(
                sa.select(OcrBreach.row_key, OcrBreach.id, OcrBreach.content_hash)
            )
        }
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
    session: Session,
    fields: list[str],
    line: int,
    width: int,
    known: dict[str, tuple[int, str]],
    seen: set[str],
    pending: list[OcrBreach],
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
        sa.select(OcrBreach.filing_key).group_by(OcrBreach.filing_key).having(sa.func.count() > 1)
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
            SIZE_BINS, [b[1] for b in SIZE_BINS[1:]] + [MAX_COUNT + 1], strict=True
        )
    )
    if not ordered:
        return Distribution(0, None, None, None, None, None, None, bins, 0, missing)
    return Distribution(
        count=len(ordered),
        minimum=ordered[0],
        q1=quantile(ordered, 0.25),
        median=quantile(ordered, 0.5),
        q3=quantile(ordered, 0.75),
        p90=quantile(ordered, 0.9),
        maximum=ordered[-1],
        bins=bins,
        at_floor=sum(1 for n in ordered if n == PLACEHOLDER_COUNT),
        missing=missing,
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
    def of(
        cls,
        *,
        breach_types: Iterable[str] = (),
        locations: Iterable[str] = (),
        entity_type: str | None = None,
        affected: int | None = None,
    ) -> PeerCriteria:
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
    Tier(True, True, 3),
    Tier(True, True, 10),
    Tier(True, False, 3),
    Tier(True, False, 10),
    Tier(False, False, 3),
    Tier(False, False, 10),
    Tier(False, False, None),
)


def size_band(affected: int, factor: int) -> tuple[int, int]:
    return -(-affected // factor), affected * factor


def _has_tag(kind: TagKind, values: Iterable[str]) -> sa.ColumnElement[bool]:
    return (
        sa.select(OcrBreachTag.breach_id)
        .where(
            OcrBreachTag.breach_id == OcrBreach.id,
            OcrBreachTag.kind == kind,
            OcrBreachTag.value.in_(sorted(values)),
        )
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
        sa.select(OcrBreach)
        .where(*_conditions(criteria, tier))
        .order_by(*_ranking(criteria))
        .limit(limit)
        .offset(offset)
    ).all()
    return ComparablePage(
        [_peer(row, criteria) for row in rows], total, tier, criteria, limit, offset
    )


def comparable_breaches(
    session: Session,
    *,
    breach_types: Iterable[str] = (),
    locations: Iterable[str] = (),
    entity_type: str | None = None,
    affected: int | None = None,
    limit: int = 25,
    offset: int = 0,
    min_peers: int = MIN_PEERS,
) -> ComparablePage:
    """Breaches like ours, ranked; the criteria are relaxed (see TIERS) until enough match."""
    criteria = PeerCriteria.of(
        breach_types=breach_types, locations=locations, entity_type=entity_type, affected=affected
    )
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
    values = session.scalars(sa.select(OcrBreach.individuals_affected).where(*conditions)).all()
    counts = [n for n in values if n is not None]
    return counts, len(values) - len(counts)


def _size_comparison(session: Session, criteria: PeerCriteria, tier: Tier) -> SizeComparison:
    counts, missing = _counts(session, _conditions(criteria, tier))
    everything, everything_missing = _counts(
        session, _conditions(PeerCriteria(), Tier(False, False, None))
    )
    share = share_at_or_below(counts, criteria.affected) if criteria.affected else None
    return SizeComparison(
        summarise(counts, missing=missing),
        summarise(everything, missing=everything_missing),
        criteria.affected,
        share,
    )


def size_distribution(
    session: Session,
    *,
    breach_types: Iterable[str] = (),
    locations: Iterable[str] = (),
    entity_type: str | None = None,
    affected: int | None = None,
    min_peers: int = MIN_PEERS,
) -> SizeComparison:
    """Count, min, quartiles, p90 and max over the comparable set and over all of OCR's data."""
    criteria = PeerCriteria.of(
        breach_types=breach_types, locations=locations, entity_type=entity_type, affected=affected
    )
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
        .order_by(OcrBreach.submitted_on.desc(), OcrBreach.id.desc())
        .limit(limit)
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
    described = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(OcrBreach)
            .where(*conditions, OcrBreach.web_description.is_not(None))
        )
        or 0
    )
    in_set = sa.select(OcrBreach.id).where(*conditions)
    counts = dict(
        session.execute(
            sa.select(OcrBreachTag.value, sa.func.count())
            .where(OcrBreachTag.kind == TagKind.ACTION, OcrBreachTag.breach_id.in_(in_set))
            .group_by(OcrBreachTag.value)
        ).all()
    )
    evidence = [
        ActionEvidence(
            code, ACTION_LABELS[code], counts[code], _examples(session, conditions, code, examples)
        )
        for code in sorted(counts, key=lambda c: (-counts[c], list(ACTION_LABELS).index(c)))
        if code in ACTION_LABELS
    ]
    return ActionsSummary(described, evidence)


def response_actions(
    session: Session,
    *,
    breach_types: Iterable[str] = (),
    locations: Iterable[str] = (),
    entity_type: str | None = None,
    affected: int | None = None,
    examples: int = 3,
    min_peers: int = MIN_PEERS,
) -> ActionsSummary:
    """What comparable entities reported doing, by action, most frequent first, with examples."""
    criteria = PeerCriteria.of(
        breach_types=breach_types, locations=locations, entity_type=entity_type, affected=affected
    )
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
    session: Session,
    *,
    actor: User,
    criteria: PeerCriteria,
    page: int = 1,
    per_page: int = 25,
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
        .distinct()
        .order_by(OcrBreachTag.value)
    ).all()
    entities = session.scalars(
        sa.select(OcrBreach.entity_type)
        .where(OcrBreach.entity_type.is_not(None))
        .distinct()
        .order_by(OcrBreach.entity_type)
    ).all()
    return {
        "type": [value for kind, value in tags if kind == TagKind.BREACH_TYPE],
        "location": [value for kind, value in tags if kind == TagKind.LOCATION],
        "entity": list(entities),
    }
