"""How people are told: in-app notifications, the email outbox, and calendar feed tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.db import str_enum


class NotificationKind(StrEnum):
    REMINDER = "reminder"  # a deadline reminder from the sweep
    LETTER_REVIEW = "letter_review"  # a letter was sent to this user for legal review


class Notification(Base):
    """One message in one user's bell. Written in the same transaction as its ReminderSent
    (a reminder) or as the event it tells about (a letter sent for review)."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("reminder_id", "user_id"),
        sa.Index("ix_notification_user_read_at", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    reminder_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reminder_sent.id", ondelete="CASCADE")
    )
    incident_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE")
    )
    kind: Mapped[NotificationKind] = mapped_column(
        str_enum(NotificationKind, length=40), default=NotificationKind.REMINDER
    )
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    overdue: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Notification {self.id} to {self.user_id} {self.title!r}>"


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"  # its deadline was removed before it could be delivered
    SUPPRESSED = "suppressed"  # a tabletop exercise's message addressed outside the team


class EmailMessage(Base):
    """The email outbox. Queued with the reminder, delivered after the commit, retried with
    backoff: email is at-least-once (a crash after the SMTP hand-off re-sends it)."""

    __tablename__ = "email_message"
    __table_args__ = (
        sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        sa.Index("ix_email_message_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reminder_sent.id", ondelete="CASCADE"), index=True
    )
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[EmailStatus] = mapped_column(
        str_enum(EmailStatus, length=20), default=EmailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A sender claims a message until this time, so two sweeps never hand it to SMTP together.
    claimed_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    sent_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<EmailMessage {self.id} {self.status} attempts={self.attempts}>"


class CalendarToken(Base):
    """A user's secret ICS feed token, stored as its SHA-256 only. Revoked, never deleted."""

    __tablename__ = "calendar_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
