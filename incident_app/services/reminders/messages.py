"""What a reminder says: the in-app notification for each recipient and the queued email
(no PHI in email: the reference, the deadline, its due date and a link).
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy.orm import Session

from incident_app.models.notification import EmailMessage
from incident_app.models.notification import Notification
from incident_app.models.reminder import ReminderSent
from incident_app.models.reminder import SubjectType
from incident_app.models.user import User
from incident_app.services.reminders import exercise_mail
from incident_app.services.reminders.deadlines import Deadline


def describe_days(days_left: int) -> str:
    if days_left == 0:
        return "due today"
    if days_left > 0:
        return f"due in {days_left} day{'s' if days_left != 1 else ''}"
    return f"OVERDUE by {-days_left} day{'s' if days_left != -1 else ''}"


def notify(
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
    exercise = exercise_mail.is_exercise(session, deadline.incident_id)
    subject = f"[BreachDesk] {title}"
    if exercise:  # the bell and the email say it is a drill, like the incident's pages
        title, subject = f"EXERCISE — {title}", exercise_mail.mark_subject(subject)
    lines = [f"Due date: {deadline.due_text}."]
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
                    subject=subject,
                    body=email_body(deadline, lines, base_url),
                )
            )


_SUBJECT_WORDS = {
    SubjectType.OBLIGATION: "Obligation",
    SubjectType.TASK: "Task",
    SubjectType.CORRECTIVE_ACTION: "Corrective action",
    SubjectType.INQUIRY: "Inquiry follow-up",
    SubjectType.CLIENT_NOTICE: "Client acknowledgement",
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
