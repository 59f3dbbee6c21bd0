"""The HHS annual log of small breaches: membership and due dates from the obligations,
filings and addenda (append-only history), CSV and PDF exports."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa

from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.letters import pdf_text
from incident_app.models.audit import AuditEvent
from incident_app.models.hhs_filing import HhsFiling
from incident_app.models.hhs_filing import ReportType
from incident_app.models.incident import CaseRole
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from incident_app.services import corrective_actions
from incident_app.services import hhs_log
from incident_app.services import hhs_log_exports
from incident_app.services.hhs_log import FilingInput
from incident_app.services.hhs_log import FilingStatus
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from incident_app.services.organisation import get_organisation
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


def _open(session, officer, *, title: str, discovered_on: date, affected: int, **facts):
    return incident_intake.open_incident(
        session,
        actor=officer,
        now=NOW,
        facts=incident_facts.IncidentFacts(
            title=title, discovered_on=discovered_on, affected_estimate=affected, **facts
        ),
    )


@pytest.fixture
def small(session, officer):
    return _open(
        session,
        officer,
        title="Misdirected fax",
        discovered_on=date(2025, 9, 15),
        affected=40,
        breach_types=("unauthorized_access",),
        locations=("paper_films",),
        description="A discharge summary was faxed to the wrong clinic.",
    )


def test_the_log_lists_small_breaches_of_the_year_with_the_obligation_due_date(
    session, officer, small
):
    _open(session, officer, title="Stolen laptop", discovered_on=date(2025, 10, 1), affected=600)
    _open(session, officer, title="Lost badge list", discovered_on=date(2026, 1, 10), affected=12)

    log = hhs_log.annual_log(session, actor=officer, year=2025)

    assert [e.incident.title for e in log.entries] == ["Misdirected fax"]
    entry = log.entries[0]
    # December 31, 2025 plus 60 days.
    assert entry.due_on == date(2026, 3, 1)
    assert entry.status is FilingStatus.NOT_FILED
    assert entry.overdue(date(2026, 3, 2)) and not entry.overdue(date(2026, 3, 1))
    assert log.years == [2026, 2025]
    assert entry.fields["Type of Breach"] == "Unauthorized Access/Disclosure"
    assert entry.fields["Location of Breached Information"] == "Paper/Films"
    assert entry.fields["Approximate Number of Individuals Affected by the Breach"] == "40"
    assert entry.fields["Discovery End Date"] == "2025-09-15"


def test_the_due_date_is_the_obligations_never_recomputed(session, officer, small):
    row = session.scalars(
        sa.select(Obligation).where(
            Obligation.incident_id == small.id, Obligation.kind == "hhs_annual_log"
        )
    ).one()
    row.due_on = date(2026, 4, 15)  # as a law-enforcement delay would move it
    row.override_due_on = date(2026, 2, 20)
    session.commit()

    entry = hhs_log.annual_log(session, actor=officer, year=2025).entries[0]

    assert (entry.due_on, entry.effective_due_on) == (date(2026, 4, 15), date(2026, 2, 20))


def test_recording_the_initial_filing(session, officer, small):
    filing = hhs_log.record_filing(
        session,
        actor=officer,
        incident_id=small.id,
        now=NOW,
        filing=FilingInput(filed_on=date(2026, 2, 10), transaction_number="BRS-2026-0193"),
    )

    entry = hhs_log.annual_log(session, actor=officer, year=2025).entries[0]
    assert entry.status is FilingStatus.FILED
    assert (filing.sequence, filing.report_type, filing.reporting_year) == (
        0,
        ReportType.INITIAL,
        2025,
    )
    assert filing.portal_fields["Report Type"] == "Initial Breach Report"
    assert filing.affected_count == 40
    assert not entry.overdue(date(2026, 3, 2))
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "hhs_log.initial_recorded")
    ).one()
    assert (event.actor_id, event.incident_id, event.details["transaction_number"]) == (
        officer.id,
        small.id,
        "BRS-2026-0193",
    )


def test_a_filed_breach_cannot_be_filed_again_as_initial(session, officer, small):
    first = FilingInput(filed_on=date(2026, 2, 10), transaction_number="BRS-1")
    hhs_log.record_filing(session, actor=officer, incident_id=small.id, filing=first, now=NOW)
    with pytest.raises(InvalidTransition, match="Record an addendum"):
        hhs_log.record_filing(session, actor=officer, incident_id=small.id, filing=first, now=NOW)


@pytest.mark.parametrize(
    ("filing", "field"),
    [
        (FilingInput(filed_on=date(2026, 2, 10), transaction_number=""), "transaction_number"),
        (
            FilingInput(filed_on=date(2026, 2, 10), transaction_number="=cmd|' /C calc'!A0"),
            "transaction_number",
        ),
        (FilingInput(filed_on=date(2026, 3, 3), transaction_number="BRS-1"), "filed_on"),
    ],
)
def test_bad_filing_input_names_the_field_and_writes_nothing(
    session, officer, small, filing, field
):
    with pytest.raises(ValidationFailed) as caught:
        hhs_log.record_filing(session, actor=officer, incident_id=small.id, filing=filing, now=NOW)
    assert caught.value.field == field
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(HhsFiling)) == 0


def test_a_breach_of_500_or_more_is_not_in_the_annual_log(session, officer):
    big = _open(session, officer, title="Big", discovered_on=date(2025, 10, 1), affected=600)
    with pytest.raises(InvalidTransition, match="not a breach of fewer than 500"):
        hhs_log.record_filing(
            session,
            actor=officer,
            incident_id=big.id,
            now=NOW,
            filing=FilingInput(date(2026, 1, 5), "BRS-9"),
        )


def test_auditors_read_the_log_but_only_privacy_officers_file(session, officer, small):
    auditor = make_user(session, role=Role.AUDITOR)
    responder = make_user(session, role=Role.RESPONDER)
    assert len(hhs_log.annual_log(session, actor=auditor, year=2025).entries) == 1
    with pytest.raises(NotAllowed):
        hhs_log.record_filing(
            session,
            actor=auditor,
            incident_id=small.id,
            now=NOW,
            filing=FilingInput(date(2026, 1, 5), "BRS-9"),
        )
    with pytest.raises(NotAllowed):
        hhs_log.annual_log(session, actor=responder, year=2025)


def test_addendum_keeps_the_original_number_and_the_history(session, officer, small):
    initial = hhs_log.record_filing(
        session,
        actor=officer,
        incident_id=small.id,
        now=NOW,
        filing=FilingInput(date(2026, 1, 20), "BRS-2026-0193"),
    )
    incident_facts.update_facts(
        session,
        actor=officer,
        incident_id=small.id,
        now=NOW,
        facts=incident_facts.IncidentFacts(
            title="Misdirected fax", discovered_on=date(2025, 9, 15), affected_estimate=55
        ),
    )

    addendum = hhs_log.record_addendum(
        session,
        actor=officer,
        incident_id=small.id,
        now=NOW,
        filing=FilingInput(date(2026, 2, 27), changes="Second fax found; 15 more patients."),
    )

    assert (addendum.transaction_number, addendum.original_id, addendum.sequence) == (
        "BRS-2026-0193",
        initial.id,
        1,
    )
    assert addendum.affected_count == 55
    assert addendum.portal_fields["Report Type"] == "Addendum to Previous Report"
    entry = hhs_log.annual_log(session, actor=officer, year=2025).entries[0]
    assert entry.status is FilingStatus.AMENDED
    assert [f.affected_count for f in entry.filings] == [40, 55]
    assert (
        session.get(HhsFiling, initial.id).portal_fields[
            "Approximate Number of Individuals Affected by the Breach"
        ]
        == "40"
    )


def test_addendum_needs_an_initial_report_and_a_reason(session, officer, small):
    with pytest.raises(InvalidTransition, match="no initial report"):
        hhs_log.record_addendum(
            session,
            actor=officer,
            incident_id=small.id,
            now=NOW,
            filing=FilingInput(date(2026, 2, 1), changes="x"),
        )
    hhs_log.record_filing(
        session,
        actor=officer,
        incident_id=small.id,
        now=NOW,
        filing=FilingInput(date(2026, 1, 20), "BRS-1"),
    )
    with pytest.raises(ValidationFailed, match="what changed") as caught:
        hhs_log.record_addendum(
            session,
            actor=officer,
            incident_id=small.id,
            now=NOW,
            filing=FilingInput(date(2026, 2, 1), changes="  "),
        )
    assert caught.value.field == "changes"
    with pytest.raises(ValidationFailed, match="predate") as caught:
        hhs_log.record_addendum(
            session,
            actor=officer,
            incident_id=small.id,
            now=NOW,
            filing=FilingInput(date(2026, 1, 2), changes="count"),
        )
    assert caught.value.field == "filed_on"


def test_a_filed_breach_that_grew_past_500_stays_in_its_years_log(session, officer, small):
    hhs_log.record_filing(
        session,
        actor=officer,
        incident_id=small.id,
        now=NOW,
        filing=FilingInput(date(2026, 1, 20), "BRS-1"),
    )
    incident_facts.update_facts(
        session,
        actor=officer,
        incident_id=small.id,
        now=NOW,
        facts=incident_facts.IncidentFacts(
            title="Misdirected fax", discovered_on=date(2025, 9, 15), affected_estimate=700
        ),
    )

    entry = hhs_log.annual_log(session, actor=officer, year=2025).entries[0]

    assert entry.obligation is None and entry.status is FilingStatus.FILED
    assert entry.count_changed


def test_csv_has_the_portal_fields_and_neutralises_formulas(session, officer):
    risky = _open(
        session,
        officer,
        title='=HYPERLINK("http://x")',
        discovered_on=date(2025, 9, 15),
        affected=3,
        description="@SUM(A1:A9) in the description",
    )
    hhs_log.record_filing(
        session,
        actor=officer,
        incident_id=risky.id,
        now=NOW,
        filing=FilingInput(date(2026, 1, 20), "BRS-77"),
    )

    text = hhs_log_exports.export_csv(session, actor=officer, year=2025, now=NOW)

    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["Status"], row["Due date"], row["Transaction number"]) == (
        "Filed",
        "2026-03-01",
        "BRS-77",
    )
    assert row["Brief Description of the Breach"] == "'@SUM(A1:A9) in the description"
    assert row["Approximate Number of Individuals Affected by the Breach"] == "3"
    assert session.scalar(
        sa.select(AuditEvent.details).where(AuditEvent.action == "hhs_log.exported")
    ) == {"year": 2025, "format": "csv", "breaches": 1}


def test_pdf_lists_each_breach_with_its_status(session, officer, small):
    hhs_log.record_filing(
        session,
        actor=officer,
        incident_id=small.id,
        now=NOW,
        filing=FilingInput(date(2026, 1, 20), "BRS-2026-0193"),
    )

    text = pdf_text(hhs_log_exports.export_pdf(session, actor=officer, year=2025, now=NOW))

    assert "annual log for" in text and "Annual log 2025 Page 1 of 1" in text
    assert small.reference in text and "Misdirected fax" in text
    assert "BRS-2026-0193" in text
    assert "2026-03-01" in text


def test_portal_fields_carry_the_actions_taken_from_the_corrective_action_plan(session) -> None:
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    incident = make_incident(
        session, created_by=officer, affected_estimate=40, members={officer: CaseRole.LEAD}
    )
    corrective_actions.create_action(
        session,
        actor=officer,
        incident_id=incident.id,
        now=NOW,
        action=corrective_actions.ActionInput(
            ocr_code="", title="Lock the records room", owner_id=officer.id, due_on=date(2026, 4, 1)
        ),
    )

    fields = hhs_log.portal_fields(session, incident, get_organisation(session))

    assert fields["Actions Taken in Response to Breach"] == "Other"
    assert (
        fields["Describe other actions taken"] == "Lock the records room (planned, due 2026-04-01)"
    )
