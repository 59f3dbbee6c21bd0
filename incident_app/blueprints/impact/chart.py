"""Geometry of the costs-over-time chart: inline SVG with presentation attributes only
(the CSP forbids style attributes and scripts). Bars: spent per month; line: running total."""

from __future__ import annotations

from dataclasses import dataclass

from incident_app.services.impact.money import money
from incident_app.services.impact.reports import MonthTotal

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 96, 16, 20, 48
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # "2026-03"
    amount: str  # "USD 1,250.00"
    cumulative: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    line: str  # SVG polyline points of the running total
    ticks: tuple[tuple[float, str], ...]  # (y, label)
    left: int
    baseline: float
    label_every: int  # month labels on every n-th bar, so they never overlap


def cost_chart(months: list[MonthTotal], currency: str) -> Chart | None:
    if not months:
        return None
    top = nice_ceiling(max(m.cumulative_cents for m in months))
    step = PLOT_W / len(months)
    bar_w = min(step * 0.7, 56.0)

    def y_of(cents: int) -> float:
        return round(TOP + PLOT_H * (1 - cents / top), 1)

    bars = tuple(
        Bar(
            round(LEFT + step * (i + 0.5) - bar_w / 2, 1),
            y_of(m.cents),
            round(bar_w, 1),
            round(TOP + PLOT_H - y_of(m.cents), 1),
            m.month,
            money(m.cents, currency),
            money(m.cumulative_cents, currency),
        )
        for i, m in enumerate(months)
    )
    line = " ".join(
        f"{round(LEFT + step * (i + 0.5), 1)},{y_of(m.cumulative_cents)}"
        for i, m in enumerate(months)
    )
    ticks = tuple((y_of(top * k // 4), money(top * k // 4, currency)) for k in range(5))
    return Chart(
        WIDTH, HEIGHT, bars, line, ticks, LEFT, TOP + PLOT_H, max(1, -(-len(months) // 12))
    )


def nice_ceiling(cents: int) -> int:
    """The smallest 1, 2 or 5 × 10^k whole currency units at or above `cents`, so the four
    grid lines fall on round amounts."""
    nice = 100
    while nice < cents:
        for factor in (2, 5 / 2, 2):
            nice = int(nice * factor)
            if nice >= cents:
                break
    return nice
