"""The coverage summary behind `flask rules states`, on a hand-made table."""

from __future__ import annotations

from datetime import date

from incident_app.rules.coverage import coverage
from incident_app.rules.coverage import table_lines
from incident_app.rules.state_table import COVERED_CODES
from incident_app.rules.state_table import Clock
from incident_app.rules.state_table import Jurisdiction
from incident_app.rules.state_table import StateRule


def rule(rule_id, recipient="residents", threshold=1, op=">=", start="discovery", **change):
    values = {
        "id": rule_id,
        "state": "TX",
        "statute": "s",
        "statute_url": "https://example.org",
        "recipient": recipient,
        "recipient_name": "r",
        "threshold": threshold,
        "threshold_operator": op,
        "clock_start": start,
        "trigger": "t",
        "hipaa_deemed_compliant": "no",
        "confidence": "[S]",
        "checked_against": "secondary",
        "checked_on": date(2026, 12, 1),
        "source": "s",
    }
    return StateRule(**{**values, **change})


TEXAS = Jurisdiction(
    "TX",
    "Texas",
    "Tex. Bus. & Com. Code 521.053",
    "https://example.org",
    "none",
    rules=(
        rule("TX-r", clock=Clock("discovery", 60, "calendar")),
        rule(
            "TX-ag",
            "attorney_general",
            250,
            start="hhs_notice",
            clock=Clock("hhs_notice", 5, "business"),
            alt_clock=Clock("individual_notice", 0, "calendar"),
            confidence="[V]",
            checked_against="statute",
            checked_on=date(2026, 12, 6),
        ),
        rule("TX-cra", "consumer_reporting_agencies", 10000, ">", start="none", confidence="[M]"),
        rule("TX-police", "other_regulator", start="before_individual_notice"),
    ),
)
EMPTY = Jurisdiction("OK", "Oklahoma", "s", "https://example.org", "unknown")


def test_coverage_rows_and_summary():
    result = coverage({"TX": TEXAS, "OK": EMPTY})

    texas = next(row for row in result.rows if row.code == "TX")
    assert texas.cells() == (
        "TX",
        "Texas",
        "residents AG CRA regulator",
        "AG>=250 CRA>10000",
        "60d HHS+5bd|notice+0d none <notice",
        "none",
        "[V]1 [S]2 [M]1",
        "2026-12-06",
    )
    assert len(result.rows) == 54
    assert set(result.missing) == set(COVERED_CODES) - {"TX"}
    assert "OK" in result.missing  # a file without rows counts as missing
    assert result.summary() == (
        "jurisdictions 1/54; rows by confidence [V]=1 [S]=2 [M]=1; "
        "checked_against statute=1 secondary=3"
    )


def test_missing_jurisdictions_show_empty_cells():
    result = coverage({"OK": EMPTY})

    rows = {row.code: row for row in result.rows}
    assert rows["OK"].cells() == ("OK", "Oklahoma", "", "", "", "", "", "")
    assert rows["IA"].name == "(no file)"


def test_table_lines_are_aligned_with_a_header():
    lines = table_lines(coverage({"TX": TEXAS}))

    assert lines[0].split() == [
        "code", "name", "duties", "thresholds", "clocks", "HIPAA", "confidence", "checked_on"
    ]  # fmt: skip
    assert len(lines) == 55
    assert lines[0].index("name") == next(line for line in lines if line.startswith("TX")).index(
        "Texas"
    )
