"""The reminder sweep: every deadline whose reminder point has passed gets that point once.

A deadline is an active obligation (its effective due date) or an open task, on an incident
that is not closed. Its plan comes from ReminderSetting (per obligation kind, "task" for
tasks, "*" for the organisation default; built-in default 30, 14, 7, 3, 1 days before and
on the day, then daily while overdue). "Today" is the date in the organisation's time zone.

Exactly-once in-app, at-least-once email:
- For one deadline, the sweep writes ReminderSent, one Notification per recipient, the queued
  EmailMessages and an audit event in ONE transaction. The unique constraint on
  ReminderSent(subject, due date, point) makes a racing sweep's copy fail and roll back whole;
  a crash before the commit leaves nothing behind and the next sweep sends the point.
- Email is delivered from the outbox after that commit (`outbox.deliver_email`), with backoff on
  failure. A crash after the SMTP server accepted a message and before it is marked sent
  re-sends it once the claim expires: a recipient may get an email twice, never zero times.

Catch-up (downtime, or a deadline that appears when points are already past): only the latest
passed point is sent, marked late, and its `covers` column lists the earlier points of the
plan it stands in for. Those are never sent on their own: one reminder per deadline per sweep,
and every planned point is accounted for.

Unlike single use-case services, the sweep commits once per reminder, so that a conflict on
one deadline never rolls back reminders to the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.mailer import Mailer
from incident_app.models.reminder import ReminderSent
from incident_app.models.reminder import SubjectType
from incident_app.services import audit
from incident_app.services import organisation
from incident_app.services.reminders.deadlines import Deadline
from incident_app.services.reminders.deadlines import active_deadlines
from incident_app.services.reminders.deadlines import still_due
from incident_app.services.reminders.deadlines import track_versions
from incident_app.services.reminders.messages import notify
from incident_app.services.reminders.outbox import deliver_email
from incident_app.services.reminders.plans import covered_points
from incident_app.services.reminders.plans import due_point
from incident_app.services.reminders.plans import plan_for
from incident_app.services.reminders.plans import plans
from incident_app.services.reminders.recipients import recipients

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    sent: list[ReminderSent] = field(default_factory=list)
    emailed: int = 0
    email_failures: int = 0


def sweep(
    session: Session,
    *,
    now: datetime,
    mailer: Mailer,
    base_url: str,
    retry_cap_minutes: int = 60,
    keyring: KeyRing | None = None,
) -> SweepReport:
    """Send every reminder point that has passed and not been sent, then deliver the
    email outbox. Commits once per reminder (see the module docstring)."""
    today = organisation.local_today(session, now)
    deadlines = active_deadlines(session)
    track_versions(session, deadlines, now=now)
    session.commit()
    stored = plans(session)
    last = _last_points(session, deadlines)
    report = SweepReport()
    for deadline in deadlines:
        plan = plan_for(stored, deadline.kind)
        point = due_point(plan, deadline.due_on, today)
        recorded = last.get((*deadline.key, deadline.due_on))
        if point is None or (recorded is not None and recorded <= point):
            continue
        reminder = _send(
            session,
            deadline,
            point,
            covered_points(plan, point, recorded),
            today=today,
            now=now,
            mailer=mailer,
            base_url=base_url,
        )
        if reminder is not None:
            report.sent.append(reminder)
    report.emailed, report.email_failures = deliver_email(
        session, mailer=mailer, now=now, retry_cap_minutes=retry_cap_minutes, keyring=keyring
    )
    return report


def _last_points(
    session: Session, deadlines: Iterable[Deadline]
) -> dict[tuple[SubjectType, int, date], int]:
    """The latest point recorded per (deadline, due date): the smallest days_before."""
    found: dict[tuple[SubjectType, int, date], int] = {}
    for subject_type in SubjectType:
        ids = [d.subject_id for d in deadlines if d.subject_type is subject_type]
        if not ids:
            continue
        rows = session.execute(
            sa.select(
                ReminderSent.subject_id, ReminderSent.due_on, sa.func.min(ReminderSent.days_before)
            )
            .where(ReminderSent.subject_type == subject_type, ReminderSent.subject_id.in_(ids))
            .group_by(ReminderSent.subject_id, ReminderSent.due_on)
        )
        found.update({(subject_type, sid, due): days for sid, due, days in rows})
    session.commit()  # end the read transaction (SQLite holds its write lock until then)
    return found


def _send(
    session: Session,
    deadline: Deadline,
    point: int,
    covers: list[int],
    *,
    today: date,
    now: datetime,
    mailer: Mailer,
    base_url: str,
) -> ReminderSent | None:
    """One reminder in one transaction; None when it is no longer due or another sweep won."""
    try:
        if not still_due(session, deadline):
            session.rollback()
            return None
        reminder = ReminderSent(
            subject_type=deadline.subject_type,
            subject_id=deadline.subject_id,
            incident_id=deadline.incident_id,
            due_on=deadline.due_on,
            days_before=point,
            sent_at=now,
            covers=covers,
            # Late: after its own day, or standing in for points that were never sent.
            late=bool(covers) or deadline.due_on - timedelta(days=point) < today,
        )
        session.add(reminder)
        session.flush()  # the unique constraint decides here (PostgreSQL waits for a racer)
        people = recipients(session, deadline, overdue=deadline.due_on < today)
        reminder.recipients = len(people)
        notify(
            session,
            reminder,
            deadline,
            people,
            today=today,
            now=now,
            email=mailer.configured,
            base_url=base_url,
        )
        audit.record(
            session,
            actor=None,
            actor_label="scheduler",
            action="reminder.sent",
            at=now,
            subject_type=deadline.subject_type.value,
            subject_id=deadline.subject_id,
            incident_id=deadline.incident_id,
            details={
                "due_on": deadline.due_on,
                "days_before": point,
                "late": reminder.late,
                "covers": covers,
                "recipients": sorted(u.id for u in people),
            },
        )
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        log.info("reminder %s %s already sent by another sweep", deadline.key, point)
        return None
    return reminder
