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
- Email is delivered from the outbox after that commit (`deliver_email`), with backoff on
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
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.crypto import CryptoError
from incident_app.crypto import KeyRing
from incident_app.errors import ValidationFailed
from incident_app.mailer import Mail
from incident_app.mailer import MailDeliveryError
from incident_app.mailer import Mailer
from incident_app.models.corrective_action import CorrectiveAction
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.incident import IncidentStatus
from incident_app.models.letter import NoticeSent
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.models.notification import Notification
from incident_app.models.obligation import Obligation
from incident_app.models.organisation import ORGANISATION_ID
from incident_app.models.reminder import DEFAULT_DAYS_BEFORE
from incident_app.models.reminder import EVERY_KIND
from incident_app.models.reminder import DeadlineVersion
from incident_app.models.reminder import ReminderSent
from incident_app.models.reminder import ReminderSetting
from incident_app.models.reminder import SubjectType
from incident_app.models.task import OPEN_TASK_STATUSES
from incident_app.models.task import Task
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import corrective_actions
from incident_app.services import organisation
from incident_app.services.obligations import reading as obligation_reading
from incident_app.services.reminders import notifications

log = logging.getLogger(__name__)

TASK_KIND = "task"
ACTION_KIND = "corrective_action"
CLOSED = (IncidentStatus.CLOSED, IncidentStatus.CLOSED_NOT_A_BREACH)
KIND_LABELS = {
    "individual_notice": "Notice to individuals",
    "substitute_notice": "Substitute notice",
    "media_notice": "Notice to the media",
    "hhs_notice": "Notice to HHS",
    "hhs_annual_log": "Annual log to HHS",
    "ba_to_ce_notice": "Business associate notice to the covered entity",
    "state_individual_notice": "State notice to residents",
    "state_regulator_notice": "State regulator notice",
    TASK_KIND: "Task",
    ACTION_KIND: "Corrective action",
}
# Obligations discharged by a letter: the team's legal reviewers are reminded of them too.
# HHS notices are typed into OCR's portal, not written as letters.
LETTER_KINDS = frozenset(KIND_LABELS) - {"hhs_notice", "hhs_annual_log", TASK_KIND, ACTION_KIND}
EMAIL_CLAIM = timedelta(minutes=5)
MAX_DAYS_BEFORE = 365


@dataclass(frozen=True)
class Plan:
    days_before: tuple[int, ...] = DEFAULT_DAYS_BEFORE
    overdue_daily: bool = True


@dataclass(frozen=True)
class Deadline:
    """An obligation or a task as the sweep and the calendar see it (no PHI in `label`)."""

    subject_type: SubjectType
    subject_id: int
    incident_id: int
    reference: str
    kind: str
    label: str
    due_on: date
    assignee_id: int | None = None
    detail: str = ""  # in-app only (a task's title may name a patient; email never shows it)

    @property
    def key(self) -> tuple[SubjectType, int]:
        return (self.subject_type, self.subject_id)

    @property
    def link(self) -> str:
        """Where the deadline is worked on: the Deadlines tab, or the task itself."""
        if self.subject_type is SubjectType.TASK:
            return f"/incidents/{self.incident_id}/tasks/{self.subject_id}"
        if self.subject_type is SubjectType.CORRECTIVE_ACTION:
            return f"/incidents/{self.incident_id}/actions"
        return f"/incidents/{self.incident_id}/deadlines"


@dataclass
class SweepReport:
    sent: list[ReminderSent] = field(default_factory=list)
    emailed: int = 0
    email_failures: int = 0


# ---------------------------------------------------------------- plans (pure)


def due_point(plan: Plan, due_on: date, today: date) -> int | None:
    """The latest reminder point on or before `today`, in days before `due_on`
    (0 on the day, negative while overdue), or None when no point has passed yet."""
    days_left = (due_on - today).days
    if days_left < 0 and plan.overdue_daily:
        return days_left
    passed = [days for days in plan.days_before if days >= days_left]
    return min(passed) if passed else None


