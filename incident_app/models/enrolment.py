"""Identity-protection enrollment codes: one pool per incident, the vendor's offer it stands
for, the files the codes came in, and the codes themselves (encrypted, one per person).

A code is a bearer credential for a paid service, so it is stored only encrypted (AES-GCM,
associated data naming the pool and the code's blind index) with a keyed blind index for
uniqueness. `EnrolmentCode.person_id` and `code_index` are unique: never two people the same
code, never a second code for a person. A code is taken when `assigned_at` is set; purging a
superseded roster nulls `person_id` but the code stays taken (it was printed on a letter).
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.clock import utcnow
from incident_app.db import Base


class CodePool(Base):
    """The incident's identity-protection offer (printed in the letter) and its codes."""

    __tablename__ = "code_pool"
    __table_args__ = (
        sa.CheckConstraint("offer_months BETWEEN 1 AND 120", name="offer_months_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), unique=True
    )
    vendor: Mapped[str] = mapped_column(sa.String(120))
    product: Mapped[str] = mapped_column(sa.String(120))
    offer_months: Mapped[int]
    enrol_url: Mapped[str] = mapped_column(sa.String(200))
    enrol_phone: Mapped[str] = mapped_column(sa.String(40))
    enrol_by: Mapped[date] = mapped_column(sa.Date)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<CodePool {self.id} incident={self.incident_id} {self.offer_months} months>"


class CodeImport(Base):
    """One vendor file of codes, imported all or nothing."""

    __tablename__ = "code_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(
        sa.ForeignKey("code_pool.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    codes: Mapped[int]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnrolmentCode(Base):
    """One activation code: free until `assigned_at`, then one person's for good."""

    __tablename__ = "enrolment_code"
    __table_args__ = (sa.Index("ix_enrolment_code_pool_id_assigned_at", "pool_id", "assigned_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(sa.ForeignKey("code_pool.id", ondelete="CASCADE"))
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("code_import.id", ondelete="CASCADE"))
    row_number: Mapped[int]  # in the vendor's file, for messages
    # Keyed blind index (first 128 bits of HMAC-SHA256, hex): unique across all pools.
    code_index: Mapped[str] = mapped_column(sa.String(32), unique=True)
    code: Mapped[bytes] = mapped_column(sa.LargeBinary)  # AES-GCM, see services/enrolment
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("roster_person.id", ondelete="SET NULL"), unique=True
    )
    assigned_at: Mapped[datetime | None]
    letter_code: Mapped[str] = mapped_column(sa.String(40), default="")  # first printed on

    def __repr__(self) -> str:
        state = "assigned" if self.assigned_at else "free"
        return f"<EnrolmentCode {self.id} pool={self.pool_id} {state}>"
