"""Intake, fact edits, law-enforcement statements, the team and the lifecycle."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.models.incident import StatementForm
from incident_app.models.obligation import Obligation
from incident_app.models.task import ChecklistItem
from incident_app.models.task import ChecklistTemplate
from incident_app.models.task import Task
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import Role
from incident_app.services import assessment
from incident_app.services.incidents import access as incident_access
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from incident_app.services.incidents import lifecycle
from incident_app.services.incidents import statements as le_statements
from incident_app.services.incidents import team as incident_team
from incident_app.services.incidents.facts import IncidentFacts
from incident_app.services.incidents.statements import StatementInput
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user

# NOW is 2026-03-02 15:30 UTC: 10:30 that morning in New York (the default zone).
FACTS = IncidentFacts(
    title="Laptop stolen from car",
    discovered_on=date(2026, 2, 20),
    description="A clinic laptop was stolen from a parked car.",
    occurred_from=datetime(2026, 2, 19, 23, 0, tzinfo=UTC),
    breach_types=("theft",),
    locations=("laptop",),
    phi_types=("demographic.name", "clinical.diagnosis"),
    affected_estimate=120,
    state_estimates={"NY": 100, "NJ": 20},
)


def _rows(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


def test_intake_stores_facts_reference_lead_tasks_timeline_and_obligations(session, officer):
    incident = incident_intake.open_incident(session, actor=officer, facts=FACTS, now=NOW)

    assert incident.reference == "BD-2026-0001"
    assert incident.status is IncidentStatus.REPORTED
    assert incident.occurred_from == datetime(2026, 2, 19, 23, 0, tzinfo=UTC)
    assert {(c.state, c.residents, c.source) for c in incident.state_counts} == {
        ("NY", 100, CountSource.ESTIMATE),
        ("NJ", 20, CountSource.ESTIMATE),
    }
    assert [(m.user_id, m.case_role) for m in incident.members] == [(officer.id, CaseRole.LEAD)]
    seeded = session.scalars(
        sa.select(Task.checklist_name).where(Task.incident_id == incident.id)
    ).all()
    assert set(seeded) == {"Lost or stolen device"} and len(seeded) == 5
    texts = session.scalars(
        sa.select(TimelineEntry.text).where(TimelineEntry.incident_id == incident.id)
    ).all()
    assert texts == ["Incident BD-2026-0001 opened (Reported); 5 task(s) from checklists."]
    # Discovered 2026-02-20 + 60 days: the individual notice is due 2026-04-21.
    due = session.scalar(
        sa.select(Obligation.due_on).where(
            Obligation.incident_id == incident.id, Obligation.kind == "individual_notice"
        )
    )
    assert due == date(2026, 4, 21)


@pytest.fixture(autouse=True)
def default_checklists(session):
    """Tests build the schema with create_all, so install the migration's default templates."""
    from incident_app.services import options

    for spec in options.checklist_defaults():
        session.add(
            ChecklistTemplate(
                name=spec["name"],
                breach_types=spec["breach_types"],
                items=[ChecklistItem(position=n, **item) for n, item in enumerate(spec["items"])],
            )
        )
    session.commit()


def test_references_count_up_per_year_in_the_organisation_zone(session, officer):
    first = incident_intake.open_incident(session, actor=officer, facts=FACTS, now=NOW)
    second = incident_intake.open_incident(session, actor=officer, facts=FACTS, now=NOW)
    # 2027-01-01 03:00 UTC is still 31 December 2026 in New York.
    new_years_eve = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)
    third = incident_intake.open_incident(session, actor=officer, facts=FACTS, now=new_years_eve)
    fourth = incident_intake.open_incident(
        session, actor=officer, facts=FACTS, now=new_years_eve + timedelta(hours=3)
    )

    assert [i.reference for i in (first, second, third, fourth)] == [
        "BD-2026-0001",
        "BD-2026-0002",
        "BD-2026-0003",
        "BD-2027-0001",
    ]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"discovered_on": date(2026, 3, 3)}, "discovered_on", "is in the future"),
        ({"discovered_on": date(2026, 2, 18)}, "discovered_on", "before the incident started"),
        (
            {"state_estimates": {"NY": 100, "NJ": 21}},
            "state_estimates",
            "add up to 121, more than the 120",
        ),
        ({"state_estimates": {"XX": 1}}, "state_estimates", "Unknown state code 'XX'"),
        ({"breach_types": ("teleportation",)}, "breach_types", "Unknown choice"),
        ({"ba_involved": True}, "ba_name", "Name the business associate"),
        (
            {
                "ba_involved": True,
                "ba_name": "Billing Co",
                "ba_discovered_on": date(2026, 2, 10),
                "ba_notified_on": date(2026, 2, 9),
            },
            "ba_notified_on",
            "before it discovered",
        ),
        ({"diligence_known_on": date(2026, 2, 1)}, "diligence_justification", "Say why"),
        ({"title": "  "}, "title", "title"),
    ],
)
def test_bad_intake_is_refused_and_nothing_is_written(session, officer, change, field, message):
    facts = IncidentFacts(**{**FACTS.__dict__, **change})

    with pytest.raises(ValidationFailed, match=message) as error:
        incident_intake.open_incident(session, actor=officer, facts=facts, now=NOW)

    assert error.value.field == field
    session.rollback()
    assert _rows(session, Incident) == 0
    assert _rows(session, Task) == 0
    assert _rows(session, AuditEvent) == 0


