"""The post-incident review: lessons learned, as numbered versions signed by a privacy officer.

Like the risk assessment, a signed version is never changed: saving after a signature starts
the next version, which needs its own signature.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.models.user import User


class SafeguardFamily(StrEnum):
    """The Security Rule's three safeguard families (45 CFR 164.308, 164.310, 164.312)."""

    ADMINISTRATIVE = "administrative"
    PHYSICAL = "physical"
    TECHNICAL = "technical"

    @property
    def label(self) -> str:
        return f"{self.value.capitalize()} safeguards"

    @property
    def citation(self) -> str:
        return {
            "administrative": "45 CFR 164.308",
            "physical": "45 CFR 164.310",
            "technical": "45 CFR 164.312",
        }[self.value]


class ReviewVersion(Base):
    __tablename__ = "review_version"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    number: Mapped[int]
    timeline_summary: Mapped[str] = mapped_column(sa.Text, default="")
    root_cause: Mapped[str] = mapped_column(sa.Text, default="")
    what_worked: Mapped[str] = mapped_column(sa.Text, default="")
    what_did_not: Mapped[str] = mapped_column(sa.Text, default="")
    # Safeguard family value -> list of gaps (one sentence each).
    control_gaps: Mapped[dict[str, list[str]]] = mapped_column(sa.JSON, default=dict)
    decisions: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    signed_at: Mapped[datetime | None]
    # SHA-256 of the signed content (services.review.content_hash), to show it is unchanged.
    signed_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])

    @property
    def signed(self) -> bool:
        return self.signed_at is not None

    def gaps(self, family: SafeguardFamily) -> list[str]:
        return list(self.control_gaps.get(family.value, []))

    def __repr__(self) -> str:
        return f"<ReviewVersion {self.incident_id} v{self.number} signed={self.signed}>"
