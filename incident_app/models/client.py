"""Covered-entity clients of a business associate, and which incidents touched which client.

A billing company that is a HIPAA business associate holds PHI that belongs to its clients
(each a covered entity). The client row holds what a notice to that client needs: who to tell,
the business associate agreement on file (its bytes in the encrypted file store, by SHA-256),
the contractual notice period, and whether the client delegates individual notice to us (and
then the letterhead, logo and signatory those letters carry).
"""

from __future__ import annotations

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


class PeriodUnit(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    BUSINESS_DAYS = "business_days"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Client(Base):
    __tablename__ = "client"
    __table_args__ = (
        sa.CheckConstraint(
            "notice_period_count IS NULL OR notice_period_count > 0",
            name="notice_period_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    # [{"name": ..., "email": ..., "phone": ...}]: the client's privacy contacts, first = main.
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    address: Mapped[str] = mapped_column(sa.Text, default="")
    # The BAA's notice clause, counted from OUR (the business associate's) discovery; both None
    # when the agreement has no shorter period than 45 CFR 164.410(b).
    notice_period_count: Mapped[int | None]
    notice_period_unit: Mapped[PeriodUnit | None] = mapped_column(str_enum(PeriodUnit, length=16))
    delegates_individual_notice: Mapped[bool] = mapped_column(default=False)
    # Letterhead for the letters we send on the client's behalf when it delegates them.
    letterhead_name: Mapped[str] = mapped_column(sa.String(200), default="")
    letterhead_address: Mapped[str] = mapped_column(sa.Text, default="")
    signatory_name: Mapped[str] = mapped_column(sa.String(200), default="")
    signatory_title: Mapped[str] = mapped_column(sa.String(200), default="")
    logo: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    logo_mime: Mapped[str | None] = mapped_column(sa.String(40))
    # The business associate agreement on file: bytes in the encrypted file store.
    baa_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    baa_filename: Mapped[str | None] = mapped_column(sa.String(255))
    baa_content_type: Mapped[str | None] = mapped_column(sa.String(100))
    baa_uploaded_at: Mapped[datetime | None]
    baa_uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    baa_uploaded_by: Mapped[User | None] = relationship()

    @property
    def notice_period_label(self) -> str:
        if self.notice_period_count is None or self.notice_period_unit is None:
            return ""
        unit = self.notice_period_unit.label
        if self.notice_period_count == 1:
            unit = unit.replace("days", "day")
        return f"{self.notice_period_count} {unit} after discovery"

    def __repr__(self) -> str:
        return f"<Client {self.id} {self.name!r}>"


class IncidentClient(Base):
    """An incident touched a client's PHI. Removing the link after the client's notice was
    sent is refused (the services check it)."""

    __tablename__ = "incident_client"
    __table_args__ = (sa.UniqueConstraint("incident_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    incident: Mapped[Incident] = relationship()
    client: Mapped[Client] = relationship()

    def __repr__(self) -> str:
        return f"<IncidentClient incident={self.incident_id} client={self.client_id}>"
