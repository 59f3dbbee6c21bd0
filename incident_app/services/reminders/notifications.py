"""In-app notifications (the bell) and the email delivery status admins watch."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import can
from incident_app.access import require
from incident_app.crypto import CryptoError
from incident_app.crypto import KeyRing
from incident_app.errors import NotFound
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.models.notification import Notification
from incident_app.models.notification import NotificationKind
from incident_app.models.user import User
from incident_app.services.reminders import exercise_mail
from incident_app.services.rotation_batches import rotate_column

LIST_LIMIT = 200


def unread_count(session: Session, *, actor: User) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        )
        or 0
    )


def list_for(session: Session, *, actor: User, unread_only: bool = False) -> list[Notification]:
    """The actor's own notifications, newest first (at most LIST_LIMIT)."""
    query = sa.select(Notification).where(Notification.user_id == actor.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(
        session.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(LIST_LIMIT)
        )
    )


def mark_read(session: Session, *, actor: User, notification_id: int, now: datetime) -> None:
    """Mark one of the actor's notifications read. NotFound for anybody else's."""
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != actor.id:
        raise NotFound("No such notification.")
    if note.read_at is None:
        note.read_at = now
    session.commit()


def mark_all_read(session: Session, *, actor: User, now: datetime) -> int:
    result = session.execute(
        sa.update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    count: int = cast("sa.CursorResult[Any]", result).rowcount
    session.commit()
    return count


@dataclass(frozen=True)
class EmailDeliveryStatus:
    configured: bool
    pending: int
    failing: list[EmailMessage]
    sent_last_day: int


def failing_email_count(session: Session, *, actor: User) -> int:
    """Messages whose last attempt failed — only counted for people who manage settings."""
    if not can(actor, Capability.MANAGE_SETTINGS):
        return 0
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(EmailMessage)
            .where(EmailMessage.status == EmailStatus.PENDING, EmailMessage.attempts > 0)
        )
        or 0
    )


def email_delivery_status(
    session: Session, *, actor: User, now: datetime, configured: bool
) -> EmailDeliveryStatus:
    """What the admin email page shows. NotAllowed without MANAGE_SETTINGS."""
    require(actor, Capability.MANAGE_SETTINGS)
    pending = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(EmailMessage)
            .where(EmailMessage.status == EmailStatus.PENDING)
        )
        or 0
    )
    failing = list(
        session.scalars(
            sa.select(EmailMessage)
            .where(EmailMessage.status == EmailStatus.PENDING, EmailMessage.attempts > 0)
            .order_by(EmailMessage.last_attempt_at.desc())
            .limit(50)
        )
    )
    sent = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(EmailMessage)
            .where(
                EmailMessage.status == EmailStatus.SENT,
                EmailMessage.sent_at >= now - timedelta(days=1),
            )
        )
        or 0
    )
    return EmailDeliveryStatus(configured, pending, failing, sent)


# ---- a letter sent for legal review ---------------------------------------------------------


@dataclass(frozen=True)
class ReviewRequest:
    """What the reviewer is told. No PHI: the incident reference, the letter's document id and
    type, the version, the due date of the obligation it serves, and a link."""

    incident_id: int
    reference: str
    document_id: str
    letter_label: str
    version: int | None  # None: several letters (each with its own version) in one request
    due_on: date | None
    link: str  # a path: "/incidents/3/letters/7"
    requested_by: str  # the sender's name (staff, not a patient)
    revision: bool  # a new version after changes were requested


