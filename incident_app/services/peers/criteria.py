"""What "comparable" means: the criteria of a comparison, the tiers they are relaxed
through until enough breaches match, and the SQL conditions of each tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.models.ocr import BreachFlag
from incident_app.models.ocr import OcrBreach
from incident_app.models.ocr import OcrBreachTag
from incident_app.models.ocr import TagKind

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


def has_tag(kind: TagKind, values: Iterable[str]) -> sa.ColumnElement[bool]:
    return (
        sa.select(OcrBreachTag.breach_id)
        .where(
            OcrBreachTag.breach_id == OcrBreach.id,
            OcrBreachTag.kind == kind,
            OcrBreachTag.value.in_(sorted(values)),
        )
        .exists()
    )


def tier_conditions(criteria: PeerCriteria, tier: Tier) -> list[sa.ColumnElement[bool]]:
    conditions = [~has_tag(TagKind.FLAG, [BreachFlag.OCR_DUPLICATE.value])]
    if criteria.breach_types:
        conditions.append(has_tag(TagKind.BREACH_TYPE, criteria.breach_types))
    if tier.same_location:
        conditions.append(has_tag(TagKind.LOCATION, criteria.locations))
    if tier.same_entity:
        conditions.append(OcrBreach.entity_type == criteria.entity_type)
    if tier.size_factor and criteria.affected:
        low, high = size_band(criteria.affected, tier.size_factor)
        conditions.append(OcrBreach.individuals_affected.between(low, high))
    return conditions


def _count(session: Session, criteria: PeerCriteria, tier: Tier) -> int:
    stmt = sa.select(sa.func.count()).select_from(OcrBreach).where(*tier_conditions(criteria, tier))
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
