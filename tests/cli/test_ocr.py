"""`flask ocr import`: counts, rejected lines, idempotence, --if-empty, the shipped file."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.ocr import OcrBreach
from incident_app.services.peers.importing import SHIPPED_CSV

DATA = Path(__file__).resolve().parents[1] / "data"


def _rows(app) -> int:
    with app.app_context():
        return get_session().scalar(sa.select(sa.func.count()).select_from(OcrBreach))


def test_import_prints_counts_and_each_rejected_line(app, runner) -> None:
    result = runner.invoke(args=["ocr", "import", str(DATA / "ocr_quirks.csv")])

    assert result.exit_code == 0, result.output
    assert (
        "8 inserted, 0 updated, 5 skipped (0 unchanged, 1 repeated in the file, 4 rejected)"
    ) in result.output
    assert "line 7: Individuals Affected 'about 1000' is not a whole number" in result.output
    assert "line 10: expected 10 fields, found 8" in result.output
    assert _rows(app) == 8
    with app.app_context():
        event = get_session().scalars(sa.select(AuditEvent)).one()
    assert (event.action, event.actor_label, event.actor_id) == (
        "ocr.imported",
        "system (cli)",
        None,
    )
    assert (event.details["inserted"], event.details["file"]) == (8, "ocr_quirks.csv")


def test_running_it_twice_adds_nothing(app, runner) -> None:
    runner.invoke(args=["ocr", "import", str(DATA / "ocr_quirks.csv")])

    again = runner.invoke(args=["ocr", "import", str(DATA / "ocr_quirks.csv")])

    assert "0 inserted, 0 updated, 13 skipped (8 unchanged" in again.output
    assert _rows(app) == 8


def test_if_empty_does_nothing_when_rows_exist(app, runner) -> None:
    runner.invoke(args=["ocr", "import", str(DATA / "ocr_peers.csv")])

    result = runner.invoke(args=["ocr", "import", "--if-empty", str(DATA / "ocr_quirks.csv")])

    assert result.exit_code == 0
    assert "already has 11 rows; nothing imported" in result.output
    assert _rows(app) == 11


def test_a_file_that_is_not_the_listing_fails_clearly(app, runner, tmp_path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,state\nAda,NY\n", encoding="utf-8")

    result = runner.invoke(args=["ocr", "import", str(roster)])

    assert result.exit_code == 1
    assert "not the header of OCR's breach listing" in result.output
    assert "Nothing was imported" in result.output and _rows(app) == 0


def test_a_missing_file_fails_clearly(app, runner, tmp_path) -> None:
    result = runner.invoke(args=["ocr", "import", str(tmp_path / "absent.csv")])

    assert result.exit_code == 1 and "No such file" in result.output


@pytest.mark.slow
def test_the_shipped_file_imports_completely_with_known_facts(app, runner) -> None:
    # REGULATORY.md §6.2 profile of the snapshot.
    first = runner.invoke(args=["ocr", "import", "--if-empty"])

    assert first.exit_code == 0, first.output
    assert "6,442 inserted, 0 updated, 0 skipped" in first.output
    with app.app_context():
        session = get_session()

        def count(*where: sa.ColumnElement[bool]) -> int:
            return session.scalar(sa.select(sa.func.count()).select_from(OcrBreach).where(*where))

        assert count() == 6442
        assert count(OcrBreach.individuals_affected == 500) == 112
        assert count(OcrBreach.individuals_affected == 501) == 64
        assert count(OcrBreach.individuals_affected < 500) == 0
        assert count(OcrBreach.individuals_affected.is_(None)) == 1
        assert count(OcrBreach.portal_list == "Under Investigation") == 852
        assert count(OcrBreach.business_associate_present.is_(True)) == 1868
        assert count(OcrBreach.state.is_(None)) == 19
        assert count(OcrBreach.entity_type == "Healthcare Clearing House") == 14
        assert count(OcrBreach.repeated_filing.is_(True)) == 6  # three keys, two rows each
        assert session.scalar(sa.select(sa.func.max(OcrBreach.individuals_affected))) == 78_800_000
        assert session.scalar(sa.select(sa.func.sum(OcrBreach.individuals_affected))) == (
            626_634_835
        )
        change = session.scalars(
            sa.select(OcrBreach).where(OcrBreach.entity_name == "Change Healthcare, Inc.")
        ).one()
        assert change.individuals_affected == 500 and "count_floor" in change.flags
    second = runner.invoke(args=["ocr", "import"])
    assert "0 inserted, 0 updated, 6,442 skipped (6,442 unchanged" in second.output
    assert SHIPPED_CSV.name == "ocr_breach_report.csv"
