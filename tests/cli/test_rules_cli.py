"""`flask rules states`, invoked on the click group directly through CliRunner (no app)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from incident_app.cli.rules import rules_group
from incident_app.rules.state_table import COVERED_CODES
from incident_app.web import COMMAND_GROUPS

ROW = """
[[rule]]
id = "{code}-residents"
recipient = "residents"
recipient_name = "affected residents"
threshold = 1
threshold_operator = ">="
clock_start = "none"
trigger = "without unreasonable delay"
hipaa_deemed_compliant = "unknown"
confidence = "{confidence}"
checked_against = "secondary"
checked_on = 2026-12-06
source = "test"
"""


def write_table(folder: Path, codes, confidence="[S]") -> None:
    for code in codes:
        (folder / f"{code}.toml").write_text(
            f'[jurisdiction]\ncode = "{code}"\nname = "Land {code}"\nstatute = "s"\n'
            f'statute_url = "https://example.org"\nhipaa_interplay = "unknown"\n'
            + ROW.format(code=code, confidence=confidence),
            encoding="utf-8",
        )


def run(*args):
    return CliRunner().invoke(rules_group, ["states", *args])


def test_group_is_listed_in_the_factory():
    assert rules_group in COMMAND_GROUPS
    assert rules_group.name == "rules"
    assert "states" in rules_group.commands


def test_complete_table_exits_zero_with_the_summary(tmp_path):
    write_table(tmp_path, COVERED_CODES)

    result = run("--directory", str(tmp_path))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("code  name")
    assert len(lines) == 1 + 54 + 1
    assert lines[-1] == (
        "jurisdictions 54/54; rows by confidence [V]=0 [S]=54 [M]=0; "
        "checked_against statute=0 secondary=54"
    )


def test_missing_jurisdictions_exit_non_zero_and_are_listed(tmp_path):
    write_table(tmp_path, [code for code in COVERED_CODES if code not in ("IA", "GU")])

    result = run("--directory", str(tmp_path))

    assert result.exit_code == 1
    assert "jurisdictions 52/54" in result.output
    assert "missing (no file or no row): IA, GU" in result.output


def test_a_broken_file_is_reported_not_a_traceback(tmp_path):
    write_table(tmp_path, ["TX"], confidence="[?]")

    result = run("--directory", str(tmp_path))

    assert result.exit_code == 1
    assert "state rule TX-residents (TX.toml): confidence '[?]'" in result.output


def test_the_shipped_table_loads():
    result = run()

    assert "jurisdictions " in result.output
    assert result.exit_code in (0, 1)  # 1 while a jurisdiction is still missing
    assert (result.exit_code == 1) == ("missing (no file or no row)" in result.output)
