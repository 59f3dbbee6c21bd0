"""The reminder sweep: each planned point once, catch-up after downtime, recipients, no PHI."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine

from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.jobs.reminders import send_due_reminders_job
from incident_app.mailer import RecordingMailer
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import IncidentStatus
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.models.notification import Notification
from incident_app.models.reminder import ReminderSent
from incident_app.models.reminder import ReminderSetting
from incident_app.models.user import Role
from incident_app.services import organisation
from incident_app.services.reminders import plans as reminder_plans
from incident_app.services.reminders import sweep as reminders
from incident_app.services.reminders.plans import Plan
from incident_app.services.reminders.plans import covered_points
from incident_app.services.reminders.plans import due_point
from tests.support.factories import make_user
from tests.support.reminder_factories import PHI_DESCRIPTION
from tests.support.reminder_factories import PHI_TITLE
from tests.support.reminder_factories import make_obligation
from tests.support.reminder_factories import make_task
from tests.support.reminder_factories import make_team

DUE = date(2026, 5, 1)


def at(day: str, hour: int = 14) -> datetime:
    """`hour` o'clock UTC on `day` (14:00 UTC is 10:00 in New York, the default zone)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def sweep(session, day: str, hour: int = 14, mailer=None) -> reminders.SweepReport:
    return reminders.sweep(
        session,
        now=at(day, hour),
        mailer=mailer or RecordingMailer(),
        base_url="https://breachdesk.example.org",
    )


def sent_points(session) -> list[tuple[date, int, bool]]:
    rows = session.scalars(sa.select(ReminderSent).order_by(ReminderSent.id))
    return [(r.sent_at.date(), r.days_before, r.late) for r in rows]


# ---------------------------------------------------------------- the plan, by hand


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 3, 31), None),  # 31 days before: nothing yet
        (date(2026, 4, 1), 30),
        (date(2026, 4, 16), 30),
        (date(2026, 4, 17), 14),
        (date(2026, 4, 29), 3),
        (date(2026, 4, 30), 1),
        (date(2026, 5, 1), 0),
        (date(2026, 5, 2), -1),
        (date(2026, 5, 11), -10),
    ],
)
def test_due_point_is_the_latest_passed_point(today, expected) -> None:
    assert due_point(Plan(), DUE, today) == expected


def test_without_overdue_reminders_the_due_day_is_the_last_point() -> None:
    plan = Plan(days_before=(7, 0), overdue_daily=False)

    assert due_point(plan, DUE, date(2026, 5, 9)) == 0


def test_covered_points_lists_what_a_catch_up_stands_in_for() -> None:
    assert covered_points(Plan(), 3, 30) == [14, 7]
    assert covered_points(Plan(), 3, None) == [30, 14, 7]
    assert covered_points(Plan(), -3, 1) == [0, -1, -2]
    assert covered_points(Plan(), 14, 30) == []


# ---------------------------------------------------------------- 60 days of an incident


def test_sixty_days_of_an_incident_send_exactly_the_configured_sequence(app, session) -> None:
    team = make_team(session, discovered_on=date(2026, 3, 2))
    make_obligation(session, team.incident, due_on=DUE)
    app.extensions["mailer"] = RecordingMailer()
    days = [
        date.fromordinal(d)
        for d in range(date(2026, 3, 2).toordinal(), date(2026, 5, 4).toordinal() + 1)
    ]

    with time_machine.travel(at("2026-03-02", 9), tick=False) as traveller:
        for day in days:
            for hour in (9, 15, 23):  # three sweeps a day, as if every minute
                traveller.move_to(at(day.isoformat(), hour))
                send_due_reminders_job(app)

    assert sent_points(session) == [
        (date(2026, 4, 1), 30, False),
        (date(2026, 4, 17), 14, False),
        (date(2026, 4, 24), 7, False),
        (date(2026, 4, 28), 3, False),
        (date(2026, 4, 30), 1, False),
        (date(2026, 5, 1), 0, False),
        (date(2026, 5, 2), -1, False),
        (date(2026, 5, 3), -2, False),
        (date(2026, 5, 4), -3, False),
    ]


