"""GDPR Art. 33/34, from the Regulation's text: 72 hours counted in hours (UTC) from awareness.

Expected instants are worked out by hand: convert aware_at to UTC, add three whole days.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from incident_app.rules import BreachFacts
from incident_app.rules import GdprFacts
from incident_app.rules import evaluate

NEW_YORK_SUMMER = timezone(timedelta(hours=-4))
CET = timezone(timedelta(hours=1))
TOKYO = timezone(timedelta(hours=9))


def facts_with(gdpr: GdprFacts, **kwargs: object) -> BreachFacts:
    arguments = {"discovered_on": date(2025, 9, 15), "affected_total": 40, **kwargs}
    return BreachFacts(gdpr=gdpr, **arguments)  # type: ignore[arg-type]


def by_kind(determination, kind):
    return [item for item in determination.obligations if item.kind == kind]


@pytest.mark.parametrize(
    ("aware_at", "due_at", "due_on"),
    [
        # 09:30 UTC on Monday 15 Sep + 72 h = 09:30 UTC on Thursday 18 Sep.
        (datetime(2025, 9, 15, 9, 30, tzinfo=UTC), "2025-09-18T09:30:00+00:00", "2025-09-18"),
        # 23:30 in New York (UTC-4) is 03:30 UTC on the 16th; the UTC date moves with it.
        (
            datetime(2025, 9, 15, 23, 30, tzinfo=NEW_YORK_SUMMER),
            "2025-09-19T03:30:00+00:00",
            "2025-09-19",
        ),
        # The EU's DST change (30 March 2025) does not matter: the hours are counted in UTC.
        (datetime(2025, 3, 29, 12, 0, tzinfo=CET), "2025-04-01T11:00:00+00:00", "2025-04-01"),
        # Across the year end.
        (datetime(2025, 12, 30, 22, 0, tzinfo=UTC), "2026-01-02T22:00:00+00:00", "2026-01-02"),
        # Tokyo 01:00 on 27 Feb 2024 is 16:00 UTC on the 26th; +72 h lands on the leap day.
        (datetime(2024, 2, 27, 1, 0, tzinfo=TOKYO), "2024-02-29T16:00:00+00:00", "2024-02-29"),
    ],
)
def test_supervisory_authority_within_72_hours_of_awareness(aware_at, due_at, due_on):
    determination = evaluate(facts_with(GdprFacts(aware_at=aware_at, data_subjects=12)))

    [notice] = by_kind(determination, "supervisory_authority_notice")
    assert notice.due_at is not None
    assert notice.due_at.isoformat() == due_at
    assert notice.due_at.tzinfo is UTC
    assert notice.due_on == date.fromisoformat(due_on)
    assert notice.citation == "GDPR Art. 33(1)"
    assert notice.jurisdiction == "EU"
    assert "reasons for the delay" in notice.detail["late_notice"]
    assert notice.detail["data_subjects"] == "12"


AWARE = datetime(2025, 9, 15, 9, 30, tzinfo=UTC)


def test_high_risk_adds_the_data_subject_communication_without_undue_delay():
    determination = evaluate(facts_with(GdprFacts(AWARE, 12, high_risk=True)))

    [notice] = by_kind(determination, "data_subject_notice")
    assert notice.citation == "GDPR Art. 34(1)"
    assert notice.due_on is None and notice.due_at is None
    assert "without undue delay" in notice.reason
    assert "Art. 34(3)" in notice.detail["exceptions"]
    assert not any("high-risk assessment" in w for w in determination.warnings)


def test_outstanding_high_risk_assessment_is_a_warning_not_silence():
    determination = evaluate(facts_with(GdprFacts(AWARE, 12, high_risk=None)))

    assert by_kind(determination, "data_subject_notice") == []
    assert any("high-risk assessment" in w and "outstanding" in w for w in determination.warnings)


def test_no_high_risk_means_no_article_34_obligation_but_a_note():
    determination = evaluate(facts_with(GdprFacts(AWARE, 12, high_risk=False)))

    assert by_kind(determination, "data_subject_notice") == []
    assert len(by_kind(determination, "supervisory_authority_notice")) == 1
    assert any("Art. 34(4)" in w for w in determination.warnings)


def test_a_processor_notifies_the_controller_without_a_72_hour_clock():
    determination = evaluate(facts_with(GdprFacts(AWARE, 12, high_risk=True, controller=False)))

    [notice] = by_kind(determination, "processor_to_controller_notice")
    assert notice.citation == "GDPR Art. 33(2)"
    assert notice.due_on is None and notice.due_at is None
    assert by_kind(determination, "supervisory_authority_notice") == []
    assert by_kind(determination, "data_subject_notice") == []


def test_gdpr_has_its_own_trigger_when_hipaa_finds_no_breach():
    # Encrypted PHI is outside HIPAA's rule, but Art. 33 still asks whether there is a risk.
    determination = evaluate(facts_with(GdprFacts(AWARE, 12), phi_secured=True))

    assert determination.reportable is False
    assert [item.kind for item in determination.obligations] == ["supervisory_authority_notice"]
    assert any("high-risk assessment" in w for w in determination.warnings)


def test_without_gdpr_facts_there_is_no_gdpr_obligation():
    determination = evaluate(BreachFacts(discovered_on=date(2025, 9, 15), affected_total=40))

    assert not [item for item in determination.obligations if item.jurisdiction == "EU"]
