"""Tabletop exercises (issue 23) stay out of every real-world figure: the HHS annual log and its
CSV/PDF exports (filing one is refused, nothing written), the board metrics, the organisation's
impact totals, the ICS calendar feed, the dashboard's status counts and the listing filter."""

from __future__ import annotations

import csv
import io
from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.letters import pdf_text
from incident_app.models.audit import AuditEvent
from incident_app.models.hhs_filing import HhsFiling
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.letter import NoticeMethod
from incident_app.models.letter import NoticeSent
from incident_app.models.user import Role
from incident_app.services import hhs_log
from incident_app.services import hhs_log_exports
from incident_app.services import metrics
from incident_app.services.hhs_log import FilingInput
from incident_app.services.impact import costs as impact_costs
from incident_app.services.impact.costs import CostInput
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from incident_app.services.incidents import listing
from incident_app.services.letters import generation
from incident_app.services.letters import notices
from incident_app.services.letters import review
from incident_app.services.reminders import calendar_feed
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation

DRILL = "Drill: ransomware on the scheduling server"
REAL = "Misdirected fax"


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


def _open(session, officer, title: str, *, exercise: bool) -> Incident:
    return incident_intake.open_incident(
        session,
        actor=officer,
        now=NOW,
        exercise=exercise,
        facts=incident_facts.IncidentFacts(
            title=title,
            discovered_on=date(2025, 9, 15),
            affected_estimate=40,
            breach_types=("unauthorized_access",),
            locations=("paper_films",),
            description="A discharge summary was faxed to the wrong clinic.",
        ),
    )


@pytest.fixture
def pair(session, officer) -> tuple[Incident, Incident]:
    """A real small breach and a drill with the same facts (both get an annual-log duty)."""
    return _open(session, officer, REAL, exercise=False), _open(
        session, officer, DRILL, exercise=True
    )


def _has_annual_log_duty(session, incident: Incident) -> bool:
    from incident_app.models.obligation import Obligation

    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                Obligation.incident_id == incident.id, Obligation.kind == "hhs_annual_log"
            )
        )
        == 1
    )


def test_the_drill_runs_the_same_workflow_but_is_absent_from_the_hhs_log_and_its_exports(
    session, officer, pair
):
    real, drill = pair
    assert drill.exercise and not real.exercise
    assert _has_annual_log_duty(session, drill)  # same rules, same obligations

    log = hhs_log.annual_log(session, actor=officer, year=2025)
    assert [e.incident.reference for e in log.entries] == [real.reference]

    rows = list(
        csv.reader(
            io.StringIO(hhs_log_exports.export_csv(session, actor=officer, year=2025, now=NOW))
        )
    )
    references = [row[0] for row in rows[1:]]
    assert references == [real.reference]
    assert DRILL not in "\n".join(",".join(row) for row in rows)

    text = pdf_text(hhs_log_exports.export_pdf(session, actor=officer, year=2025, now=NOW))
    assert real.reference in text and REAL in text
    assert drill.reference not in text and DRILL not in text


def test_filing_a_drill_with_hhs_is_refused_clearly_and_nothing_is_written(session, officer, pair):
    _, drill = pair
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    with pytest.raises(InvalidTransition, match="tabletop exercise.*never filed with HHS"):
        hhs_log.record_filing(
            session,
            actor=officer,
            incident_id=drill.id,
            filing=FilingInput(filed_on=date(2025, 12, 1), transaction_number="T-12345"),
            now=NOW + timedelta(days=90),
        )
    with pytest.raises(InvalidTransition, match="kept out of the HHS annual log"):
        hhs_log.entry_for(session, actor=officer, incident_id=drill.id)

    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(HhsFiling)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before


def test_metrics_count_real_incidents_only(session, officer, pair):
    real, drill = pair
    for incident, amount in ((real, "1,000.00"), (drill, "50,000.00")):
        impact_costs.record_cost(
            session,
            actor=officer,
            incident_id=incident.id,
            cost=CostInput("outside_counsel", "actual", amount, "USD", date(2025, 9, 20)),
            now=NOW,
        )

    result = metrics.metrics(session, actor=officer)

    # Without the exclusion both would count: 2 incidents, 2 breaches, 80 individuals.
    assert (result.incidents, result.breaches) == (1, 1)
    assert result.individuals_per_quarter == [("2025 Q3", 40)]
    assert (result.impact.total_cents, result.impact.incidents_with_costs) == (100_000, 1)


def test_the_dashboard_counts_and_the_listing_filter_leave_the_drill_out(session, officer, pair):
    real, drill = pair
    board = listing.dashboard(session, actor=officer, today=date(2025, 9, 20))

    assert sum(count for _, count in board["counts"]) == 1
    assert board["exercises"] == 1
    real_only = listing.list_incidents(
        session, actor=officer, filters=listing.ListFilters(exercises=False), today=NOW.date()
    )
    assert [row.incident.id for row in real_only.rows] == [real.id]
    both = listing.list_incidents(
        session, actor=officer, filters=listing.ListFilters(), today=NOW.date()
    )
    assert {row.incident.id for row in both.rows} == {real.id, drill.id}


def test_the_calendar_feed_has_no_drill_deadlines(session, officer, pair):
    real, drill = pair
    token = calendar_feed.issue_token(session, actor=officer, now=NOW)

    ics = calendar_feed.feed(
        session, token=token, now=NOW, base_url="https://bd.example", client="test"
    ).decode()

    assert real.reference in ics
    assert drill.reference not in ics


def test_recording_a_drills_hhs_portal_filing_is_refused_and_nothing_is_written(session, officer):
    legal = make_user(session, role=Role.LEGAL)
    drill = breach_case(session, officer=officer, members={legal: CaseRole.LEGAL}, exercise=True)
    letter = generation.generate(
        session,
        actor=officer,
        now=NOW,
        incident_id=drill.id,
        request=generation.LetterRequest(
            obligation(session, drill, "hhs_notice").id, "hhs_packet.html"
        ),
        store=app_store.current_store(),
    )
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=drill.id, letter_id=letter.id
    )
    review.approve(
        session,
        actor=legal,
        now=NOW,
        incident_id=drill.id,
        letter_id=letter.id,
        store=app_store.current_store(),
        expected_sha256=letter.current_version.sha256,
    )

    with pytest.raises(InvalidTransition, match="never filed on the HHS breach portal"):
        notices.mark_sent(
            session,
            actor=officer,
            now=NOW,
            incident_id=drill.id,
            letter_id=letter.id,
            notice=notices.NoticeInput(
                method=NoticeMethod.HHS_PORTAL,
                sent_on=date(2025, 9, 20),
                transaction_number="T-2025-0001",
            ),
        )

    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(NoticeSent)) == 0
