"""Pure size statistics over breach counts: quartiles, p90 and size bins."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass

from incident_app.services.peers.ocr_parsing import MAX_COUNT
from incident_app.services.peers.ocr_parsing import PLACEHOLDER_COUNT

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
