"""Notification obligations computed by the rules engine and stored per incident.

Only `services.obligations.sync` writes the computed columns (kind, jurisdiction, due_on,
citation, reason, detail). An obligation that a fact change removes is marked inactive, not
deleted, so reminders and history that point at it survive.

`source_key` tells apart two obligations of the same kind and jurisdiction: it is empty for
HIPAA obligations and the statute for state ones (California's Civil Code and Health & Safety
Code each require their own notice to residents). A privacy officer's due-date override is
kept beside the computed date, never instead of it.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.models.incident import Incident
from incident_app.models.user import User


class Obligation(Base):
    __tablename__ = "obligation"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "kind", "jurisdiction", "source_key"),
        sa.Index("ix_obligation_active_due", "active", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    jurisdiction: Mapped[str] = mapped_column(sa.String(4))
    source_key: Mapped[str] = mapped_column(sa.String(200), default="")
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    # Set for clocks counted in hours (GDPR Art. 33: 72 hours), in UTC; due_on is its UTC date.
    due_at: Mapped[datetime | None]
    citation: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[str] = mapped_column(sa.Text)
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    override_due_on: Mapped[date | None] = mapped_column(sa.Date)
    override_reason: Mapped[str] = mapped_column(sa.Text, default="")
    override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    override_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship()
    override_by: Mapped[User | None] = relationship()

    @property
    def effective_due_on(self) -> date | None:
        """The overridden due date when a privacy officer recorded one, else the computed one."""
        return self.override_due_on or self.due_on

    def __repr__(self) -> str:
        return f"<Obligation {self.kind} {self.jurisdiction} due {self.due_on}>"