def test_a_discovery_the_evening_before_in_new_york_is_not_before_a_utc_midnight_start(
    session, officer
):
    # Occurred 2026-02-20 02:00 UTC = 2026-02-19 21:00 in New York; found on the 19th there.
    facts = IncidentFacts(
        **{
            **FACTS.__dict__,
            "discovered_on": date(2026, 2, 19),
            "occurred_from": datetime(2026, 2, 20, 2, 0, tzinfo=UTC),
        }
    )

    incident = incident_intake.open_incident(session, actor=officer, facts=facts, now=NOW)

    assert incident.discovered_on == date(2026, 2, 19)


def test_auditors_and_legal_cannot_open_incidents(session):
    for role in (Role.AUDITOR, Role.LEGAL):
        with pytest.raises(NotAllowed):
            incident_intake.open_incident(
                session, actor=make_user(session, role=role), facts=FACTS, now=NOW
            )


def test_fact_edits_are_on_the_timeline_and_audited_old_to_new(session, officer):
    incident = incident_intake.open_incident(session, actor=officer, facts=FACTS, now=NOW)
    later = NOW + timedelta(hours=1)
    edited = IncidentFacts(
        **{**FACTS.__dict__, "discovered_on": date(2026, 2, 19), "state_estimates": {"NY": 90}}
    )

    changes = incident_facts.update_facts(
        session, actor=officer, incident_id=incident.id, facts=edited, now=later
    )

    assert changes == {
        "discovered_on": ["2026-02-20", "2026-02-19"],
        "state_estimates": ["NJ 20, NY 100", "NY 90"],
    }
    texts = session.scalars(
        sa.select(TimelineEntry.text).where(TimelineEntry.kind == EntryKind.FACT)
    ).all()
    assert texts == [
        "Discovered on: 2026-02-20 → 2026-02-19",
        "Estimated per state: NJ 20, NY 100 → NY 90",
    ]
    event = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "incident.facts_updated")
    )
    assert event.details["discovered_on"] == ["2026-02-20", "2026-02-19"]
    # The deadline moved with the discovery date, in the same transaction.
    due = session.scalar(
        sa.select(Obligation.due_on).where(
            Obligation.incident_id == incident.id, Obligation.kind == "individual_notice"
        )
    )
    assert due == date(2026, 4, 20)


def test_a_bad_fact_edit_changes_nothing(session, officer):
    incident = incident_intake.open_incident(session, actor=officer, facts=FACTS, now=NOW)
    edited = IncidentFacts(
        **{**FACTS.__dict__, "title": "New title", "state_estimates": {"NY": 500}}
    )

    with pytest.raises(ValidationFailed):
        incident_facts.update_facts(
            session, actor=officer, incident_id=incident.id, facts=edited, now=NOW
        )
    session.rollback()

    stored = session.get(Incident, incident.id)
    assert stored.title == "Laptop stolen from car"
    assert _rows(session, TimelineEntry) == 1


