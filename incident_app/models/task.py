"""Tasks on an incident, and the checklist templates that seed them when an incident opens."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.db import str_enum
from incident_app.models.user import User


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_open(self) -> bool:
        return self in (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (
        sa.Index("ix_task_assignee_status_due", "assignee_id", "status", "due_on"),
        sa.Index("ix_task_incident_status", "incident_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(300))
    # Must be a member of the incident's team (checked by services.tasks); None = unassigned.
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus), default=TaskStatus.OPEN)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # The checklist it came from, for the record (templates can change later).
    checklist_name: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.status} due {self.due_on}>"


class ChecklistTemplate(Base):
    """Tasks to seed for incidents with any of `breach_types` (OCR codes); admins edit these."""

    __tablename__ = "checklist_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    breach_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="template",
        cascade="all, delete-orphan",
        order_by="ChecklistItem.position",
    )


class ChecklistItem(Base):
    __tablename__ = "checklist_item"
    __table_args__ = (sa.CheckConstraint("due_days >= 0", name="due_days_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("checklist_template.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(300))
    # Days after the incident is opened; None = no due date.
    due_days: Mapped[int | None]

    template: Mapped[ChecklistTemplate] = relationship(back_populates="items")
