"""How much of the country the state table covers: one summary row per jurisdiction.

Pure summarising of the loaded table for `flask rules states` (incident_app/cli/rules.py):
duties, thresholds, clocks, HIPAA interplay and provenance per jurisdiction, and the
jurisdictions of the 54 with no file or no row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from incident_app.rules.state_table import CHECKED_AGAINST
from incident_app.rules.state_table import CONFIDENCE
from incident_app.rules.state_table import COVERED_CODES
from incident_app.rules.state_table import Clock
from incident_app.rules.state_table import Jurisdiction
from incident_app.rules.state_table import StateRule

SHORT_RECIPIENT = {
    "residents": "residents",
    "attorney_general": "AG",
    "other_regulator": "regulator",
    "consumer_reporting_agencies": "CRA",
}
SHORT_EVENT = {"discovery": "", "hhs_notice": "HHS+", "individual_notice": "notice+"}
COLUMNS = ("code", "name", "duties", "thresholds", "clocks", "HIPAA", "confidence", "checked_on")


@dataclass(frozen=True)
class CoverageRow:
    """One jurisdiction as the coverage table shows it; empty texts when it has no row."""

    code: str
    name: str
    duties: str = ""
    thresholds: str = ""
    clocks: str = ""
    hipaa: str = ""
    confidence: str = ""
    checked_on: str = ""

    def cells(self) -> tuple[str, ...]:
        return (
            self.code,
            self.name,
            self.duties,
            self.thresholds,
            self.clocks,
            self.hipaa,
            self.confidence,
            self.checked_on,
        )


@dataclass(frozen=True)
class Coverage:
    rows: tuple[CoverageRow, ...]
    missing: tuple[str, ...]
    by_confidence: Mapping[str, int]
    by_checked_against: Mapping[str, int]

    def summary(self) -> str:
        covered = len(COVERED_CODES) - len(self.missing)
        confidence = " ".join(f"{mark}={self.by_confidence[mark]}" for mark in CONFIDENCE)
        checked = " ".join(f"{key}={self.by_checked_against[key]}" for key in CHECKED_AGAINST)
        return (
            f"jurisdictions {covered}/{len(COVERED_CODES)}; rows by confidence {confidence}; "
            f"checked_against {checked}"
        )


def coverage(table: Mapping[str, Jurisdiction]) -> Coverage:
    """The coverage of a loaded table over the 54 jurisdictions, in COVERED_CODES order."""
    rows = tuple(_row(code, table.get(code)) for code in COVERED_CODES)
    rules = [rule for item in table.values() for rule in item.rules]
    return Coverage(
        rows=rows,
        missing=tuple(row.code for row in rows if not row.duties),
        by_confidence=_count((rule.confidence for rule in rules), CONFIDENCE),
        by_checked_against=_count((rule.checked_against for rule in rules), CHECKED_AGAINST),
    )


def _count(values: Iterable[str], keys: tuple[str, ...]) -> dict[str, int]:
    counted = Counter(values)
    return {key: counted[key] for key in keys}


def _row(code: str, item: Jurisdiction | None) -> CoverageRow:
    if item is None or not item.rules:
        return CoverageRow(code, item.name if item else "(no file)")
    rules = item.rules
    marks = Counter(rule.confidence for rule in rules)
    return CoverageRow(
        code=code,
        name=item.name,
        duties=_unique(SHORT_RECIPIENT[rule.recipient] for rule in rules),
        thresholds=_unique(_threshold(rule) for rule in rules if rule.threshold > 1),
        clocks=_unique(_clocks(rule) for rule in rules),
        hipaa=item.hipaa_interplay,
        confidence=" ".join(f"{mark}{marks[mark]}" for mark in CONFIDENCE if marks[mark]),
        checked_on=max(rule.checked_on for rule in rules).isoformat(),
    )


def _unique(texts: Iterable[str]) -> str:
    return " ".join(dict.fromkeys(texts))


def _threshold(rule: StateRule) -> str:
    return f"{SHORT_RECIPIENT[rule.recipient]}{rule.threshold_operator}{rule.threshold}"


def _clocks(rule: StateRule) -> str:
    if rule.clock_start == "before_individual_notice":
        return "<notice"
    if rule.clock is None:
        return "none"
    if rule.alt_clock is None:
        return _clock(rule.clock)
    return f"{_clock(rule.clock)}|{_clock(rule.alt_clock)}"


def _clock(clock: Clock) -> str:
    unit = "bd" if clock.unit == "business" else "d"
    return f"{SHORT_EVENT[clock.start]}{clock.length}{unit}"


def table_lines(result: Coverage) -> list[str]:
    """The coverage table as aligned text lines, a header line first."""
    cells = [COLUMNS, *(row.cells() for row in result.rows)]
    widths = [max(len(line[index]) for line in cells) for index in range(len(COLUMNS))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
