"""OCR breach-portal reference data: the public listing of breaches of 500+ (REGULATORY.md §2.2).

Reference data, not case data: rows come only from `flask ocr import`, never from a user.
Multi-valued cells (type of breach, location) are kept twice on purpose: as ordered JSON lists
on the row for display, and as one `OcrBreachTag` row per value for filtering with an index
that works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from incident_app.db import Base
from incident_app.db import str_enum


class TagKind(StrEnum):
    BREACH_TYPE = "type"
    LOCATION = "location"
    ACTION = "action"  # a response action found in OCR's web description
    FLAG = "flag"  # a data-quality flag, see BreachFlag


class BreachFlag(StrEnum):
    COUNT_MISSING = "count_missing"
    COUNT_FLOOR = "count_floor"
    TEXT_DAMAGED = "text_damaged"
    OCR_DUPLICATE = "ocr_duplicate"

    @property
    def label(self) -> str:
        return FLAG_LABELS[self]


FLAG_LABELS = {
    BreachFlag.COUNT_MISSING: "No count of individuals affected in OCR's listing",
    BreachFlag.COUNT_FLOOR: "Exactly 500: possibly a placeholder (OCR lists 500 as a floor "
    "estimate when the real count is not yet known)",
    BreachFlag.TEXT_DAMAGED: "Part of the text was damaged in OCR's export (shown as \ufffd)",
    BreachFlag.OCR_DUPLICATE: "OCR says this report duplicates another one; left out of "
    "comparisons",
}


class OcrBreach(Base):
    """One row of OCR's public breach listing."""

    __tablename__ = "ocr_breach"
    __table_args__ = (
        sa.CheckConstraint("individuals_affected >= 0", name="individuals_affected_non_negative"),
        sa.Index("ix_ocr_breach_entity_affected", "entity_type", "individuals_affected"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of OCR's nine columns exactly as in the file: the natural key that makes
    # re-import idempotent. Our added "Portal List" column is not part of it, so a case moving
    # from "Under Investigation" to "Archive" in a newer snapshot updates the row.
    row_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # SHA-256 of everything derived from the row; a difference on re-import means "updated".
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    # SHA-256 of (name, submission date, count): OCR publishes no case id, and a few filings
    # share these three values (per affiliated entity or a re-filing). They stay separate rows.
    filing_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    repeated_filing: Mapped[bool] = mapped_column(default=False)

    entity_name: Mapped[str] = mapped_column(sa.String(300))
    state: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    entity_type: Mapped[str | None] = mapped_column(sa.String(60))
    individuals_affected: Mapped[int | None] = mapped_column(index=True)
    submitted_on: Mapped[date] = mapped_column(index=True)
    breach_types: Mapped[list[str]] = mapped_column(sa.JSON)
    locations: Mapped[list[str]] = mapped_column(sa.JSON)
    business_associate_present: Mapped[bool]
    web_description: Mapped[str | None] = mapped_column(sa.Text)
    portal_list: Mapped[str | None] = mapped_column(sa.String(40))
    actions: Mapped[list[str]] = mapped_column(sa.JSON)
    flags: Mapped[list[str]] = mapped_column(sa.JSON)

    tags: Mapped[list[OcrBreachTag]] = relationship(
        back_populates="breach", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<OcrBreach {self.entity_name!r} {self.submitted_on} {self.individuals_affected}>"


class OcrBreachTag(Base):
    """One value of a multi-valued attribute, for indexed filtering (kind, value) → breach."""

    __tablename__ = "ocr_breach_tag"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('type', 'location', 'action', 'flag')", name="kind_known"),
        sa.Index("ix_ocr_breach_tag_kind_value", "kind", "value", "breach_id"),
    )

    breach_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ocr_breach.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[TagKind] = mapped_column(str_enum(TagKind, length=16), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(80), primary_key=True)

    breach: Mapped[OcrBreach] = relationship(back_populates="tags")

    def __repr__(self) -> str:
        return f"<OcrBreachTag {self.kind} {self.value!r}>"
