"""What a breach cost and how it disrupted operations: the impact ledger of one incident.

Money is stored exactly, as integer cents (never float). An entry in a currency other than
the organisation's carries the exchange rate it was converted at and the converted amount,
so totals are plain integer sums in the organisation's currency.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal
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


class CostCategory(StrEnum):
    FORENSIC_INVESTIGATION = "forensic_investigation"
    OUTSIDE_COUNSEL = "outside_counsel"
    NOTIFICATION_MAILING = "notification_mailing"
    CALL_CENTRE = "call_centre"
    CREDIT_MONITORING = "credit_monitoring"
    REGULATORY_FINES = "regulatory_fines"
    LITIGATION = "litigation"
    SYSTEM_RESTORATION = "system_restoration"
    STAFF_OVERTIME = "staff_overtime"
    LOST_REVENUE = "lost_revenue"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self.value]


_CATEGORY_LABELS = {
    "forensic_investigation": "Forensic investigation",
    "outside_counsel": "Outside counsel",
    "notification_mailing": "Notification and mailing",
    "call_centre": "Call centre",
    "credit_monitoring": "Credit / identity monitoring",
    "regulatory_fines": "Regulatory fines and settlements",
    "litigation": "Litigation",
    "system_restoration": "System restoration",
    "staff_overtime": "Staff overtime",
    "lost_revenue": "Lost revenue",
    "other": "Other",
}


class CostBasis(StrEnum):
    ESTIMATED = "estimated"
    ACTUAL = "actual"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class CostEntry(Base):
    __tablename__ = "cost_entry"
    __table_args__ = (
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
        sa.CheckConstraint("reporting_cents >= 0", name="reporting_non_negative"),
        sa.CheckConstraint("exchange_rate IS NULL OR exchange_rate > 0", name="rate_positive"),
        sa.Index("ix_cost_entry_incident_spent", "incident_id", "spent_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    category: Mapped[CostCategory] = mapped_column(str_enum(CostCategory))
    basis: Mapped[CostBasis] = mapped_column(str_enum(CostBasis, length=20))
    # As invoiced: minor units of `currency` (ISO 4217 code).
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    # Organisation-currency units per one unit of `currency`; None when they are the same.
    exchange_rate: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 8))
    # The amount in the organisation's currency (rounded half up to the cent).
    reporting_cents: Mapped[int] = mapped_column(sa.BigInteger)
    spent_on: Mapped[date] = mapped_column(sa.Date)
    vendor: Mapped[str] = mapped_column(sa.String(200), default="")
    # An invoice number or a link to where the invoice lives.
    invoice_reference: Mapped[str] = mapped_column(sa.String(500), default="")
    evidence_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("evidence_file.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    evidence: Mapped[EvidenceFile | None] = relationship()
    created_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<CostEntry {self.incident_id} {self.category} {self.amount_cents} {self.currency}>"


class DisruptionKind(StrEnum):
    SYSTEM_OUTAGE = "system_outage"
    BILLING_HALT = "billing_halt"
    CLAIMS_HALT = "claims_halt"

    @property
    def label(self) -> str:
        return {
            "system_outage": "System outage",
            "billing_halt": "Billing halted",
            "claims_halt": "Claims processing halted",
        }[self.value]


class Disruption(Base):
    """One system or process that was down, from when to when, and the claims it held up."""

    __tablename__ = "disruption"
    __table_args__ = (
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        sa.CheckConstraint("claims_delayed_count >= 0", name="claims_count_non_negative"),
        sa.CheckConstraint("claims_delayed_cents >= 0", name="claims_value_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[DisruptionKind] = mapped_column(str_enum(DisruptionKind, length=20))
    system: Mapped[str] = mapped_column(sa.String(200))
    started_at: Mapped[datetime]
    # None while the system is still down.
    ended_at: Mapped[datetime | None]
    claims_delayed_count: Mapped[int] = mapped_column(default=0)
    # In the organisation's currency.
    claims_delayed_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User] = relationship()

    @property
    def duration_seconds(self) -> int | None:
        if self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())

    def __repr__(self) -> str:
        return f"<Disruption {self.incident_id} {self.kind} {self.system!r}>"
