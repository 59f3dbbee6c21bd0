"""The corrective action plan of an incident: actions (OCR's "actions taken") and training.

An action is either one of the OCR portal's "Actions Taken in Response to Breach" options
(`ocr_code`, list kept in incident_app/data/ocr_actions.json) or written freely.
"""

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
from incident_app.models.evidence import EvidenceFile
from incident_app.models.user import User


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_open(self) -> bool:
        return self in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)


class CorrectiveAction(Base):
    __tablename__ = "corrective_action"
    __table_args__ = (
        sa.Index("ix_corrective_action_status_due", "status", "due_on"),
        sa.CheckConstraint(
            "status != 'done' OR completed_at IS NOT NULL", name="done_has_completion"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    # An OCR "actions taken" option code, or None for a freely written action.
    ocr_code: Mapped[str | None] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(300))
    details: Mapped[str] = mapped_column(sa.Text, default="")
    # A member of the incident's team (checked by services.corrective_actions).
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    due_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[ActionStatus] = mapped_column(
        str_enum(ActionStatus, length=20), default=ActionStatus.PLANNED
    )
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    completion_note: Mapped[str] = mapped_column(sa.Text, default="")
    proof_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("evidence_file.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    proof: Mapped[EvidenceFile | None] = relationship()

    def __repr__(self) -> str:
        return f"<CorrectiveAction {self.incident_id} {self.title!r} {self.status}>"


class TrainingRecord(Base):
    """Who was (re)trained, when and on what, with the signed attestation if there is one."""

    __tablename__ = "training_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    # A person's name or a department ("Billing office").
    trainee: Mapped[str] = mapped_column(sa.String(200))
    trained_on: Mapped[date] = mapped_column(sa.Date)
    topic: Mapped[str] = mapped_column(sa.String(300))
    attestation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("evidence_file.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attestation: Mapped[EvidenceFile | None] = relationship()

    def __repr__(self) -> str:
        return f"<TrainingRecord {self.incident_id} {self.trainee!r} {self.trained_on}>"
