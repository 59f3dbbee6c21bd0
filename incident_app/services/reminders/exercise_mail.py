"""Email of a tabletop exercise (issue 23): it reaches the team and nobody else.

Every email BreachDesk sends leaves through the outbox (outbox.deliver_email), so the rule is
applied there, at the last moment: a message of an exercise (its reminder's incident is one, or
it was composed from an exercise's context and so carries EXERCISE_PREFIX) goes out only to an
active BreachDesk user, with the prefix in its subject; anything addressed outside the team —
an individual's emailed notice, a client, a typo — is suppressed, never handed to SMTP, and the
suppression is audited. The composing services prefix the subject too, so the outbox (and the
admin email page) show what each message is before it is sent.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.incident import Incident
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.models.reminder import ReminderSent
from incident_app.models.user import User
from incident_app.services import audit

EXERCISE_PREFIX = "[EXERCISE] "
SUPPRESSED = (
    "Not sent: this message belongs to a tabletop exercise and is addressed outside the team "
    "(exercise email goes only to active BreachDesk users)."
)


def is_exercise(session: Session, incident_id: int | None) -> bool:
    if incident_id is None:
        return False
    return bool(session.scalar(sa.select(Incident.exercise).where(Incident.id == incident_id)))


def subject_for(session: Session, incident_id: int | None, subject: str) -> str:
    """`subject`, prefixed with EXERCISE_PREFIX when the incident is an exercise."""
    return mark_subject(subject) if is_exercise(session, incident_id) else subject


def mark_subject(subject: str) -> str:
    if subject.startswith(EXERCISE_PREFIX):
        return subject
    return (EXERCISE_PREFIX + subject)[:300]


def screen(session: Session, message: EmailMessage, now: datetime) -> bool:
    """True when `message` may be handed to SMTP (its subject marked if it is an exercise's);
    False when it was suppressed: status SUPPRESSED and an audit event, both added to the
    session (the caller commits)."""
    incident_id = _incident_of(session, message)
    exercise = message.subject.startswith(EXERCISE_PREFIX) or is_exercise(session, incident_id)
    if not exercise:
        return True
    if _team_member(session, message.to_address):
        message.subject = mark_subject(message.subject)
        return True
    message.status, message.claimed_until, message.last_error = (
        EmailStatus.SUPPRESSED,
        None,
        SUPPRESSED,
    )
    audit.record(
        session,
        actor=None,
        action="email.suppressed_exercise",
        at=now,
        subject_type="email_message",
        subject_id=message.id,
        incident_id=incident_id,
        # The address of an individual is an identifier: only its domain is kept.
        details={
            "to_domain": message.to_address.rpartition("@")[2],
            "subject": message.subject,
            "reason": "tabletop exercise: addressed outside the team",
        },
    )
    return False


def _incident_of(session: Session, message: EmailMessage) -> int | None:
    if message.reminder_id is None:
        return None
    return session.scalar(
        sa.select(ReminderSent.incident_id).where(ReminderSent.id == message.reminder_id)
    )


def _team_member(session: Session, address: str) -> bool:
    """An active BreachDesk user has this address (compared without case)."""
    found = session.scalar(
        sa.select(User.id).where(
            sa.func.lower(User.email) == address.strip().lower(), User.active.is_(True)
        )
    )
    return found is not None
