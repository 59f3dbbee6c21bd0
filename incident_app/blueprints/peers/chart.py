"""Geometry for the server-rendered size chart (inline SVG: no script, no style attribute)."""

from __future__ import annotations

from dataclasses import dataclass

from incident_app.services.peers.comparison import SizeComparison
from incident_app.services.peers.distribution import Distribution

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 36, 64
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    percent: float
    series: str  # "comparable" | "all"


@dataclass(frozen=True)
class Group:
    label_lines: tuple[str, ...]
    centre: float
    bars: tuple[Bar, Bar]
    ours: bool  # the bin our breach falls in


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    groups: tuple[Group, ...]
    y_ticks: tuple[tuple[float, int], ...]  # (y, percent)
    left: int
    baseline: float


def _percents(distribution: Distribution) -> list[float]:
    total = distribution.count or 1
    return [100 * size_bin.count / total for size_bin in distribution.bins]


def _ceiling(percent: float) -> int:
    return max(10, min(100, 10 * -(-int(percent + 0.999) // 10)))


def _label_lines(label: str) -> tuple[str, ...]:
    """ "10,000–49,999" on two lines ("10,000–", "49,999") so the axis labels never collide."""
    first, dash, rest = label.partition("–")
    return (first + dash, rest) if dash else (label,)


def histogram(sizes: SizeComparison) -> Chart:
    """Share of breaches per size band: comparable set beside all of OCR's listing."""
    ours, everyone = _percents(sizes.comparable), _percents(sizes.overall)
    top = _ceiling(max(ours + everyone + [0.0]))
    step = PLOT_W / len(sizes.comparable.bins)
    bar_w = step * 0.36

    def y_of(percent: float) -> float:
        return TOP + PLOT_H * (1 - percent / top)

    bins = sizes.comparable.bins
    groups = []
    for i, size_bin in enumerate(bins):
        centre = LEFT + step * (i + 0.5)
        high = bins[i + 1].low if i + 1 < len(bins) else None
        contains = (
            sizes.affected is not None
            and sizes.affected >= size_bin.low
            and (high is None or sizes.affected < high)
        )
        bars = (
            Bar(
                centre - bar_w,
                y_of(ours[i]),
                bar_w,
                TOP + PLOT_H - y_of(ours[i]),
                ours[i],
                "comparable",
            ),
            Bar(
                centre,
                y_of(everyone[i]),
                bar_w,
                TOP + PLOT_H - y_of(everyone[i]),
                everyone[i],
                "all",
            ),
        )
        groups.append(Group(_label_lines(size_bin.label), centre, bars, contains))
    ticks = tuple((y_of(p), p) for p in range(0, top + 1, 10 if top <= 50 else 20))
    return Chart(WIDTH, HEIGHT, tuple(groups), ticks, LEFT, TOP + PLOT_H)