def test_several_law_enforcement_statements_and_the_written_one_needs_an_end(session, officer):
    incident = incident_intake.open_incident(
        session,
        actor=officer,
        facts=FACTS,
        now=NOW,
        statements=[
            StatementInput(StatementForm.ORAL, "Det. Ruiz", "NYPD", stated_on=date(2026, 2, 25))
        ],
    )
    written = StatementInput(StatementForm.WRITTEN, "SA Chen", "FBI", stated_on=date(2026, 2, 27))

    with pytest.raises(ValidationFailed, match="enter the end date"):
        le_statements.add_statement(
            session, actor=officer, incident_id=incident.id, statement=written, now=NOW
        )
    session.rollback()
    le_statements.add_statement(
        session,
        actor=officer,
        incident_id=incident.id,
        now=NOW,
        statement=StatementInput(**{**written.__dict__, "delay_until": date(2026, 6, 30)}),
    )

    stored = session.get(Incident, incident.id)
    assert [s.agency for s in stored.law_enforcement_statements] == ["NYPD", "FBI"]


# --- team --------------------------------------------------------------------------------


def test_lead_adds_a_responder_and_a_legal_reviewer_only_as_legal(session, officer):
    incident = incident_intake.open_incident(session, actor=officer, facts=FACTS, now=NOW)
    responder = make_user(session, role=Role.RESPONDER)
    lawyer = make_user(session, role=Role.LEGAL)

    incident_team.add_member(
        session,
        actor=officer,
        incident_id=incident.id,
        user_id=responder.id,
        case_role=CaseRole.RESPONDER,
        now=NOW,
    )
    with pytest.raises(ValidationFailed, match="legal role"):
        incident_team.add_member(
            session,
            actor=officer,
            incident_id=incident.id,
            user_id=lawyer.id,
            case_role=CaseRole.RESPONDER,
            now=NOW,
        )
    session.rollback()
    with pytest.raises(ValidationFailed, match="already on the team"):
        incident_team.add_member(
            session,
            actor=officer,
            incident_id=incident.id,
            user_id=responder.id,
            case_role=CaseRole.RESPONDER,
            now=NOW,
        )
    session.rollback()

    team = incident_team.team(session, actor=responder, incident_id=incident.id)
    assert [(m.user_id, m.case_role) for m in team] == [
        (officer.id, CaseRole.LEAD),
        (responder.id, CaseRole.RESPONDER),
    ]


def test_a_responder_on_the_team_cannot_change_the_team(session, officer):
    responder = make_user(session, role=Role.RESPONDER)
    incident = make_incident(session, created_by=officer, members={responder: CaseRole.RESPONDER})

    with pytest.raises(NotAllowed):
        incident_team.add_member(
            session,
            actor=responder,
            incident_id=incident.id,
            user_id=make_user(session).id,
            case_role=CaseRole.RESPONDER,
            now=NOW,
        )


def test_a_member_with_open_tasks_cannot_be_removed(session, officer):
    responder = make_user(session, role=Role.RESPONDER)
    incident = make_incident(session, created_by=officer, members={responder: CaseRole.RESPONDER})
    session.add(
        Task(
            incident_id=incident.id,
            title="Wipe laptop",
            assignee_id=responder.id,
            created_by_id=officer.id,
        )
    )
    session.commit()
    member = incident_team.team(session, actor=officer, incident_id=incident.id)[0]

    with pytest.raises(ValidationFailed, match="1 open task"):
        incident_team.remove_member(
            session, actor=officer, incident_id=incident.id, member_id=member.id, now=NOW
        )


# --- lifecycle ---------------------------------------------------------------------------


def test_only_allowed_transitions_and_the_message_lists_them(session, officer):
    incident = make_incident(session, created_by=officer)

    with pytest.raises(InvalidTransition) as error:
        lifecycle.transition(
            session, actor=officer, incident_id=incident.id, to=IncidentStatus.NOTIFICATION, now=NOW
        )

    assert str(error.value) == (
        "An incident in “Reported” cannot move to “Notification”. From here it can move to: "
        "Containment, Investigation, Closed – not a breach."
    )


def test_a_transition_is_audited_and_on_the_timeline(session, officer):
    incident = make_incident(session, created_by=officer)

    lifecycle.transition(
        session, actor=officer, incident_id=incident.id, to=IncidentStatus.CONTAINMENT, now=NOW
    )

    assert session.get(Incident, incident.id).status is IncidentStatus.CONTAINMENT
    entry = session.scalar(sa.select(TimelineEntry))
    assert entry.text == "Status moved: Reported → Containment."
    event = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "incident.status_changed")
    )
    assert event.details == {"from": "reported", "to": "containment"}