def covered_points(plan: Plan, point: int, last_recorded: int | None) -> list[int]:
    """Planned points between the last recorded one and `point` (both exclusive), latest last:
    what a catch-up reminder at `point` stands in for."""
    planned = set(plan.days_before)
    if plan.overdue_daily and point < 0:
        planned.update(range(point + 1, 0))
    return sorted(
        (
            days
            for days in planned
            if days > point and (last_recorded is None or days < last_recorded)
        ),
        reverse=True,
    )


def describe_days(days_left: int) -> str:
    if days_left == 0:
        return "due today"
    if days_left > 0:
        return f"due in {days_left} day{'s' if days_left != 1 else ''}"
    return f"OVERDUE by {-days_left} day{'s' if days_left != -1 else ''}"


# ---------------------------------------------------------------- settings


def plans(session: Session) -> dict[str, Plan]:
    """Every stored plan by kind ("*" is the organisation default)."""
    rows = session.scalars(
        sa.select(ReminderSetting).where(ReminderSetting.organisation_id == ORGANISATION_ID)
    )
    return {
        row.kind: Plan(tuple(sorted(row.days_before, reverse=True)), row.overdue_daily)
        for row in rows
    }


def plan_for(stored: dict[str, Plan], kind: str) -> Plan:
    return stored.get(kind) or stored.get(EVERY_KIND) or Plan()


def set_plan(
    session: Session,
    *,
    actor: User,
    kind: str,
    days_before: Sequence[int],
    overdue_daily: bool,
    now: datetime,
) -> ReminderSetting:
    """Store the plan for `kind` ("*", "task" or an obligation kind). Raises
    ValidationFailed for an unknown kind or bad days; NotAllowed without MANAGE_SETTINGS."""
    require(actor, Capability.MANAGE_SETTINGS)
    if kind != EVERY_KIND and kind not in KIND_LABELS:
        raise ValidationFailed(f"Unknown deadline kind {kind!r}.", field="kind")
    days = sorted(set(days_before), reverse=True)
    if not days or any(d < 0 or d > MAX_DAYS_BEFORE for d in days):
        raise ValidationFailed(
            f"List whole days between 0 (the due date) and {MAX_DAYS_BEFORE}, e.g. 30, 7, 1, 0.",
            field="days_before",
        )
    organisation.get_organisation(session)  # the row the plan belongs to exists from now on
    setting = session.scalar(
        sa.select(ReminderSetting).where(
            ReminderSetting.organisation_id == ORGANISATION_ID, ReminderSetting.kind == kind
        )
    )
    before = None if setting is None else [setting.days_before, setting.overdue_daily]
    if setting is None:
        setting = ReminderSetting(organisation_id=ORGANISATION_ID, kind=kind, days_before=[])
        session.add(setting)
    setting.days_before, setting.overdue_daily = days, overdue_daily
    setting.updated_at, setting.updated_by_id = now, actor.id
    audit.record(
        session,
        actor=actor,
        action="reminders.plan_changed",
        at=now,
        subject_type="reminder_setting",
        subject_id=kind,
        details={"kind": kind, "before": before, "after": [days, overdue_daily]},
    )
    session.commit()
    return setting


# ---------------------------------------------------------------- deadlines


def label_of(kind: str, jurisdiction: str) -> str:
    label = KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())
    return f"{label} ({jurisdiction})" if jurisdiction and jurisdiction != "US" else label


def active_deadlines(session: Session, *, incident_ids: sa.Select | None = None) -> list[Deadline]:
    """Active obligations, open tasks and open corrective actions with a due date, on
    incidents that are not closed (optionally only those in the `incident_ids` subquery)."""
    return (
        _obligation_deadlines(session, incident_ids)
        + _task_deadlines(session, incident_ids)
        + _action_deadlines(session, incident_ids)
    )


