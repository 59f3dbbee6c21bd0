"""Deadline reminders: which reminder points went out, the reminder plan, and date versions.

A reminder point is "N days before the due date" (N = 0 on the day, negative while overdue).
`ReminderSent` holds one row per (deadline, due date, point); its unique constraint is what
makes a point go out exactly once, even with two sweeps racing. A deadline is an obligation
or a task (`subject_type` + `subject_id`): the reference is polymorphic so that the history of
a deadline survives whatever happens to the row it points at.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.db import str_enum

DEFAULT_DAYS_BEFORE = (30, 14, 7, 3, 1, 0)
# The settings row that applies to every kind without a row of its own.
EVERY_KIND = "*"


class SubjectType(StrEnum):
    OBLIGATION = "obligation"
    TASK = "task"
    CORRECTIVE_ACTION = "corrective_action"
    INQUIRY = "inquiry"  # an individual's inquiry with a follow-up date (models/inquiry.py)
    CLIENT_NOTICE = "client_notice"  # a sent client notice awaiting its acknowledgement


class ReminderSent(Base):
    __tablename__ = "reminder_sent"
    __table_args__ = (
        sa.UniqueConstraint("subject_type", "subject_id", "due_on", "days_before"),
        sa.Index("ix_reminder_sent_incident_sent_at", "incident_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[SubjectType] = mapped_column(str_enum(SubjectType, length=20))
    subject_id: Mapped[int]
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    # The due date this point was planned from: a moved deadline gets a fresh plan, and the
    # rows of the old plan stay as history.
    due_on: Mapped[date] = mapped_column(sa.Date)
    days_before: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sent after its own day (the scheduler was down, or the deadline appeared late).
    late: Mapped[bool] = mapped_column(default=False)
    # Earlier points of the same plan that this one stands in for (catch-up after downtime):
    # they were never sent on their own, by design, and never will be.
    covers: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    recipients: Mapped[int] = mapped_column(default=0)

    @property
    def point_on(self) -> date:
        return date.fromordinal(self.due_on.toordinal() - self.days_before)

    def __repr__(self) -> str:
        return (
            f"<ReminderSent {self.subject_type}:{self.subject_id} {self.due_on} {self.days_before}>"
        )


class ReminderSetting(Base):
    """The reminder plan for one obligation kind ("task" for tasks, "*" for the default)."""

    __tablename__ = "reminder_setting"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    days_before: Mapped[list[int]] = mapped_column(sa.JSON)
    overdue_daily: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    def __repr__(self) -> str:
        return f"<ReminderSetting {self.kind} {self.days_before}>"


class DeadlineVersion(Base):
    """The last due date seen per deadline and how often it moved (the ICS SEQUENCE)."""

    __tablename__ = "deadline_version"
    __table_args__ = (sa.UniqueConstraint("subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[SubjectType] = mapped_column(str_enum(SubjectType, length=20))
    subject_id: Mapped[int]
    due_on: Mapped[date] = mapped_column(sa.Date)
    sequence: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
