"""The email outbox: queued reminder emails handed to the mailer after their reminder's
commit, claimed atomically, retried with backoff, cancelled when the deadline went away; a
tabletop exercise's message addressed outside the team is suppressed (exercise_mail.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from incident_app.crypto import CryptoError
from incident_app.crypto import KeyRing
from incident_app.mailer import Mail
from incident_app.mailer import MailDeliveryError
from incident_app.mailer import Mailer
from incident_app.models.corrective_action import CorrectiveAction
from incident_app.models.incident import Incident
from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import InquiryStatus
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.models.obligation import Obligation
from incident_app.models.reminder import ReminderSent
from incident_app.models.reminder import SubjectType
from incident_app.models.task import OPEN_TASK_STATUSES
from incident_app.models.task import Task
from incident_app.services.clients import acknowledgements
from incident_app.services.reminders import exercise_mail
from incident_app.services.reminders import notifications
from incident_app.services.reminders.deadlines import CLOSED
from incident_app.services.reminders.deadlines import notice_sent

log = logging.getLogger(__name__)


EMAIL_CLAIM = timedelta(minutes=5)


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
        if not exercise_mail.screen(session, message, now):
            session.commit()  # suppressed and audited: never handed to SMTP
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
    # An UPDATE's result is a CursorResult: it has the rowcount.
    result = cast(
        "CursorResult[Any]",
        session.execute(
            sa.update(EmailMessage)
            .where(
                EmailMessage.id == message_id,
                EmailMessage.status == EmailStatus.PENDING,
                sa.or_(EmailMessage.claimed_until.is_(None), EmailMessage.claimed_until < now),
            )
            .values(claimed_until=now + EMAIL_CLAIM)
            .execution_options(synchronize_session=False),
        ),
    )
    claimed = result.rowcount
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
        alive = row is not None and row.active and not notice_sent(session, row.id)
    elif reminder.subject_type is SubjectType.CORRECTIVE_ACTION:
        action = session.get(CorrectiveAction, reminder.subject_id)
        alive = action is not None and action.status.is_open
    elif reminder.subject_type is SubjectType.INQUIRY:
        inquiry = session.get(Inquiry, reminder.subject_id)
        alive = inquiry is not None and inquiry.status is InquiryStatus.OPEN
    elif reminder.subject_type is SubjectType.CLIENT_NOTICE:
        alive = acknowledgements.still_awaiting(session, notice_id=reminder.subject_id)
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