def _action_deadlines(session: Session, incident_ids: sa.Select | None) -> list[Deadline]:
    """Corrective action plan items (issue 13): reminded to their owner like tasks."""
    return [
        Deadline(
            SubjectType.CORRECTIVE_ACTION,
            item.action_id,
            item.incident_id,
            item.reference,
            ACTION_KIND,
            item.label,
            item.due_on,
            item.owner_id,
            item.title,
        )
        for item in corrective_actions.due_items(session, incident_ids=incident_ids)
    ]


def _obligation_deadlines(session: Session, incident_ids: sa.Select | None) -> list[Deadline]:
    query = (
        sa.select(Obligation, Incident.reference)
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(obligation_reading.outstanding(), Incident.status.not_in(CLOSED))
    )
    if incident_ids is not None:
        query = query.where(Obligation.incident_id.in_(incident_ids))
    found = []
    for row, reference in session.execute(query):
        if row.effective_due_on is not None:
            found.append(
                Deadline(
                    SubjectType.OBLIGATION,
                    row.id,
                    row.incident_id,
                    reference,
                    row.kind,
                    label_of(row.kind, row.jurisdiction),
                    row.effective_due_on,
                )
            )
    return found


def _task_deadlines(session: Session, incident_ids: sa.Select | None) -> list[Deadline]:
    query = (
        sa.select(Task, Incident.reference)
        .join(Incident, Incident.id == Task.incident_id)
        .where(
            Task.status.in_(OPEN_TASK_STATUSES),
            Task.due_on.is_not(None),
            Incident.status.not_in(CLOSED),
        )
    )
    if incident_ids is not None:
        query = query.where(Task.incident_id.in_(incident_ids))
    return [
        Deadline(
            SubjectType.TASK,
            task.id,
            task.incident_id,
            reference,
            TASK_KIND,
            f"Task #{task.id}",
            task.due_on,
            task.assignee_id,
            task.title,
        )
        for task, reference in session.execute(query)
    ]


def _notice_sent(session: Session, obligation_id: int) -> bool:
    """The obligation is met: its notice is recorded as sent, so reminders stop."""
    return (
        session.scalar(sa.select(sa.exists().where(NoticeSent.obligation_id == obligation_id)))
        or False
    )


def _still_due(session: Session, deadline: Deadline) -> bool:
    """Re-read the deadline under a row lock: a fact change may have removed or moved it
    since the sweep listed it."""
    if deadline.subject_type is SubjectType.OBLIGATION:
        row = session.get(
            Obligation, deadline.subject_id, with_for_update=True, populate_existing=True
        )
        alive = (
            row is not None
            and row.active
            and row.effective_due_on == deadline.due_on
            and not _notice_sent(session, row.id)
        )
    elif deadline.subject_type is SubjectType.CORRECTIVE_ACTION:
        alive = corrective_actions.still_due(
            session, action_id=deadline.subject_id, due_on=deadline.due_on
        )
    else:
        task = session.get(Task, deadline.subject_id, with_for_update=True, populate_existing=True)
        alive = (
            task is not None
            and task.status in OPEN_TASK_STATUSES
            and task.due_on == deadline.due_on
        )
    status = session.scalar(sa.select(Incident.status).where(Incident.id == deadline.incident_id))
    return alive and status not in CLOSED


