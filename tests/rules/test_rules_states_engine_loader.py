"""The per-jurisdiction table loader: every column validated, errors name the rule and file."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest

from incident_app.rules import state_table
from incident_app.rules.state_table import COVERED_CODES
from incident_app.rules.state_table import load_jurisdiction
from incident_app.rules.state_table import load_states

HEAD = {
    "code": "TX",
    "name": "Texas",
    "statute": "Tex. Bus. & Com. Code 521.053",
    "statute_url": "https://statutes.capitol.texas.gov/Docs/BC/htm/BC.521.htm",
    "hipaa_interplay": "none",
}
ROW = {
    "id": "TX-1",
    "recipient": "residents",
    "recipient_name": "affected Texas residents",
    "threshold": 1,
    "threshold_operator": ">=",
    "clock_start": "discovery",
    "trigger": "determination that the breach occurred",
    "length": 60,
    "unit": "calendar",
    "hipaa_deemed_compliant": "no",
    "confidence": "[S]",
    "checked_against": "secondary",
    "checked_on": date(2026, 12, 6),
    "source": "test",
}


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | list):
        return str(value).replace("'", '"')
    return '"' + str(value) + '"'


def toml_table(values: dict[str, object]) -> str:
    return "\n".join(
        f"{key} = {toml_value(value)}" for key, value in values.items() if value is not None
    )


def write(folder: str, rows: list[dict[str, object]], head: dict[str, object] = HEAD) -> Path:
    path = Path(folder) / f"{head.get('code', 'TX')}.toml"
    body = "\n".join(f"[[rule]]\n{toml_table(row)}\n" for row in rows)
    path.write_text(f"[jurisdiction]\n{toml_table(head)}\n\n{body}", encoding="utf-8")
    return path


def load_row(**change: object) -> state_table.StateRule:
    with tempfile.TemporaryDirectory() as folder:
        (rule,) = load_jurisdiction(write(folder, [{**ROW, **change}])).rules
    return rule


def test_a_valid_row_loads_with_the_jurisdictions_statute_and_url():
    rule = load_row()

    assert rule.state == "TX"
    assert rule.statute == HEAD["statute"]
    assert rule.statute_url == HEAD["statute_url"]
    assert rule.clock == state_table.Clock("discovery", 60, "calendar")
    assert rule.alt_clock is None
    assert rule.checked_on == date(2026, 12, 6)
    assert rule.kind == "state_individual_notice"


def test_a_row_may_override_statute_and_url_and_carry_an_alt_clock():
    rule = load_row(
        statute="other",
        statute_url="https://example.org/x",
        recipient="attorney_general",
        alt_clock_start="individual_notice",
        alt_length=0,
        alt_unit="calendar",
    )

    assert (rule.statute, rule.statute_url) == ("other", "https://example.org/x")
    assert rule.alt_clock == state_table.Clock("individual_notice", 0, "calendar")
    assert rule.period() == (
        "within 60 calendar days after determination that the breach occurred, or no later "
        "than notice to individuals, whichever is sooner"
    )


def test_cra_rows_are_cra_notices():
    assert load_row(recipient="consumer_reporting_agencies").kind == "cra_notice"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"recipient": "press"}, "recipient 'press' is not one of"),
        ({"clock_start": "whenever"}, "clock_start 'whenever'"),
        ({"hipaa_deemed_compliant": "maybe"}, "hipaa_deemed_compliant 'maybe'"),
        ({"confidence": "[?]"}, "confidence"),
        ({"checked_against": "memory"}, "checked_against 'memory'"),
        ({"threshold_operator": "<"}, "threshold_operator"),
        ({"threshold": -1}, "threshold must be a whole number"),
        ({"threshold": "1"}, "threshold must be a whole number"),
        ({"threshold": True}, "threshold must be a whole number"),
        ({"length": None}, "length is required for clock_start discovery"),
        ({"unit": "weeks"}, "unit 'weeks'"),
        ({"unit": None}, "unit None"),
        ({"clock_start": "none"}, "length/unit must be absent for clock_start none"),
        ({"clock_start": "before_individual_notice"}, "must be absent"),
        ({"unit": "business"}, "business days need a holiday calendar for TX"),
        ({"alt_clock_start": "individual_notice"}, "alt_length is required"),
        ({"alt_clock_start": "none", "alt_length": 1, "alt_unit": "calendar"}, "alt_clock_start"),
        ({"alt_length": 3}, "alt_length/alt_unit must be absent"),
        (
            {"clock_start": "none", "length": None, "unit": None, "alt_clock_start": "discovery"},
            "alt_clock_start needs a dated clock_start",
        ),
        (
            {"alt_clock_start": "individual_notice", "alt_length": 1, "alt_unit": "business"},
            "business days need a holiday calendar",
        ),
        ({"checked_on": "2026-12-06"}, "checked_on must be a TOML date"),
        ({"checked_on": None}, "checked_on must be a TOML date"),
        ({"effective_from": "soon"}, "effective_from must be a TOML date"),
        (
            {"effective_from": date(2026, 1, 2), "effective_until": date(2026, 1, 1)},
            "effective_from is after effective_until",
        ),
        (
            {"hipaa_deemed_compliant": "yes"},
            "deemer is required when hipaa_deemed_compliant = 'yes'",
        ),
        ({"hipaa_deemed_compliant": "conditional"}, "deemer is required"),
        ({"hipaa_deemed_compliant": "partial"}, "deemer is required"),
        ({"deemer": "HIPAA entities"}, "deemer must be empty when hipaa_deemed_compliant = 'no'"),
        ({"checked_against": "statute"}, "confidence \\[V\\]"),
        ({"recipient_name": ""}, "recipient_name must be a non-empty string"),
        ({"trigger": 3}, "trigger must be a non-empty string"),
        ({"source": None}, "source must be a non-empty string"),
        ({"note": 3}, "note must be a non-empty string"),
        ({"statute_url": "ftp://x"}, "statute_url must be an http"),
        ({"colour": "red"}, "unknown key\\(s\\) colour"),
    ],
)
def test_bad_rows_raise_naming_rule_and_file(change, message):
    with pytest.raises(ValueError, match=f"state rule TX-1 \\(TX.toml\\): .*{message}"):
        load_row(**change)


def test_rule_id_must_carry_the_jurisdiction_code():
    with pytest.raises(ValueError, match="state rule OK-1 \\(TX.toml\\): id must start with 'TX-'"):
        load_row(id="OK-1")


def test_rule_id_is_required():
    with pytest.raises(ValueError, match="state rule None \\(TX.toml\\): id must be"):
        load_row(id=None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "AS"}, "code 'AS' is not one of"),
        ({"code": "OK"}, "code 'OK' does not match the file name TX.toml"),
        ({"hipaa_interplay": "maybe"}, "hipaa_interplay 'maybe'"),
        ({"statute_url": "www.x"}, "statute_url must be an http"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"extra": "x"}, "unknown key\\(s\\) extra"),
    ],
)
def test_bad_jurisdiction_tables_raise_naming_the_file(change, message):
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, [ROW], {**HEAD, **change, "code": change.get("code", "TX")})
        path = path.rename(Path(folder) / "TX.toml")

        with pytest.raises(ValueError, match=f"TX.toml \\[jurisdiction\\]: {message}"):
            load_jurisdiction(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]]\nid = 'TX-1'\n", "TX.toml: missing \\[jurisdiction\\] table"),
        ("rule = 3\n[jurisdiction]\n", "TX.toml: rule must be an array"),
        ("[jurisdiction]\n[other]\n", "TX.toml: unknown key\\(s\\) other"),
        ("[jurisdiction\n", "state rule file TX.toml: "),
        ("rule = [1]\n" + "[jurisdiction]\n" + toml_table(HEAD), "TX.toml: every \\[\\[rule\\]\\]"),
    ],
)
def test_malformed_files_raise_naming_the_file(text, message):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "TX.toml"
        path.write_text(text, encoding="utf-8")

        with pytest.raises(ValueError, match=message):
            load_jurisdiction(path)


def test_a_file_without_rows_loads_with_none():
    with tempfile.TemporaryDirectory() as folder:
        assert load_jurisdiction(write(folder, [])).rules == ()


def test_duplicate_rule_ids_across_files_are_rejected():
    with tempfile.TemporaryDirectory() as folder:
        write(folder, [ROW])
        write(folder, [{**ROW, "id": "TX-1"}], {**HEAD, "code": "OK", "name": "Oklahoma"})
        (Path(folder) / "OK.toml").write_text(
            (Path(folder) / "OK.toml").read_text().replace('"TX-1"', '"OK-1"'), encoding="utf-8"
        )
        write(folder, [ROW, ROW])

        with pytest.raises(ValueError, match="state rule TX-1 \\(TX.toml\\): duplicate rule id"):
            load_states(Path(folder))


def test_the_shipped_table_loads_and_every_file_is_a_covered_code():
    table = state_table.jurisdictions()

    assert set(table) <= set(COVERED_CODES)
    assert len(COVERED_CODES) == 54
    assert all(item.code == code for code, item in table.items())
