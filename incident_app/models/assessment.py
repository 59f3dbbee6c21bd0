"""The breach risk assessment (45 CFR 164.402) and the stored determination of each incident.

An assessment is a series of immutable versions: every save adds one, and a privacy officer's
signature on a version makes it the one the rules engine reads. The determination row holds
what `services.obligations.sync` last concluded, plus an optional privacy-officer override
kept beside (never instead of) the computed value.
"""

from __future__ import annotations

from datetime import date
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
from incident_app.models.incident import Incident
from incident_app.models.user import User


class Conclusion(StrEnum):
    UNDECIDED = "undecided"  # treated as a breach: the presumption of 164.402(2)
    BREACH = "breach"
    LOW_PROBABILITY = "low_probability"

    @property
    def label(self) -> str:
        return {
            "undecided": "Not yet decided (presumed breach)",
            "breach": "Breach (not a low probability of compromise)",
            "low_probability": "Low probability that the PHI has been compromised",
        }[self.value]


class AssessmentVersion(Base):
    """One saved version of an incident's risk assessment; never updated except to sign it.

    ``answers`` holds the guided form's answers (validated by services.assessment);
    the outcome columns are derived from them when the version is saved.
    """

    __tablename__ = "assessment_version"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    number: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Field name -> [old, new] against the previous version (empty for the first).
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Outcome, derived from the answers.
    not_phi_or_permitted: Mapped[bool] = mapped_column(default=False)
    phi_secured: Mapped[bool] = mapped_column(default=False)
    exception: Mapped[str | None] = mapped_column(sa.String(40))
    conclusion: Mapped[Conclusion] = mapped_column(
        str_enum(Conclusion), default=Conclusion.UNDECIDED
    )
    rationale: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    signed_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])

    @property
    def signed(self) -> bool:
        return self.signed_at is not None

    def __repr__(self) -> str:
        return f"<AssessmentVersion {self.incident_id} v{self.number} {self.conclusion}>"


class Determination(Base):
    """What the rules engine last concluded for an incident (one row per incident)."""

    __tablename__ = "determination"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), unique=True
    )
    reportable: Mapped[bool]
    reason: Mapped[str] = mapped_column(sa.Text)
    treated_discovery_on: Mapped[date | None] = mapped_column(sa.Date)
    warnings: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # The signed assessment version the facts came from (None: presumed breach).
    assessment_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assessment_version.id", ondelete="SET NULL")
    )
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A privacy officer's override of the conclusion, shown beside the computed one.
    override_reportable: Mapped[bool | None]
    override_reason: Mapped[str] = mapped_column(sa.Text, default="")
    override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    override_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship()
    assessment_version: Mapped[AssessmentVersion | None] = relationship()
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id])

    @property
    def effective_reportable(self) -> bool:
        return self.reportable if self.override_reportable is None else self.override_reportable

    def __repr__(self) -> str:
        return f"<Determination {self.incident_id} reportable={self.reportable}>"