def notify_review_request(
    session: Session,
    *,
    reviewer: User,
    request: ReviewRequest,
    now: datetime,
    email_base_url: str | None,
) -> Notification:
    """The reviewer's in-app notification and, when email is configured (`email_base_url`
    given), a queued email delivered by the reminder outbox (outbox.deliver_email). Adds rows,
    never commits: the caller's transaction records the review step with it."""
    what = "A revised letter" if request.revision else "A letter"
    if request.version is None:
        what = "Letters"
    waits = "await" if request.version is None else "awaits"
    title = f"{request.reference}: {what.lower()} {waits} your review ({request.document_id})"
    subject = exercise_mail.subject_for(session, request.incident_id, f"[BreachDesk] {title}")
    if subject.startswith(exercise_mail.EXERCISE_PREFIX):
        title = f"EXERCISE — {title}"
    due = f" The obligation is due {request.due_on.isoformat()}." if request.due_on else ""
    version = f", version {request.version}," if request.version is not None else ""
    body = (
        f"{request.requested_by} sent {request.letter_label} {request.document_id}{version} "
        f"to your legal review.{due}"
    )
    note = Notification(
        user_id=reviewer.id,
        incident_id=request.incident_id,
        kind=NotificationKind.LETTER_REVIEW,
        title=title,
        body=body,
        link=request.link,
        created_at=now,
    )
    session.add(note)
    if email_base_url is not None:
        session.add(
            EmailMessage(
                to_address=reviewer.email,
                created_at=now,
                next_attempt_at=now,
                subject=subject,
                body=review_email_body(request, email_base_url),
            )
        )
    return note


def review_email_body(request: ReviewRequest, base_url: str) -> str:
    """No PHI: the reference, the letter's id and type, the version and the due date."""
    revised = " (revised after your comments)" if request.revision else ""
    due = request.due_on.isoformat() if request.due_on else "no due date"
    return "\n".join(
        [
            "BreachDesk: a letter awaits your legal review",
            "",
            f"Incident: {request.reference}",
            f"Letter: {request.document_id} ({request.letter_label})",
            f"Version: {request.version if request.version is not None else 'see each letter'}"
            + revised,
            f"Obligation due: {due}",
            "",
            f"Read and approve it in BreachDesk (sign-in required): {base_url}{request.link}",
            "",
            "You receive this because the letter was sent to you for review.",
        ]
    )


# ---- bodies that carry PHI (an individual's notice sent by email) ---------------------------

SEALED_PREFIX = "sealed:v1:"
_BODY_AAD = b"email_message:body"


def seal_body(keyring: KeyRing, text: str) -> str:
    """Encrypt an outbox body that carries PHI (164.312(a)(2)(iv)); reminder bodies carry
    none and stay readable for the admin email page."""
    blob = keyring.encrypt(text.encode("utf-8"), _BODY_AAD)
    return SEALED_PREFIX + base64.b64encode(blob).decode("ascii")


def open_body(keyring: KeyRing | None, stored: str) -> str:
    """The body to send: sealed bodies are decrypted, plain ones returned as they are.
    Raises CryptoError when a sealed body cannot be opened (no key ring, wrong key)."""
    if not stored.startswith(SEALED_PREFIX):
        return stored
    if keyring is None:
        raise CryptoError("This message is encrypted and no key ring was given.")
    blob = base64.b64decode(stored[len(SEALED_PREFIX) :])
    return keyring.decrypt(blob, _BODY_AAD).decode("utf-8")


def rotate_sealed_bodies(session: Session, keyring: KeyRing, batch_size: int) -> int:
    """Key rotation (services/key_rotation.ROTATIONS): re-encrypt each sealed outbox body under
    the primary key. Plain reminder bodies carry no PHI and are left as they are."""

    def reencrypt(row: tuple[Any, ...]) -> str | None:
        blob = base64.b64decode(row[1][len(SEALED_PREFIX) :])
        if not keyring.needs_rotation(blob):
            return None
        fresh = keyring.reencrypt(blob, _BODY_AAD)
        return SEALED_PREFIX + base64.b64encode(fresh).decode("ascii")

    table = cast(sa.Table, EmailMessage.__table__)
    return rotate_column(
        session,
        table=table,
        column="body",
        where=table.c.body.startswith(SEALED_PREFIX, autoescape=True),
        reencrypt=reencrypt,
        batch_size=batch_size,
    )