LOW_RISK = {
    "phi_involved": "yes",
    "use_permitted": "no",
    "safeguard": "none",
    "f1_identifiers": ["names"],
    "f1_sensitivity": "low",
    "f1_reidentification": "low",
    "f1_narrative": "Names only.",
    "f2_recipient": "covered_entity",
    "f2_narrative": "Another hospital.",
    "f3_acquired": "no",
    "f3_narrative": "Not read.",
    "f4_mitigation": "returned_or_destroyed",
    "f4_narrative": "Destruction attested.",
    "conclusion": "low_probability",
    "rationale": "All four factors are low risk.",
}


def test_closing_as_not_a_breach_needs_a_signed_determination(session, officer):
    responder = make_user(session, role=Role.RESPONDER)
    incident = make_incident(session, created_by=officer, members={responder: CaseRole.LEAD})

    with pytest.raises(InvalidTransition, match="needs a signed risk assessment"):
        lifecycle.transition(
            session,
            actor=officer,
            incident_id=incident.id,
            to=IncidentStatus.CLOSED_NOT_A_BREACH,
            now=NOW,
            reason="fine",
        )
    session.rollback()
    assessment.save_assessment(
        session, actor=officer, incident_id=incident.id, answers=LOW_RISK, sign=True, now=NOW
    )
    lifecycle.transition(
        session,
        actor=responder,
        incident_id=incident.id,
        to=IncidentStatus.CLOSED_NOT_A_BREACH,
        now=NOW,
    )

    stored = session.get(Incident, incident.id)
    assert (stored.status, stored.closed_at) == (IncidentStatus.CLOSED_NOT_A_BREACH, NOW)
    event = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "incident.status_changed")
    )
    assert event.details["basis"].startswith("Low probability of compromise, four-factor")


def test_reopening_needs_a_privacy_officer_and_a_reason(session, officer):
    responder = make_user(session, role=Role.RESPONDER)
    incident = make_incident(
        session,
        created_by=officer,
        members={responder: CaseRole.LEAD},
        status=IncidentStatus.CLOSED,
        closed_at=NOW,
    )

    with pytest.raises(NotAllowed, match="Only a privacy officer can reopen"):
        lifecycle.transition(
            session,
            actor=responder,
            incident_id=incident.id,
            to=IncidentStatus.INVESTIGATION,
            now=NOW,
            reason="new facts",
        )
    session.rollback()
    with pytest.raises(ValidationFailed, match="Say why"):
        lifecycle.transition(
            session,
            actor=officer,
            incident_id=incident.id,
            to=IncidentStatus.INVESTIGATION,
            now=NOW,
        )
    session.rollback()
    lifecycle.transition(
        session,
        actor=officer,
        incident_id=incident.id,
        to=IncidentStatus.INVESTIGATION,
        now=NOW,
        reason="More records found",
    )

    stored = session.get(Incident, incident.id)
    assert (stored.status, stored.closed_at) == (IncidentStatus.INVESTIGATION, None)
    assert session.scalar(sa.select(TimelineEntry.text)) == (
        "Status reopened: Closed → Investigation. Reason: More records found"
    )


def test_closed_incidents_facts_cannot_be_edited(session, officer):
    incident = make_incident(session, created_by=officer, status=IncidentStatus.CLOSED)

    with pytest.raises(InvalidTransition, match="Reopen"):
        incident_facts.update_facts(
            session, actor=officer, incident_id=incident.id, facts=FACTS, now=NOW
        )


def test_non_members_get_not_found_for_every_incident_service(session, officer):
    outsider = make_user(session, role=Role.RESPONDER)
    incident = make_incident(session, created_by=officer)
    calls = [
        lambda: incident_access.get_incident(session, actor=outsider, incident_id=incident.id),
        lambda: incident_team.team(session, actor=outsider, incident_id=incident.id),
        lambda: incident_facts.update_facts(
            session, actor=outsider, incident_id=incident.id, facts=FACTS, now=NOW
        ),
        lambda: lifecycle.transition(
            session, actor=outsider, incident_id=incident.id, to=IncidentStatus.CONTAINMENT, now=NOW
        ),
        lambda: incident_team.add_member(
            session,
            actor=outsider,
            incident_id=incident.id,
            user_id=outsider.id,
            case_role=CaseRole.RESPONDER,
            now=NOW,
        ),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
