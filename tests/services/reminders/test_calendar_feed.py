"""Per-user ICS feeds: parse with icalendar, only visible deadlines, stable UIDs, SEQUENCE on
a moved date, VALARMs, no PHI, and tokens that are hashed, revocable and audited when wrong."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from incident_app.errors import NotFound
from incident_app.models.audit import AuditEvent
from incident_app.models.notification import CalendarToken
from incident_app.models.user import Role
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders import calendar_feed
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.reminder_factories import make_obligation
from tests.support.reminder_factories import make_task
from tests.support.reminder_factories import make_team

NOW = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)
BASE = "https://breachdesk.example.org"


def read_feed(session, token: str, now: datetime = NOW) -> Calendar:
    ics = calendar_feed.feed(session, token=token, now=now, base_url=BASE)
    calendar = Calendar.from_ical(ics)
    calendar.validate()
    return calendar


def events(calendar: Calendar) -> dict[str, object]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_lists_the_deadlines_and_tasks_the_user_can_see(session) -> None:
    team = make_team(session)
    notice = make_obligation(session, team.incident, due_on=date(2026, 5, 1))
    task = make_task(session, team.incident, due_on=date(2026, 4, 10), assignee=team.lead)
    make_obligation(
        session, team.incident, due_on=date(2026, 5, 2), kind="media_notice", active=False
    )
    elsewhere = make_incident(session, created_by=team.officer)  # the lead is not on it
    make_obligation(session, elsewhere, due_on=date(2026, 5, 3))
    token = calendar_feed.issue_token(session, actor=team.lead, now=NOW)

    found = events(read_feed(session, token))

    assert sorted(found) == [
        f"obligation-{notice.id}@breachdesk.example.org",
        f"task-{task.id}@breachdesk.example.org",
    ]
    event = found[f"obligation-{notice.id}@breachdesk.example.org"]
    assert event.decoded("DTSTART") == date(2026, 5, 1)
    assert event.decoded("DTEND") == date(2026, 5, 2)
    assert str(event["SUMMARY"]) == f"{team.incident.reference}: Notice to individuals due"
    assert str(event["URL"]) == f"{BASE}/incidents/{team.incident.id}/deadlines"
    task_event = found[f"task-{task.id}@breachdesk.example.org"]
    assert str(task_event["URL"]) == f"{BASE}/incidents/{team.incident.id}/tasks/{task.id}"
    assert str(task_event["SUMMARY"]) == f"{team.incident.reference}: Task #{task.id} due"
    assert event["SEQUENCE"] == 0
    alarms = [a.decoded("TRIGGER") for a in event.walk("VALARM")]
    assert alarms == [-timedelta(days=6, hours=15), -timedelta(hours=15)]


def test_a_privacy_officer_sees_every_incident(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=date(2026, 5, 1))
    other = make_incident(session, created_by=team.officer)
    make_obligation(session, other, due_on=date(2026, 5, 3))
    token = calendar_feed.issue_token(session, actor=team.officer, now=NOW)

    assert len(events(read_feed(session, token))) == 2


def test_a_moved_deadline_keeps_its_uid_with_a_new_sequence(session) -> None:
    team = make_team(session)
    notice = make_obligation(session, team.incident, due_on=date(2026, 5, 1))
    token = calendar_feed.issue_token(session, actor=team.lead, now=NOW)
    uid = f"obligation-{notice.id}@breachdesk.example.org"
    before = events(read_feed(session, token))[uid]

    notice.due_on = date(2026, 4, 20)  # a fact change brought it forward
    session.commit()
    moved = events(read_feed(session, token, NOW + timedelta(hours=1)))[uid]
    again = events(read_feed(session, token, NOW + timedelta(hours=2)))[uid]

    assert (before["SEQUENCE"], moved["SEQUENCE"], again["SEQUENCE"]) == (0, 1, 1)
    assert moved.decoded("DTSTART") == date(2026, 4, 20)


def test_the_feed_carries_no_phi(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=date(2026, 5, 1))
    make_task(session, team.incident, due_on=date(2026, 4, 10), assignee=team.lead)
    token = calendar_feed.issue_token(session, actor=team.lead, now=NOW)

    ics = calendar_feed.feed(session, token=token, now=NOW, base_url=BASE).decode()

    for secret in ("Jane", "Patient", "MRN", "123-45-6789"):
        assert secret not in ics


def test_the_token_is_stored_only_as_its_hash(session) -> None:
    user = make_user(session, role=Role.RESPONDER)

    token = calendar_feed.issue_token(session, actor=user, now=NOW)

    row = session.scalars(sa.select(CalendarToken)).one()
    assert row.token_hash == calendar_feed.token_hash(token) != token
    assert len(token) >= 40


def assert_refused_and_audited(session, token: str) -> None:
    with pytest.raises(NotFound, match="No such calendar"):
        calendar_feed.feed(session, token=token, now=NOW, base_url=BASE, client="203.0.113.9")
    event = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "calendar.invalid_token")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None
    assert event.details == {
        "token_sha256_prefix": calendar_feed.token_hash(token)[:12],
        "client": "203.0.113.9",
    }
    assert token not in str(event.details)


def test_an_invalid_token_is_404_and_audited(session) -> None:
    assert_refused_and_audited(session, "not-a-real-token")


def test_a_new_token_revokes_the_old_one(session) -> None:
    user = make_user(session, role=Role.RESPONDER)
    old = calendar_feed.issue_token(session, actor=user, now=NOW)

    new = calendar_feed.issue_token(session, actor=user, now=NOW)

    assert_refused_and_audited(session, old)
    ics = calendar_feed.feed(session, token=new, now=NOW, base_url=BASE)
    assert ics.startswith(b"BEGIN:VCALENDAR")


def test_a_revoked_token_stops_working(session) -> None:
    user = make_user(session, role=Role.RESPONDER)
    token = calendar_feed.issue_token(session, actor=user, now=NOW)

    assert calendar_feed.revoke_token(session, actor=user, now=NOW) is True
    assert calendar_feed.revoke_token(session, actor=user, now=NOW) is False
    assert_refused_and_audited(session, token)


def test_a_deactivated_users_token_stops_working(session) -> None:
    user = make_user(session, role=Role.RESPONDER)
    token = calendar_feed.issue_token(session, actor=user, now=NOW)
    user.active = False
    session.commit()

    assert_refused_and_audited(session, token)


def test_a_used_token_records_when(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=date(2026, 5, 1))
    token = calendar_feed.issue_token(session, actor=team.lead, now=NOW)

    read_feed(session, token, NOW + timedelta(minutes=5))

    row = calendar_feed.current_token(session, actor=team.lead)
    assert row.last_used_at == NOW + timedelta(minutes=5)


def test_the_feed_asks_calendars_to_poll_hourly(session) -> None:
    team = make_team(session)
    token = calendar_feed.issue_token(session, actor=team.lead, now=NOW)
    ics = calendar_feed.feed(session, token=token, now=NOW, base_url=BASE)

    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in ics  # RFC 7986
    assert b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in ics
    assert str(Calendar.from_ical(ics)["NAME"]) == "BreachDesk deadlines"


def test_a_feed_without_deadlines_is_still_a_valid_calendar_in_the_org_zone(session) -> None:
    team = make_team(session)  # no obligation, no task
    token = calendar_feed.issue_token(session, actor=team.lead, now=NOW)

    calendar = read_feed(session, token)  # validates: RFC 5545 needs one component

    assert events(calendar) == {}
    zone = get_organisation(session).timezone
    assert str(calendar["X-WR-TIMEZONE"]) == zone
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == [zone]
