"""Per-user ICS feeds of deadlines and tasks, for Outlook and Google Calendar to subscribe to.

The feed URL carries a secret token; only its SHA-256 is stored, a new token revokes the old
one, and an unknown or revoked token is a 404 with an audit event. Events carry no PHI (the
incident reference, the obligation, the due date and a link): calendar providers are not
business associates. UIDs are stable per obligation or task; a moved date raises SEQUENCE.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import date
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from icalendar import Alarm
from icalendar import Calendar
from icalendar import Event
from icalendar import Timezone
from sqlalchemy.orm import Session

from incident_app.errors import NotFound
from incident_app.models.incident import Incident
from incident_app.models.notification import CalendarToken
from incident_app.models.reminder import SubjectType
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import organisation
from incident_app.services.incidents import access as incident_access
from incident_app.services.reminders import deadlines as reminder_deadlines

# All-day events start at midnight: remind at 09:00 a week before and the day before.
ALARM_TRIGGERS = (-timedelta(days=6, hours=15), -timedelta(hours=15))
# Hour clocks (GDPR Art. 33's 72 hours) are timed events at the deadline itself: remind a day
# and two hours before it.
TIMED_ALARM_TRIGGERS = (-timedelta(hours=24), -timedelta(hours=2))
TIMED_EVENT_LENGTH = timedelta(minutes=30)
UNKNOWN_CALENDAR = "No such calendar. The link may have been revoked: make a new one."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def current_token(session: Session, *, actor: User) -> CalendarToken | None:
    return session.scalar(
        sa.select(CalendarToken).where(
            CalendarToken.user_id == actor.id, CalendarToken.revoked_at.is_(None)
        )
    )


def issue_token(session: Session, *, actor: User, now: datetime) -> str:
    """A new secret feed token for the actor (the old one stops working). The token is
    returned once and never stored in the clear. Commits."""
    replaced = _revoke(session, actor, now)
    token = secrets.token_urlsafe(32)
    session.add(CalendarToken(user_id=actor.id, token_hash=token_hash(token), created_at=now))
    audit.record(
        session,
        actor=actor,
        action="calendar.token_issued",
        at=now,
        subject_type="user",
        subject_id=actor.id,
        details={"replaced": replaced},
    )
    session.commit()
    return token


def revoke_token(session: Session, *, actor: User, now: datetime) -> bool:
    """Stop the actor's feed URL working. Returns False when there was none. Commits."""
    revoked = _revoke(session, actor, now)
    if revoked:
        audit.record(
            session,
            actor=actor,
            action="calendar.token_revoked",
            at=now,
            subject_type="user",
            subject_id=actor.id,
        )
    session.commit()
    return revoked


def _revoke(session: Session, actor: User, now: datetime) -> bool:
    row = current_token(session, actor=actor)
    if row is not None:
        row.revoked_at = now
    return row is not None


def feed(session: Session, *, token: str, now: datetime, base_url: str, client: str = "") -> bytes:
    """The ICS feed for `token`. An unknown, revoked or deactivated one is audited (with a
    hash prefix, never the token) and raises NotFound. Commits."""
    row = session.scalar(
        sa.select(CalendarToken).where(
            CalendarToken.token_hash == token_hash(token), CalendarToken.revoked_at.is_(None)
        )
    )
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.active:
        audit.record(
            session,
            actor=None,
            actor_label="anonymous",
            action="calendar.invalid_token",
            at=now,
            subject_type="calendar_token",
            details={"token_sha256_prefix": token_hash(token)[:12], "client": client},
        )
        session.commit()
        raise NotFound(UNKNOWN_CALENDAR)
    # Tabletop exercises stay out of the feed (issue 23): a drill's made-up deadline must not
    # sit in someone's calendar beside the real ones.
    visible = (
        incident_access.visible_incidents(user)
        .with_only_columns(Incident.id)
        .where(Incident.exercise.is_(False))
    )
    deadlines = reminder_deadlines.active_deadlines(session, incident_ids=visible)
    sequences = reminder_deadlines.track_versions(session, deadlines, now=now)
    row.last_used_at = now
    zone = organisation.org_zone(session).key
    ics = build_calendar(deadlines, sequences, now=now, base_url=base_url, zone=zone)
    session.commit()
    return ics


REFRESH = timedelta(hours=1)


def build_calendar(
    deadlines: Iterable[reminder_deadlines.Deadline],
    sequences: dict[tuple[SubjectType, int], int],
    *,
    now: datetime,
    base_url: str,
    zone: str,
) -> bytes:
    """The feed. Deadlines are all-day events (a due date, not a time); the organisation's zone
    is the calendar's (X-WR-TIMEZONE, and a VTIMEZONE for it, which also keeps a feed with no
    deadline a valid RFC 5545 calendar: it needs at least one component)."""
    calendar = Calendar()
    calendar.add("prodid", "-//BreachDesk//Deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "BreachDesk deadlines")
    calendar.add("name", "BreachDesk deadlines")  # RFC 7986 3.7.1
    # Deadlines move (a new discovery date, a count over 500): ask subscribing calendars to
    # poll hourly (RFC 7986 3.7.3; X-PUBLISHED-TTL for Outlook) instead of their daily default.
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    calendar.add("x-wr-timezone", zone)
    this_year = now.year
    calendar.add_component(
        Timezone.from_tzid(
            zone, first_date=date(this_year - 1, 1, 1), last_date=date(this_year + 3, 1, 1)
        )
    )
    host = urlsplit(base_url).hostname or "breachdesk"
    for deadline in sorted(deadlines, key=lambda d: (d.due_on, d.reference, d.label)):
        calendar.add_component(
            _event(deadline, sequences.get(deadline.key, 0), now, base_url, host)
        )
    ical: bytes = calendar.to_ical()
    return ical


def _event(
    deadline: reminder_deadlines.Deadline, sequence: int, now: datetime, base_url: str, host: str
) -> Event:
    summary = f"{deadline.reference}: {deadline.label} due"
    event = Event()
    event.add("uid", f"{deadline.subject_type.value}-{deadline.subject_id}@{host}")
    event.add("sequence", sequence)
    event.add("dtstamp", now)
    if deadline.due_at is not None:
        # A timed event in UTC (DTSTART;…Z): every client shows it in its own zone.
        event.add("dtstart", deadline.due_at)
        event.add("dtend", deadline.due_at + TIMED_EVENT_LENGTH)
        triggers = TIMED_ALARM_TRIGGERS
    else:
        event.add("dtstart", deadline.due_on)
        event.add("dtend", deadline.due_on + timedelta(days=1))
        triggers = ALARM_TRIGGERS
    event.add("summary", summary)
    event.add(
        "description",
        f"{summary} {'at' if deadline.due_at else 'on'} {deadline.due_text}. "
        f"Open it in BreachDesk: {base_url}{deadline.link}",
    )
    event.add("url", f"{base_url}{deadline.link}")
    event.add("transp", "TRANSPARENT")
    for trigger in triggers:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", trigger)
        event.add_component(alarm)
    return event
