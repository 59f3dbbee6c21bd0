"""Evidence files on an incident and their chain of custody.

The bytes live in the encrypted, content-addressed file store under their SHA-256; the row
holds what a person needs to see (sanitised name, size, type) and who put it there. The same
bytes on the same incident are one file: a second upload is recognised by its hash.
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
from incident_app.db import str_enum
from incident_app.models.user import User


class EvidenceFile(Base):
    __tablename__ = "evidence_file"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "sha256"),
        sa.CheckConstraint("size_bytes >= 0", name="size_bytes_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    description: Mapped[str] = mapped_column(sa.Text, default="")
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    uploaded_by: Mapped[User] = relationship()
    custody: Mapped[list[CustodyEvent]] = relationship(
        back_populates="evidence", order_by="CustodyEvent.at"
    )


class CustodyAction(StrEnum):
    UPLOADED = "uploaded"
    UPLOADED_AGAIN = "uploaded_again"  # the same bytes were uploaded again
    DOWNLOADED = "downloaded"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class CustodyEvent(Base):
    """Append-only: who handled the file, when."""

    __tablename__ = "custody_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evidence_file.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[CustodyAction] = mapped_column(str_enum(CustodyAction))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # Name the person gave the file on this upload (may differ from the first one).
    filename: Mapped[str] = mapped_column(sa.String(255), default="")

    evidence: Mapped[EvidenceFile] = relationship(back_populates="custody")
    actor: Mapped[User] = relationship()
