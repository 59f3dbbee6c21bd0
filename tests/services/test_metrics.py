"""Response metrics: days to contain / assess / notify from recorded events, on-time rate,
breaches by type and location, individuals per quarter, date range, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Conclusion
from incident_app.models.incident import IncidentStatus
from incident_app.models.user import Role
from incident_app.services import hhs_log
from incident_app.services import metrics
from incident_app.services.hhs_log import FilingInput
from incident_app.services.impact import costs as impact_costs
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from incident_app.services.incidents import lifecycle
from tests.support.factories import NOW
from tests.support.factories import make_user


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T15:00:00").replace(tzinfo=UTC)


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


@pytest.fixture
def cases(session, officer):
    """A: discovered 2026-01-10, 40 people, hacking by email, contained 2026-02-01.
    B: discovered 2025-12-20, 12 people, hacking + theft on a laptop, contained 2026-01-04,
    assessment signed 2025-12-30, annual log filed 2026-02-10."""
    a = incident_intake.open_incident(
        session,
        actor=officer,
        now=NOW,
        facts=incident_facts.IncidentFacts(
            title="A",
            discovered_on=date(2026, 1, 10),
            affected_estimate=40,
            breach_types=("hacking",),
            locations=("email",),
        ),
    )
    b = incident_intake.open_incident(
        session,
        actor=officer,
        now=NOW,
        facts=incident_facts.IncidentFacts(
            title="B",
            discovered_on=date(2025, 12, 20),
            affected_estimate=12,
            breach_types=("hacking", "theft"),
            locations=("laptop",),
        ),
    )
    lifecycle.transition(
        session,
        actor=officer,
        incident_id=a.id,
        to=IncidentStatus.CONTAINMENT,
        now=_at("2026-01-11"),
    )
    lifecycle.transition(
        session,
        actor=officer,
        incident_id=a.id,
        to=IncidentStatus.INVESTIGATION,
        now=_at("2026-02-01"),
    )
    lifecycle.transition(
        session,
        actor=officer,
        incident_id=b.id,
        to=IncidentStatus.INVESTIGATION,
        now=_at("2026-01-04"),
    )
    session.add(
        AssessmentVersion(
            incident_id=b.id,
            number=1,
            conclusion=Conclusion.BREACH,
            created_by_id=officer.id,
            signed_by_id=officer.id,
            signed_at=_at("2025-12-30"),
        )
    )
    session.commit()
    hhs_log.record_filing(
        session,
        actor=officer,
        incident_id=b.id,
        now=NOW,
        filing=FilingInput(date(2026, 2, 10), "BRS-5"),
    )
    return a, b


def test_durations_come_from_recorded_events(session, officer, cases):
    report = metrics.metrics(session, actor=officer)

    assert (report.incidents, report.breaches) == (2, 2)
    # A: Jan 10 → Feb 1 = 22 days; B: Dec 20 → Jan 4 = 15 days.
    assert sorted(report.contain.days) == [15, 22]
    assert (report.contain.median, report.contain.mean) == (18.5, 18.5)
    assert report.assess.days == [10]
    notify = {d.label: d for d in report.notify}
    assert notify["hhs_annual_log"].days == [52]  # Dec 20 → Feb 10
    assert notify["individual_notice"].median is None  # no notice recorded: no data, not zero


def test_on_time_rate_counts_met_obligations_against_their_due_date(session, officer, cases):
    report = metrics.metrics(session, actor=officer)
    annual = next(item for item in report.on_time if item.kind == "hhs_annual_log")
    assert (annual.on_time, annual.late, annual.rate) == (1, 0, 100.0)


def test_breaches_by_type_location_and_individuals_per_quarter(session, officer, cases):
    report = metrics.metrics(session, actor=officer)
    assert report.by_type == [("Hacking/IT Incident", 2), ("Theft", 1)]
    assert sorted(report.by_location) == [("Email", 1), ("Laptop", 1)]
    assert report.individuals_per_quarter == [("2025 Q4", 12), ("2026 Q1", 40)]


def test_date_range_filters_on_discovery(session, officer, cases):
    report = metrics.metrics(session, actor=officer, date_from=date(2026, 1, 1))
    assert report.incidents == 1
    assert report.contain.days == [22]
    assert report.individuals_per_quarter == [("2026 Q1", 40)]


def test_backwards_range_is_refused(session, officer):
    with pytest.raises(ValidationFailed, match="before its start") as caught:
        metrics.metrics(
            session, actor=officer, date_from=date(2026, 2, 1), date_to=date(2026, 1, 1)
        )
    assert caught.value.field == "date_to"


def test_only_privacy_officers_auditors_and_admins_see_metrics(session):
    for role in (Role.AUDITOR, Role.ADMIN):
        assert metrics.metrics(session, actor=make_user(session, role=role)).incidents == 0
    with pytest.raises(NotAllowed):
        metrics.metrics(session, actor=make_user(session, role=Role.RESPONDER))


def test_csv_lists_every_figure_and_says_no_data_yet(session, officer, cases):
    text = metrics.export_csv(session, actor=officer, date_from=None, date_to=None, now=NOW)
    rows = {(r["section"], r["item"]): r["value"] for r in csv.DictReader(io.StringIO(text))}
    assert rows[("days", "Time to contain median")] == "18.5"
    assert rows[("time to notify (days)", "individual_notice median")] == "no data yet"
    assert rows[("breaches by type", "Theft")] == "1"
    assert rows[("individuals affected", "2026 Q1")] == "40"


def test_cost_totals_come_from_the_impact_ledger(session, officer, cases):
    a, _b = cases
    impact_costs.record_cost(
        session,
        actor=officer,
        incident_id=a.id,
        now=NOW,
        cost=impact_costs.CostInput(
            category="forensic_investigation",
            basis="actual",
            amount="1250.00",
            currency="USD",
            spent_on=date(2026, 2, 3),
        ),
    )

    report = metrics.metrics(session, actor=officer)
    text = metrics.export_csv(
        session, actor=officer, date_from=date(2026, 3, 1), date_to=None, now=NOW
    )

    assert (report.impact.total_cents, report.impact.incidents_with_costs) == (125000, 1)
    rows = {(r["section"], r["item"]): r["value"] for r in csv.DictReader(io.StringIO(text))}
    assert rows[("costs", "total")] == "USD 0.00"  # the cost is dated before March
