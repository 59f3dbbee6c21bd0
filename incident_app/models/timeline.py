"""The incident timeline: one append-only table that every area writes its events into.

Team members log actions (kind "action", with a category); services add status changes, fact
edits, team changes, tasks, files and, later, letters and notices. Rows are never updated or
deleted: a mistaken action entry is corrected by a new entry whose `corrects_id` points at it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.db import str_enum
from incident_app.models.user import User


class EntryKind(StrEnum):
    ACTION = "action"  # logged by a team member
    STATUS = "status"
    FACT = "fact"
    TEAM = "team"
    TASK = "task"
    FILE = "file"
    LETTER = "letter"
    NOTICE = "notice"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"fact": "Fact changed", "status": "Status", "file": "File"}.get(
            self.value, self.value.capitalize()
        )


class ActionCategory(StrEnum):
    CONTAINMENT = "containment"
    INVESTIGATION = "investigation"
    COMMUNICATION = "communication"
    DECISION = "decision"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class TimelineEntry(Base):
    __tablename__ = "timeline_entry"
    __table_args__ = (
        sa.Index("ix_timeline_entry_incident_occurred", "incident_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind))
    # Only for kind "action".
    category: Mapped[ActionCategory | None] = mapped_column(str_enum(ActionCategory))
    text: Mapped[str] = mapped_column(sa.Text)
    # When it happened (the person may log it later) and when it was written down.
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    corrects_id: Mapped[int | None] = mapped_column(sa.ForeignKey("timeline_entry.id"), unique=True)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<TimelineEntry {self.id} {self.kind} {self.occurred_at:%Y-%m-%d}>"
