"""Tasks (members only, checklist seeding), checklist templates, the list filters, dashboard."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentStatus
from incident_app.models.obligation import Obligation
from incident_app.models.task import ChecklistItem
from incident_app.models.task import ChecklistTemplate
from incident_app.models.task import Task
from incident_app.models.task import TaskStatus
from incident_app.models.user import Role
from incident_app.services.incidents import checklists
from incident_app.services.incidents import listing as incident_list
from incident_app.services.incidents import tasks
from incident_app.services.incidents.checklists import ItemInput
from incident_app.services.incidents.checklists import TemplateInput
from incident_app.services.incidents.listing import ListFilters
from incident_app.services.incidents.tasks import TaskInput
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user

TODAY = date(2026, 3, 2)


@pytest.fixture
def team(session):
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    member = make_user(session, role=Role.RESPONDER, name="Mia Member")
    outsider = make_user(session, role=Role.RESPONDER, name="Oscar Outsider")
    incident = make_incident(
        session, created_by=officer, members={member: CaseRole.RESPONDER}, breach_types=["hacking"]
    )
    return officer, member, outsider, incident


def test_a_task_for_a_non_member_is_refused_with_their_name(session, team):
    _, member, outsider, incident = team

    with pytest.raises(
        ValidationFailed, match="Oscar Outsider is not on this incident's team"
    ) as error:
        tasks.create_task(
            session,
            actor=member,
            incident_id=incident.id,
            now=NOW,
            task=TaskInput("Reset passwords", assignee_id=outsider.id),
        )

    assert error.value.field == "assignee_id"
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0


def test_completing_a_task_stamps_it_and_reopening_clears_it(session, team):
    _, member, _, incident = team
    task = tasks.create_task(
        session,
        actor=member,
        incident_id=incident.id,
        now=NOW,
        task=TaskInput("Reset passwords", assignee_id=member.id),
    )

    done = tasks.update_task(
        session,
        actor=member,
        incident_id=incident.id,
        task_id=task.id,
        now=NOW,
        task=TaskInput("Reset passwords", member.id, status=TaskStatus.DONE),
    )
    assert (done.status, done.completed_at) == (TaskStatus.DONE, NOW)
    reopened = tasks.update_task(
        session,
        actor=member,
        incident_id=incident.id,
        task_id=task.id,
        now=NOW,
        task=TaskInput("Reset passwords", member.id),
    )
    assert (reopened.status, reopened.completed_at) == (TaskStatus.OPEN, None)


def test_checklists_seed_by_breach_type_or_by_choice(session, team):
    officer, _, _, incident = team
    hacking = ChecklistTemplate(name="Hacking", breach_types=["hacking"])
    mail = ChecklistTemplate(name="Mail", breach_types=["unauthorized_access"])
    session.add_all([hacking, mail])
    session.flush()
    checklists_for = {"Hacking": hacking, "Mail": mail}
    for name, template in checklists_for.items():
        template.items.extend([ChecklistItem(position=0, title=f"{name} 1", due_days=2)])
    session.commit()

    by_type = tasks.seed_from_checklists(
        session, incident=incident, actor=officer, now=NOW, today=TODAY
    )
    chosen = tasks.seed_from_checklists(
        session, incident=incident, actor=officer, now=NOW, today=TODAY, template_ids=[mail.id]
    )
    session.commit()

    assert (by_type, chosen) == (1, 1)
    assert session.execute(sa.select(Task.title, Task.due_on).order_by(Task.id)).all() == [
        ("Hacking 1", date(2026, 3, 4)),
        ("Mail 1", date(2026, 3, 4)),
    ]


def test_only_admins_edit_checklists_and_bad_lines_are_refused(session, team):
    officer, *_ = team
    admin = make_user(session, role=Role.ADMIN)
    values = TemplateInput("Ransomware", ("hacking",), (ItemInput("Isolate hosts", 0),))

    with pytest.raises(NotAllowed):
        checklists.save_template(session, actor=officer, values=values, now=NOW)
    with pytest.raises(ValidationFailed, match="Task 1: due days must be between 0 and 365"):
        checklists.save_template(
            session,
            actor=admin,
            now=NOW,
            values=TemplateInput("Ransomware", ("hacking",), (ItemInput("Isolate hosts", 400),)),
        )
    session.rollback()
    saved = checklists.save_template(session, actor=admin, values=values, now=NOW)
    assert [i.title for i in saved.items] == ["Isolate hosts"]


def _ids(page) -> list[str]:
    return [row.incident.title for row in page.rows]


def test_list_filters_by_type_text_and_status_for_members_only(session, team):
    officer, member, outsider, _ = team
    make_incident(
        session,
        created_by=officer,
        title="Fax sent to wrong 100% clinic",
        breach_types=["unauthorized_access"],
        members={member: CaseRole.LEGAL},
    )
    make_incident(
        session,
        created_by=officer,
        title="Closed one",
        status=IncidentStatus.CLOSED,
        members={member: CaseRole.LEGAL},
    )

    def titles(actor, **filters):
        return _ids(
            incident_list.list_incidents(
                session,
                actor=actor,
                today=TODAY,
                filters=ListFilters(sort="title", descending=False, **filters),
            )
        )

    assert titles(member, breach_type="unauthorized_access") == ["Fax sent to wrong 100% clinic"]
    assert titles(member, text="100%") == ["Fax sent to wrong 100% clinic"]
    assert titles(member, text="100_") == []  # LIKE wildcards are matched literally
    assert titles(member, status=IncidentStatus.CLOSED) == ["Closed one"]
    assert titles(outsider) == []
    with pytest.raises(ValidationFailed):
        titles(member, breach_type="' OR 1=1 --")


def test_dashboard_flags_overdue_and_skips_closed_incidents(session, team):
    officer, member, _, incident = team
    closed = make_incident(
        session,
        created_by=officer,
        status=IncidentStatus.CLOSED,
        members={member: CaseRole.RESPONDER},
    )
    for case, due in ((incident, date(2026, 3, 1)), (closed, date(2026, 3, 3))):
        session.add(
            Obligation(
                incident_id=case.id,
                kind="individual_notice",
                jurisdiction="US",
                due_on=due,
                citation="164.404",
                reason="test",
            )
        )
    session.add(
        Task(
            incident_id=incident.id,
            title="Call insurer",
            assignee_id=member.id,
            due_on=date(2026, 3, 16),
            created_by_id=officer.id,
        )
    )
    session.add(
        Task(
            incident_id=incident.id,
            title="Later",
            assignee_id=member.id,
            due_on=date(2026, 3, 17),
            created_by_id=officer.id,
        )
    )
    session.commit()

    panel = incident_list.dashboard(session, actor=member, today=TODAY)

    assert [(o.due_on, o.overdue) for o in panel["obligations"]] == [(date(2026, 3, 1), True)]
    assert [(t.label, t.overdue) for t in panel["tasks"]] == [("Call insurer", False)]
    assert [i.id for i in panel["my_incidents"]] == [incident.id]
    assert dict(panel["counts"])[IncidentStatus.CLOSED] == 1
