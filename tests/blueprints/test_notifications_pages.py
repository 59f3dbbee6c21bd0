"""The bell, the notification list, mark read, calendar links and the ICS feed, the admin
email page and reminder plans — through the real forms."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from icalendar import Calendar

from incident_app.db import get_session
from incident_app.mailer import SmtpMailer
from incident_app.models.audit import AuditEvent
from incident_app.models.notification import Notification
from incident_app.models.reminder import ReminderSetting
from incident_app.models.user import Role
from incident_app.services.reminders import sweep as reminders
from tests.conftest import csrf_token
from tests.support.factories import make_user
from tests.support.reminder_factories import free_port
from tests.support.reminder_factories import make_obligation
from tests.support.reminder_factories import make_team

APRIL_1 = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)


def remind(app, *, kind: str = "individual_notice", mailer=None):
    """A team with one obligation and the 30-day reminder already swept."""
    from incident_app.mailer import RecordingMailer

    with app.app_context():
        session = get_session()
        team = make_team(session)
        make_obligation(session, team.incident, due_on=date(2026, 5, 1), kind=kind)
        reminders.sweep(
            session,
            now=APRIL_1,
            mailer=mailer or RecordingMailer(),
            base_url="https://breachdesk.example.org",
        )
    return team


def test_the_bell_shows_the_unread_count(app, client, auth) -> None:
    team = remind(app)
    auth.login(team.lead.email)

    page = client.get("/").get_data(as_text=True)

    assert 'aria-label="Notifications: 1 unread"' in page


def test_the_list_shows_the_reminder_and_mark_read_clears_it(app, client, auth) -> None:
    team = remind(app)
    auth.login(team.lead.email)

    page = client.get("/notifications/").get_data(as_text=True)
    assert f"{team.incident.reference}: Notice to individuals due in 30 days" in page
    with app.app_context():
        note_id = get_session().scalar(
            sa.select(Notification.id).where(Notification.user_id == team.lead.id)
        )
    token = csrf_token(client, "/notifications/")
    response = client.post(
        f"/notifications/{note_id}/read", data={"csrf_token": token}, follow_redirects=True
    )

    assert response.status_code == 200
    assert 'aria-label="Notifications: 0 unread"' in response.get_data(as_text=True)
    with app.app_context():
        assert get_session().get(Notification, note_id).read_at is not None


def test_mark_all_read(app, client, auth) -> None:
    team = remind(app)
    auth.login(team.lead.email)

    response = client.post(
        "/notifications/read-all",
        data={"csrf_token": csrf_token(client, "/notifications/")},
        follow_redirects=True,
    )

    assert "1 notification marked read." in response.get_data(as_text=True)


def test_nobody_marks_another_persons_notification(app, client, auth) -> None:
    team = remind(app)
    with app.app_context():
        note_id = get_session().scalar(
            sa.select(Notification.id).where(Notification.user_id == team.lead.id)
        )
    auth.login(team.responder.email)

    response = client.post(
        f"/notifications/{note_id}/read", data={"csrf_token": csrf_token(client, "/notifications/")}
    )

    assert response.status_code == 404
    with app.app_context():
        assert get_session().get(Notification, note_id).read_at is None


def test_mark_read_without_csrf_is_refused(app, client, auth) -> None:
    team = remind(app)
    auth.login(team.lead.email)

    assert client.post("/notifications/read-all").status_code == 400


def test_calendar_link_made_used_and_revoked(app, client, auth) -> None:
    team = remind(app)
    auth.login(team.lead.email)

    page = client.post(
        "/calendar/token", data={"csrf_token": csrf_token(client, "/calendar")}
    ).get_data(as_text=True)
    assert "copy it now: it is shown only once" in page
    url = _feed_url(page)
    path = url.removeprefix(app.config["APP_BASE_URL"])
    auth.logout()

    feed = client.get(path)  # a calendar app: no session, only the token
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert len(Calendar.from_ical(feed.data).walk("VEVENT")) == 1

    auth.login(team.lead.email)
    client.post("/calendar/token/revoke", data={"csrf_token": csrf_token(client, "/calendar")})
    assert client.get(path).status_code == 404


def _feed_url(page: str) -> str:
    start = page.index('readonly value="') + len('readonly value="')
    return page[start : page.index('"', start)]


def test_an_invalid_calendar_token_is_404_and_audited(app, client) -> None:
    response = client.get("/calendar/guessed-token.ics")

    assert response.status_code == 404
    assert "No such calendar" in response.get_data(as_text=True)
    with app.app_context():
        event = (
            get_session()
            .scalars(sa.select(AuditEvent).where(AuditEvent.action == "calendar.invalid_token"))
            .one()
        )
    assert event.details["client"] == "127.0.0.1"


def test_admins_see_failing_email_in_the_header_and_on_the_email_page(app, client, auth) -> None:
    down = SmtpMailer(host="127.0.0.1", port=free_port(), sender="bd@example.org", starttls=False)
    remind(app, kind="hhs_notice", mailer=down)
    with app.app_context():
        admin = make_user(get_session(), role=Role.ADMIN)
    auth.login(admin.email)

    dashboard = client.get("/").get_data(as_text=True)
    assert "Email failing (1)" in dashboard
    page = client.get("/admin/email").get_data(as_text=True)
    assert "could not deliver through 127.0.0.1" in page


def test_the_email_page_is_for_admins_only(app, client, auth) -> None:
    team = remind(app)
    auth.login(team.officer.email)

    assert client.get("/admin/email").status_code == 403
    assert "Email failing" not in client.get("/").get_data(as_text=True)


def test_an_admin_changes_a_reminder_plan(app, client, auth) -> None:
    with app.app_context():
        admin = make_user(get_session(), role=Role.ADMIN)
    auth.login(admin.email)

    response = client.post(
        "/admin/reminders",
        data={
            "csrf_token": csrf_token(client, "/admin/reminders"),
            "kind": "hhs_notice",
            "days_before": "10, 3, 0",
            "overdue_daily": "y",
        },
        follow_redirects=True,
    )

    assert "Reminder plan saved." in response.get_data(as_text=True)
    with app.app_context():
        row = get_session().scalars(sa.select(ReminderSetting)).one()
    assert (row.kind, row.days_before, row.overdue_daily) == ("hhs_notice", [10, 3, 0], True)


def test_a_bad_reminder_plan_shows_a_message_and_saves_nothing(app, client, auth) -> None:
    with app.app_context():
        admin = make_user(get_session(), role=Role.ADMIN)
    auth.login(admin.email)

    for days, message in (
        ("ten, 3", "Enter whole numbers separated by commas"),
        ("400", "between 0 (the due date) and 365"),
    ):
        response = client.post(
            "/admin/reminders",
            data={
                "csrf_token": csrf_token(client, "/admin/reminders"),
                "kind": "*",
                "days_before": days,
            },
        )
        assert response.status_code == 200
        assert message in response.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(ReminderSetting)) == 0
