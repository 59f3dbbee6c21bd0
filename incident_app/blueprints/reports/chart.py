"""Geometry of the metrics page's horizontal bar charts, drawn as inline SVG with presentation
attributes only (the CSP forbids style attributes and scripts)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
LABEL_W = 260  # room for the longest OCR label at the page's font size
VALUE_W = 70
ROW_H = 26
BAR_H = 18


@dataclass(frozen=True)
class Row:
    y: float
    text_y: float
    width: float
    label: str
    value: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bar_x: int
    rows: tuple[Row, ...]


def bar_chart(items: list[tuple[str, int]]) -> BarChart | None:
    """One bar per (label, value), longest bar = the largest value; None without data."""
    if not items:
        return None
    top = max(value for _label, value in items) or 1
    span = WIDTH - LABEL_W - VALUE_W
    rows = tuple(
        Row(
            y=i * ROW_H + (ROW_H - BAR_H) / 2,
            text_y=i * ROW_H + ROW_H * 0.68,
            width=round(max(1.0, span * value / top), 1),
            label=label,
            value=f"{value:,}",
        )
        for i, (label, value) in enumerate(items)
    )
    return BarChart(WIDTH, ROW_H * len(items), LABEL_W, rows)