# ---------------------------------------------------------------- the sweep


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
    today = now.astimezone(ZoneInfo(organisation.get_organisation(session).timezone)).date()
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
        if not _still_due(session, deadline):
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
        _notify(
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


def recipients(session: Session, deadline: Deadline, *, overdue: bool) -> list[User]:
    """The lead (and, for a letter, the team's legal reviewers; for a task, its assignee).
    Overdue deadlines, and deadlines nobody on the team would hear about, escalate to every
    privacy officer."""
    roles = {CaseRole.LEAD} | ({CaseRole.LEGAL} if deadline.kind in LETTER_KINDS else set())
    members = session.execute(
        sa.select(IncidentMember.case_role, User)
        .join(User, User.id == IncidentMember.user_id)
        .where(IncidentMember.incident_id == deadline.incident_id, User.active.is_(True))
    ).all()
    people = {
        user.id: user for role, user in members if role in roles or user.id == deadline.assignee_id
    }
    if overdue or not people:
        officers = session.scalars(
            sa.select(User).where(User.role == Role.PRIVACY_OFFICER, User.active.is_(True))
        )
        people.update({user.id: user for user in officers})
    return sorted(people.values(), key=lambda user: user.id)


def _notify(
    session: Session,
    reminder: ReminderSent,
    deadline: Deadline,
    people: list[User],
    *,
    today: date,
    now: datetime,
    email: bool,
    base_url: str,
) -> None:
    days_left = (deadline.due_on - today).days
    title = f"{deadline.reference}: {deadline.label} {describe_days(days_left)}"
    lines = [f"Due date: {deadline.due_on.isoformat()}."]
    if reminder.point_on < today:
        lines.append(f"Late reminder: planned for {reminder.point_on.isoformat()}.")
    if reminder.covers:
        count = len(reminder.covers)
        lines.append(
            f"It stands in for {count} earlier reminder{'s' if count != 1 else ''} "
            "not sent on their day (the scheduler was not running, or the deadline "
            "was set or moved after them)."
        )
    for user in people:
        session.add(
            Notification(
                user_id=user.id,
                reminder_id=reminder.id,
                incident_id=deadline.incident_id,
                title=title,
                body=" ".join(filter(None, [deadline.detail, *lines])),
                link=deadline.link,
                overdue=days_left < 0,
                created_at=now,
            )
        )
        if email:
            session.add(
                EmailMessage(
                    reminder_id=reminder.id,
                    to_address=user.email,
                    created_at=now,
                    next_attempt_at=now,
                    subject=f"[BreachDesk] {title}",
                    body=email_body(deadline, lines, base_url),
                )
            )


_SUBJECT_WORDS = {
    SubjectType.OBLIGATION: "Obligation",
    SubjectType.TASK: "Task",
    SubjectType.CORRECTIVE_ACTION: "Corrective action",
}


def email_body(deadline: Deadline, lines: list[str], base_url: str) -> str:
    """No PHI: the incident reference, the obligation, the due date and a link only."""
    return "\n".join(
        [
            "BreachDesk deadline reminder",
            "",
            f"Incident: {deadline.reference}",
            f"{_SUBJECT_WORDS[deadline.subject_type]}: {deadline.label}",
            *lines,
            "",
            f"Open it in BreachDesk (sign-in required): {base_url}{deadline.link}",
            "",
            "You receive this because of your role on the incident or as a privacy officer.",
        ]
    )


# ---------------------------------------------------------------- email outbox


def deliver_email(
    session: Session,
    *,
    mailer: Mailer,
    now: datetime,
    retry_cap_minutes: int = 60,
    keyring: KeyRing | None = None,
) -> tuple[int, int]:
    """Hand due outbox messages to the mailer; returns (delivered, failed). A failure is
    retried with exponential backoff (1, 2, 4 … minutes, capped); when the server cannot be
    reached the round stops and the rest wait for the next sweep."""
    if not mailer.configured:
        return 0, 0
    ids = session.scalars(
        sa.select(EmailMessage.id)
        .where(
            EmailMessage.status == EmailStatus.PENDING,
            EmailMessage.next_attempt_at <= now,
            sa.or_(EmailMessage.claimed_until.is_(None), EmailMessage.claimed_until < now),
        )
        .order_by(EmailMessage.id)
        .limit(200)
    ).all()
    session.commit()
    delivered = failed = 0
    for message_id in ids:
        message = _claim(session, message_id, now)
        if message is None:
            continue
        try:
            body = notifications.open_body(keyring, message.body)
            mailer.send(Mail(message.to_address, message.subject, body))
        except CryptoError as error:
            failed += 1
            _record_failure(
                session, message, f"cannot decrypt the body: {error}", now, retry_cap_minutes
            )
            continue
        except MailDeliveryError as error:
            failed += 1
            _record_failure(session, message, str(error), now, retry_cap_minutes)
            if error.server_down:
                break
            continue
        message.status, message.sent_at, message.claimed_until = EmailStatus.SENT, now, None
        message.attempts, message.last_attempt_at = message.attempts + 1, now
        session.commit()
        delivered += 1
    return delivered, failed


def _claim(session: Session, message_id: int, now: datetime) -> EmailMessage | None:
    """Take the message for EMAIL_CLAIM (an atomic UPDATE, so only one sender wins), or
    cancel it when its deadline was removed meanwhile."""
    claimed = session.execute(
        sa.update(EmailMessage)
        .where(
            EmailMessage.id == message_id,
            EmailMessage.status == EmailStatus.PENDING,
            sa.or_(EmailMessage.claimed_until.is_(None), EmailMessage.claimed_until < now),
        )
        .values(claimed_until=now + EMAIL_CLAIM)
        .execution_options(synchronize_session=False)
    ).rowcount
    message = session.get(EmailMessage, message_id, populate_existing=True) if claimed else None
    if message is not None and not _reminder_still_wanted(session, message):
        message.status, message.claimed_until = EmailStatus.CANCELLED, None
        message.last_error = "Not sent: the deadline was removed or closed before delivery."
        message = None
    session.commit()
    return message


def _reminder_still_wanted(session: Session, message: EmailMessage) -> bool:
    reminder = session.get(ReminderSent, message.reminder_id) if message.reminder_id else None
    if reminder is None:
        return True
    if reminder.subject_type is SubjectType.OBLIGATION:
        row = session.get(Obligation, reminder.subject_id)
        alive = row is not None and row.active and not _notice_sent(session, row.id)
    elif reminder.subject_type is SubjectType.CORRECTIVE_ACTION:
        action = session.get(CorrectiveAction, reminder.subject_id)
        alive = action is not None and action.status.is_open
    else:
        task = session.get(Task, reminder.subject_id)
        alive = task is not None and task.status in OPEN_TASK_STATUSES
    status = session.scalar(sa.select(Incident.status).where(Incident.id == reminder.incident_id))
    return alive and status not in CLOSED


def _record_failure(
    session: Session, message: EmailMessage, error: str, now: datetime, cap_minutes: int
) -> None:
    message.attempts += 1
    message.last_attempt_at, message.last_error = now, error[:500]
    message.next_attempt_at = now + timedelta(minutes=min(2 ** (message.attempts - 1), cap_minutes))
    message.claimed_until = None
    session.commit()
    log.warning(
        "email %s to %s failed (attempt %s, next at %s): %s",
        message.id,
        message.to_address,
        message.attempts,
        message.next_attempt_at,
        error,
    )


# ---------------------------------------------------------------- calendar versions


def track_versions(
    session: Session, deadlines: Iterable[Deadline], *, now: datetime
) -> dict[tuple[SubjectType, int], int]:
    """Record each deadline's current due date; a moved date bumps its sequence (the ICS
    SEQUENCE). Returns the sequence per deadline. No commit."""
    wanted = {d.key: d for d in deadlines}
    rows = {
        (row.subject_type, row.subject_id): row
        for row in session.scalars(sa.select(DeadlineVersion))
        if (row.subject_type, row.subject_id) in wanted
    }
    sequences = {}
    for key, deadline in wanted.items():
        row = rows.get(key)
        if row is None:
            row = _new_version(session, deadline, now)
        elif row.due_on != deadline.due_on:
            row.due_on, row.sequence, row.changed_at = deadline.due_on, row.sequence + 1, now
        sequences[key] = row.sequence
    session.flush()
    return sequences


def _new_version(session: Session, deadline: Deadline, now: datetime) -> DeadlineVersion:
    row = DeadlineVersion(
        subject_type=deadline.subject_type,
        subject_id=deadline.subject_id,
        due_on=deadline.due_on,
        sequence=0,
        changed_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent sweep or feed may have just added it
            session.add(row)
    except sa.exc.IntegrityError:
        row = session.scalars(
            sa.select(DeadlineVersion).where(
                DeadlineVersion.subject_type == deadline.subject_type,
                DeadlineVersion.subject_id == deadline.subject_id,
            )
        ).one()
    return row
