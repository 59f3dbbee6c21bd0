"""Compare an incident with similar breaches in OCR's listing: the comparable breaches, ranked;
their sizes; what the entities reported doing in response; and the peers page's use case.

The OCR listing is public-domain reference data, so the query functions take no actor;
`peer_report` (what the page calls) checks the capability like any other use case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.models.ocr import OcrBreach
from incident_app.models.ocr import OcrBreachTag
from incident_app.models.ocr import TagKind
from incident_app.models.user import User
from incident_app.services.peers.criteria import MIN_PEERS
from incident_app.services.peers.criteria import TIERS
from incident_app.services.peers.criteria import PeerCriteria
from incident_app.services.peers.criteria import Tier
from incident_app.services.peers.criteria import has_tag
from incident_app.services.peers.criteria import resolve_tier
from incident_app.services.peers.criteria import tier_conditions
from incident_app.services.peers.distribution import Distribution
from incident_app.services.peers.distribution import share_at_or_below
from incident_app.services.peers.distribution import summarise
from incident_app.services.peers.importing import breach_count
from incident_app.services.peers.ocr_parsing import ACTION_LABELS
from incident_app.services.peers.ocr_parsing import sentences_for


def _ranking(criteria: PeerCriteria) -> list[sa.ColumnElement[Any]]:
    """More criteria matched first, then the closest in size, then the most recent."""
    score: sa.ColumnElement[int] = sa.literal(0)
    if criteria.locations:
        score = score + sa.case((has_tag(TagKind.LOCATION, criteria.locations), 1), else_=0)
    if criteria.entity_type:
        score = score + sa.case((OcrBreach.entity_type == criteria.entity_type, 1), else_=0)
    order: list[sa.ColumnElement[Any]] = [score.desc()]
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
        .where(*tier_conditions(criteria, tier))
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


# --- Queries: sizes and response actions over the comparable set


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
    counts, missing = _counts(session, tier_conditions(criteria, tier))
    everything, everything_missing = _counts(
        session, tier_conditions(PeerCriteria(), Tier(False, False, None))
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
        .where(*conditions, has_tag(TagKind.ACTION, [code]))
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
    conditions = tier_conditions(criteria, tier)
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


# --- The page's use case


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
        "entity": [entity for entity in entities if entity is not None],
    }