def test_today_is_the_date_in_the_organisations_time_zone(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE)

    sweep(session, "2026-04-01", hour=3)  # 23:00 on 31 March in New York
    assert sent_points(session) == []

    sweep(session, "2026-04-01", hour=5)  # 01:00 on 1 April in New York
    assert sent_points(session) == [(date(2026, 4, 1), 30, False)]


def test_another_time_zone_moves_the_day_boundary(session) -> None:
    organisation.get_organisation(session).timezone = "Pacific/Honolulu"  # UTC-10
    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE)

    sweep(session, "2026-04-01", hour=9)  # 23:00 on 31 March in Honolulu

    assert sent_points(session) == []


# ---------------------------------------------------------------- downtime


def test_after_downtime_one_late_reminder_stands_in_for_the_missed_ones(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE)
    sweep(session, "2026-04-01")

    sweep(session, "2026-04-29")  # down since 1 April: 14 and 7 days before were missed
    sweep(session, "2026-04-29", hour=15)
    sweep(session, "2026-04-30")

    rows = session.scalars(sa.select(ReminderSent).order_by(ReminderSent.id)).all()
    assert [(r.days_before, r.late, r.covers) for r in rows] == [
        (30, False, []),
        (3, True, [14, 7]),
        (1, False, []),
    ]
    lead_notes = session.scalars(
        sa.select(Notification.title)
        .where(Notification.user_id == team.lead.id)
        .order_by(Notification.id)
    ).all()
    assert lead_notes == [
        f"{team.incident.reference}: Notice to individuals due in 30 days",
        f"{team.incident.reference}: Notice to individuals due in 2 days",
        f"{team.incident.reference}: Notice to individuals due in 1 day",
    ]


def test_a_week_of_overdue_downtime_gives_one_reminder(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE)
    sweep(session, "2026-04-30")

    sweep(session, "2026-05-07")

    rows = session.scalars(sa.select(ReminderSent).order_by(ReminderSent.id)).all()
    assert [(r.days_before, r.late, r.covers) for r in rows] == [
        (1, True, [30, 14, 7, 3]),
        (-6, True, [0, -1, -2, -3, -4, -5]),
    ]
    body = session.scalars(
        sa.select(Notification.body).where(Notification.reminder_id == rows[1].id)
    ).first()
    assert "stands in for 6 earlier reminders" in body


def test_a_late_reminder_says_so(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE)

    sweep(session, "2026-04-19")

    row = session.scalars(sa.select(ReminderSent)).one()
    assert (row.days_before, row.late, row.covers) == (14, True, [30])
    note = session.scalars(
        sa.select(Notification).where(Notification.user_id == team.lead.id)
    ).one()
    assert "Late reminder: planned for 2026-04-17." in note.body


# ---------------------------------------------------------------- fact changes


def test_an_obligation_removed_by_a_fact_change_gets_no_reminder(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE, active=False)

    sweep(session, "2026-04-01")

    assert sent_points(session) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_an_obligation_removed_after_queueing_gets_no_email(session) -> None:
    team = make_team(session)
    obligation = make_obligation(session, team.incident, due_on=DUE)

    class Down(RecordingMailer):
        def send(self, mail) -> None:
            from incident_app.mailer import MailDeliveryError

            raise MailDeliveryError("connection refused", server_down=True)

    sweep(session, "2026-04-01", mailer=Down())
    obligation.active = False  # what services.obligations.sync does when a fact removes it
    session.commit()
    mailer = RecordingMailer()
    sweep(session, "2026-04-02", mailer=mailer)

    assert mailer.sent == []
    statuses = session.scalars(sa.select(EmailMessage.status)).all()
    assert set(statuses) == {EmailStatus.CANCELLED}


def test_a_moved_deadline_is_planned_again_and_the_history_stays(session) -> None:
    team = make_team(session)
    obligation = make_obligation(session, team.incident, due_on=DUE)
    sweep(session, "2026-04-01")

    obligation.due_on = date(2026, 4, 20)  # a fact change brought it forward
    session.commit()
    sweep(session, "2026-04-02")
    sweep(session, "2026-04-06")

    rows = session.scalars(sa.select(ReminderSent).order_by(ReminderSent.id)).all()
    assert [(r.due_on, r.days_before, r.late) for r in rows] == [
        (DUE, 30, False),
        (date(2026, 4, 20), 30, True),
        (date(2026, 4, 20), 14, False),
    ]


