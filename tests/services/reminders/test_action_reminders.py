"""Corrective-action due dates get reminders through the same sweep (issue 13 → issue 9)."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import sqlalchemy as sa
import time_machine

from incident_app.jobs.reminders import send_due_reminders_job
from incident_app.mailer import RecordingMailer
from incident_app.models.corrective_action import ActionStatus
from incident_app.models.notification import Notification
from incident_app.models.reminder import ReminderSent
from incident_app.models.reminder import SubjectType
from incident_app.services import corrective_actions
from incident_app.services.reminders import deadlines as reminder_deadlines
from tests.support.factories import NOW
from tests.support.reminder_factories import make_team

DUE = date(2026, 5, 1)


def _plan_action(session, team, due_on=DUE):
    return corrective_actions.create_action(
        session,
        actor=team.officer,
        incident_id=team.incident.id,
        now=NOW,
        action=corrective_actions.ActionInput(
            ocr_code="", title="Encrypt every laptop", owner_id=team.responder.id, due_on=due_on
        ),
    )


def _sent(session) -> list[tuple[str, int]]:
    return [
        (r.subject_type.value, r.days_before)
        for r in session.scalars(sa.select(ReminderSent).order_by(ReminderSent.id))
    ]


def test_an_open_action_is_reminded_to_its_owner(app, session) -> None:
    team = make_team(session, discovered_on=date(2026, 3, 2))
    action = _plan_action(session, team)
    app.extensions["mailer"] = RecordingMailer()

    with time_machine.travel(datetime(2026, 4, 24, 14, tzinfo=UTC), tick=False):
        send_due_reminders_job(app)

    assert _sent(session) == [("corrective_action", 7)]
    notified = session.scalars(sa.select(Notification.user_id)).all()
    assert team.responder.id in notified
    deadline = next(
        d
        for d in reminder_deadlines.active_deadlines(session)
        if d.subject_type is SubjectType.CORRECTIVE_ACTION
    )
    assert (deadline.subject_id, deadline.link) == (
        action.id,
        f"/incidents/{team.incident.id}/actions",
    )


def test_a_done_action_is_not_reminded(app, session) -> None:
    team = make_team(session, discovered_on=date(2026, 3, 2))
    action = _plan_action(session, team)
    action.status, action.completed_at = ActionStatus.DONE, NOW
    action.completed_by_id = team.responder.id
    session.commit()
    app.extensions["mailer"] = RecordingMailer()

    with time_machine.travel(datetime(2026, 4, 24, 14, tzinfo=UTC), tick=False):
        send_due_reminders_job(app)

    assert _sent(session) == []
