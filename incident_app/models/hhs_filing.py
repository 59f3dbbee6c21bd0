"""Filings of small breaches (fewer than 500) with the Secretary: the annual log's history.

45 CFR 164.408(c). Each breach is its own report in the OCR portal. The first filing is the
initial report and gets OCR's transaction number; a later correction (new count, new facts) is
an addendum that quotes the original number. Rows are appended, never changed or deleted:
`sequence` 0 is the initial report, 1, 2, … the addenda, unique per incident.
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


class ReportType(StrEnum):
    INITIAL = "initial"
    ADDENDUM = "addendum"

    @property
    def label(self) -> str:
        # The OCR portal's own wording (REGULATORY.md §2.1, "Report Type").
        return {"initial": "Initial Breach Report", "addendum": "Addendum to Previous Report"}[
            self.value
        ]


class HhsFiling(Base):
    __tablename__ = "hhs_filing"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "sequence"),
        sa.CheckConstraint("affected_count >= 0", name="affected_count_non_negative"),
        sa.CheckConstraint("sequence >= 0", name="sequence_non_negative"),
        sa.CheckConstraint(
            "(report_type = 'initial' AND sequence = 0 AND original_id IS NULL) OR "
            "(report_type = 'addendum' AND sequence > 0 AND original_id IS NOT NULL)",
            name="initial_or_addendum",
        ),
        sa.Index("ix_hhs_filing_reporting_year", "reporting_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"))
    sequence: Mapped[int]
    report_type: Mapped[ReportType] = mapped_column(str_enum(ReportType))
    # The calendar year of discovery whose log the breach belongs to.
    reporting_year: Mapped[int]
    filed_on: Mapped[date] = mapped_column(sa.Date)
    # OCR's transaction number; an addendum repeats the initial report's.
    transaction_number: Mapped[str] = mapped_column(sa.String(64))
    original_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hhs_filing.id"))
    affected_count: Mapped[int]
    # The portal fields as filed (labels, dates as ISO strings), frozen at filing time.
    portal_fields: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Addenda: what changed since the previous report, in the filer's words.
    changes: Mapped[str] = mapped_column(sa.Text, default="")
    filed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    incident: Mapped[Incident] = relationship()
    filed_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<HhsFiling {self.incident_id}#{self.sequence} {self.transaction_number}>"