def test_an_override_of_the_due_date_is_followed(session) -> None:
    team = make_team(session)
    obligation = make_obligation(session, team.incident, due_on=DUE)
    obligation.override_due_on = date(2026, 4, 15)
    session.commit()

    sweep(session, "2026-04-01")

    row = session.scalars(sa.select(ReminderSent)).one()
    assert (row.due_on, row.days_before) == (date(2026, 4, 15), 14)


def test_closed_incidents_and_undated_obligations_get_no_reminders(session) -> None:
    team = make_team(session, status=IncidentStatus.CLOSED)
    make_obligation(session, team.incident, due_on=DUE)
    open_team = make_team(session)
    make_obligation(session, open_team.incident, due_on=None)

    sweep(session, "2026-05-10")

    assert sent_points(session) == []


# ---------------------------------------------------------------- recipients


def recipients_of(session, reminder_id: int) -> set[int]:
    return set(
        session.scalars(
            sa.select(Notification.user_id).where(Notification.reminder_id == reminder_id)
        )
    )


def test_a_letter_reminds_the_lead_and_legal_not_the_responders(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE)

    report = sweep(session, "2026-04-01")

    assert recipients_of(session, report.sent[0].id) == {team.lead.id, team.legal.id}


def test_an_hhs_notice_reminds_the_lead_only(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE, kind="hhs_notice")

    report = sweep(session, "2026-04-01")

    assert recipients_of(session, report.sent[0].id) == {team.lead.id}


def test_overdue_escalates_to_every_active_privacy_officer(session) -> None:
    team = make_team(session)
    other_officer = make_user(session, role=Role.PRIVACY_OFFICER)
    make_user(session, role=Role.PRIVACY_OFFICER, active=False)
    make_obligation(session, team.incident, due_on=DUE)

    report = sweep(session, "2026-05-02")

    assert recipients_of(session, report.sent[0].id) == {
        team.lead.id,
        team.legal.id,
        team.officer.id,
        other_officer.id,
    }
    assert (
        session.scalar(sa.select(Notification.overdue).where(Notification.user_id == team.lead.id))
        is True
    )


def test_a_deadline_nobody_on_the_team_would_hear_about_goes_to_privacy_officers(
    session,
) -> None:
    team = make_team(session)
    team.lead.active = False
    session.commit()
    make_obligation(session, team.incident, due_on=DUE, kind="hhs_notice")

    report = sweep(session, "2026-04-01")

    assert recipients_of(session, report.sent[0].id) == {team.officer.id}


def test_a_task_reminds_its_assignee_and_the_lead(session) -> None:
    team = make_team(session)
    task = make_task(session, team.incident, due_on=date(2026, 4, 8), assignee=team.responder)

    report = sweep(session, "2026-04-01")

    assert [(r.subject_type, r.subject_id, r.days_before) for r in report.sent] == [
        ("task", task.id, 7)
    ]
    assert recipients_of(session, report.sent[0].id) == {team.lead.id, team.responder.id}
    note = session.scalars(
        sa.select(Notification).where(Notification.user_id == team.responder.id)
    ).one()
    assert note.title == f"{team.incident.reference}: Task #{task.id} due in 7 days"


# ---------------------------------------------------------------- email content


def test_email_carries_no_phi_only_reference_obligation_date_and_link(session) -> None:
    team = make_team(session)
    make_obligation(
        session, team.incident, due_on=DUE, kind="state_individual_notice", jurisdiction="CA"
    )
    make_task(session, team.incident, due_on=DUE, assignee=team.lead)
    mailer = RecordingMailer()

    sweep(session, "2026-04-01", mailer=mailer)

    to_lead = [m for m in mailer.sent if m.to == team.lead.email]
    assert len(to_lead) == 2
    notice = next(m for m in to_lead if "CA" in m.subject)
    assert notice.subject == (
        f"[BreachDesk] {team.incident.reference}: State notice to residents (CA) due in 30 days"
    )
    assert f"Incident: {team.incident.reference}" in notice.body
    assert "Due date: 2026-05-01." in notice.body
    assert f"https://breachdesk.example.org/incidents/{team.incident.id}/deadlines" in notice.body
    for mail in to_lead:
        for secret in ("Jane", "Patient", "MRN", "123-45-6789", PHI_TITLE, PHI_DESCRIPTION):
            assert secret not in mail.subject + mail.body


