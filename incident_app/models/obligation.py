"""Notification obligations computed by the rules engine and stored per incident.

Only `services.obligations.sync` writes the computed columns (kind, jurisdiction, due_on,
citation, reason, detail). An obligation that a fact change removes is marked inactive, not
deleted, so reminders and history that point at it survive.
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


class Obligation(Base):
    __tablename__ = "obligation"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "kind", "jurisdiction"),
        sa.Index("ix_obligation_active_due", "active", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    jurisdiction: Mapped[str] = mapped_column(sa.String(4))
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    citation: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[str] = mapped_column(sa.Text)
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    incident: Mapped[Incident] = relationship()

    def __repr__(self) -> str:
        return f"<Obligation {self.kind} {self.jurisdiction} due {self.due_on}>"
