"""`deadlines` CLI: invoked directly through click's CliRunner, no Flask app needed."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from incident_app.cli.deadlines import ISO_DATE
from incident_app.cli.deadlines import deadlines_command
from incident_app.web import COMMAND_GROUPS

EXAMPLE = ["--discovered", "2025-09-15", "--affected", "1500", "--state", "TX=900"]
EXAMPLE += ["--state", "OK=500"]


def run(*args):
    return CliRunner().invoke(deadlines_command, list(args))


def test_command_is_listed_for_the_factory():
    assert deadlines_command in COMMAND_GROUPS
    assert deadlines_command.name == "deadlines"


def test_table_shows_the_issue_example():
    result = run(*EXAMPLE)

    assert result.exit_code == 0, result.output
    assert result.output.startswith("REPORTABLE:")
    rows = result.output.splitlines()
    assert any(r.startswith("individual_notice") and "2025-11-14" in r for r in rows)
    assert any(r.startswith("hhs_notice") and "2025-11-14" in r for r in rows)
    media = [row for row in rows if row.startswith("media_notice")]
    assert len(media) == 1
    assert " TX " in media[0]
    assert "45 CFR 164.406" in media[0]
    assert "KIND" in result.output and "CITATION" in result.output and "REASON" in result.output


def test_json_output_uses_iso_dates():
    result = run(*EXAMPLE, "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["treated_discovery_on"] == "2025-09-15"
    media = [o for o in data["obligations"] if o["kind"] == "media_notice"]
    assert [(o["jurisdiction"], o["due_on"]) for o in media] == [("TX", "2025-11-14")]


def test_warnings_are_printed():
    result = run("--discovered", "2025-06-10", "--affected", "1500")

    assert result.exit_code == 0
    assert "Warnings:" in result.output
    assert "cannot be ruled out" in result.output
    assert "Saturday" in result.output


def test_not_reportable_prints_no_obligations():
    result = run("--discovered", "2025-09-15", "--affected", "10", "--secured")

    assert result.exit_code == 0
    assert result.output.startswith("NOT REPORTABLE:")
    assert "No notification obligations." in result.output


def test_exception_and_low_probability_options():
    result = run(
        "--discovered", "2025-09-15", "--affected", "10", "--exception", "unable_to_retain",
        "--low-probability", "--json",
    )  # fmt: skip

    data = json.loads(result.output)
    assert data["reportable"] is False
    assert "164.402(1)(iii)" in data["reason"]


def test_substitute_notice_option():
    result = run("--discovered", "2025-09-15", "--affected", "40", "--insufficient-contact", "10")

    assert "substitute_notice" in result.output
    assert "45 CFR 164.404(d)(2)(ii)" in result.output


def test_state_rows_with_no_fixed_date_show_it():
    result = run("--discovered", "2025-09-15", "--affected", "10", "--state", "ma=10")

    assert result.exit_code == 0, result.output
    assert "no fixed date" in result.output


@pytest.mark.parametrize(
    ("agent_flag", "treated"),
    [("--ba-agent", "2025-03-01"), ("--ba-contractor", "2025-03-20")],
)
def test_business_associate_options(agent_flag, treated):
    result = run(
        "--affected", "100", "--ba-discovered", "2025-03-01", agent_flag,
        "--ba-notified", "2025-03-20", "--json",
    )  # fmt: skip

    data = json.loads(result.output)
    assert data["treated_discovery_on"] == treated
    assert "ba_to_ce_notice" in [o["kind"] for o in data["obligations"]]


def test_law_enforcement_options():
    result = run(
        *EXAMPLE, "--le-statement", "oral", "--le-stated-on", "2025-10-20",
        "--le-until", "2026-01-15", "--le-written-on", "2025-11-10", "--json",
    )  # fmt: skip

    data = json.loads(result.output)
    individual = next(o for o in data["obligations"] if o["kind"] == "individual_notice")
    assert individual["due_on"] == "2026-01-15"
    assert individual["detail"]["tolling_reading_due_on"] == "2026-02-09"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--discovered", "2025-09-15"], "Missing option '--affected'"),
        (["--discovered", "15/09/2025", "--affected", "5"], "not a date in the form YYYY-MM-DD"),
        (["--discovered", "2025-09-15", "--affected", "-5"], "affected_total: must not be"),
        (["--affected", "5"], "discovered_on: required"),
        (["--discovered", "2025-09-15", "--affected", "5", "--state", "TX"], "CODE=COUNT"),
        (["--discovered", "2025-09-15", "--affected", "5", "--state", "TX=x"], "CODE=COUNT"),
        (
            ["--discovered", "2025-09-15", "--affected", "5", "--state", "TX=1", "--state", "tx=2"],
            "TX is given more than once",
        ),
        (["--discovered", "2025-09-15", "--affected", "5", "--state", "ZZ=1"], "unknown state"),
        (
            ["--discovered", "2025-09-15", "--affected", "5", "--state", "TX=-1"],
            "residents_by_state[TX]",
        ),
        (["--discovered", "2025-09-15", "--affected", "5", "--state", "TX=6"], "counts sum to 6"),
        (["--discovered", "2025-09-15", "--affected", "5", "--exception", "oops"], "oops"),
        (["--discovered", "2025-09-15", "--affected", "5", "--ba-agent"], "--ba-discovered"),
        (
            ["--affected", "5", "--ba-discovered", "2025-03-10", "--ba-notified", "2025-03-01"],
            "before the business associate discovered",
        ),
        (["--discovered", "2025-09-15", "--affected", "5", "--le-stated-on", "2025-10-01"],
         "--le-statement"),
        (["--discovered", "2025-09-15", "--affected", "5", "--le-statement", "oral"],
         "--le-stated-on"),
        (
            ["--discovered", "2025-09-15", "--affected", "5", "--le-statement", "written",
             "--le-stated-on", "2025-10-01"],
            "must specify the delay period",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_a_clean_error_not_a_traceback(args, message):
    result = run(*args)

    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_invalid_facts_error_names_the_option():
    result = run("--discovered", "2025-09-15", "--affected", "5", "--insufficient-contact", "9")

    assert result.exit_code == 2
    assert "'--insufficient-contact'" in result.output


def test_table_without_warnings_has_no_warning_section():
    result = run("--discovered", "2025-09-15", "--affected", "1400", "--state", "TX=900",
                 "--state", "OK=500")  # fmt: skip

    assert result.exit_code == 0
    assert "Warnings:" not in result.output


def test_iso_date_accepts_an_already_converted_date():
    assert ISO_DATE.convert(date(2025, 9, 15), None, None) == date(2025, 9, 15)