def test_without_smtp_reminders_are_in_app_only(session) -> None:
    from incident_app.mailer import UnconfiguredMailer

    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE)

    report = sweep(session, "2026-04-01", mailer=UnconfiguredMailer())

    assert len(report.sent) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(EmailMessage)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 2


def test_each_reminder_is_audited_as_sent_by_the_scheduler(session) -> None:
    team = make_team(session)
    obligation = make_obligation(session, team.incident, due_on=DUE)

    sweep(session, "2026-04-01")

    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reminder.sent")).one()
    assert (event.actor_label, event.subject_id, event.incident_id) == (
        "scheduler",
        str(obligation.id),
        team.incident.id,
    )
    assert event.details["days_before"] == 30


def test_the_unique_constraint_refuses_a_second_copy_of_a_point(session) -> None:
    team = make_team(session)
    obligation = make_obligation(session, team.incident, due_on=DUE)
    for _ in range(2):
        session.add(
            ReminderSent(
                subject_type="obligation",
                subject_id=obligation.id,
                incident_id=team.incident.id,
                due_on=DUE,
                days_before=30,
            )
        )

    with pytest.raises(sa.exc.IntegrityError):
        session.flush()
    session.rollback()


# ---------------------------------------------------------------- plans


def test_a_plan_per_kind_replaces_the_default(session) -> None:
    admin = make_user(session, role=Role.ADMIN)
    reminder_plans.set_plan(
        session,
        actor=admin,
        kind="hhs_notice",
        days_before=[0, 10],
        overdue_daily=False,
        now=at("2026-03-01"),
    )
    reminder_plans.set_plan(
        session, actor=admin, kind="*", days_before=[5], overdue_daily=True, now=at("2026-03-01")
    )
    team = make_team(session)
    make_obligation(session, team.incident, due_on=DUE, kind="hhs_notice")
    make_obligation(session, team.incident, due_on=DUE, kind="media_notice")

    for day in ("2026-04-01", "2026-04-21", "2026-04-26", "2026-05-01", "2026-05-02", "2026-05-03"):
        sweep(session, day)

    rows = session.scalars(sa.select(ReminderSent).order_by(ReminderSent.id)).all()
    by_subject: dict[int, list[int]] = {}
    for row in rows:
        by_subject.setdefault(row.subject_id, []).append(row.days_before)
    # media: the default "*" plan (5 days before, then daily overdue; the due day itself is
    # not in that plan); HHS: its own plan (10 days before and on the day, nothing overdue).
    assert sorted(by_subject.values()) == [[5, -1, -2], [10, 0]]


@pytest.mark.parametrize(
    ("kind", "days", "field"),
    [
        ("no_such_kind", [7], "kind"),
        ("*", [], "days_before"),
        ("*", [7, -1], "days_before"),
        ("*", [366], "days_before"),
    ],
)
def test_a_bad_plan_is_refused_and_nothing_is_written(session, kind, days, field) -> None:
    admin = make_user(session, role=Role.ADMIN)

    with pytest.raises(ValidationFailed) as caught:
        reminder_plans.set_plan(
            session,
            actor=admin,
            kind=kind,
            days_before=days,
            overdue_daily=True,
            now=at("2026-03-01"),
        )

    assert caught.value.field == field
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ReminderSetting)) == 0


def test_only_settings_managers_change_plans(session) -> None:
    officer = make_user(session, role=Role.PRIVACY_OFFICER)

    with pytest.raises(NotAllowed):
        reminder_plans.set_plan(
            session,
            actor=officer,
            kind="*",
            days_before=[7],
            overdue_daily=True,
            now=at("2026-03-01"),
        )
