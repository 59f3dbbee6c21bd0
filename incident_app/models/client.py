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
    # Are we the client's agent under the federal common law of agency? Its own clocks run
    # from our discovery if so, from our notice to it if not (None: undetermined, the
    # stricter date; rules/discovery.py).
    business_associate_is_agent: Mapped[bool | None]
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


class ClientContact(Base):
    """A user (role client_contact) who speaks for one client: it reads only that client's
    slice of the incidents that name it and acknowledges the client's notices."""

    __tablename__ = "client_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), unique=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    client: Mapped[Client] = relationship()

    def __repr__(self) -> str:
        return f"<ClientContact user={self.user_id} client={self.client_id}>"


class ClientNotice(Base):
    """One notice to a client under 45 CFR 164.410: number 1 is the notice, 2, 3, … its
    supplements (164.410(c)(2): "promptly thereafter as information becomes available").

    Append-only: `content` (the 164.404(c) facts known when it was drafted) and the identities
    file (a CSV in the encrypted file store, by SHA-256: the people of this client not named by
    an earlier notice) are frozen when drafted; once `sent_at` is set nothing changes but the
    client's acknowledgement.
    """

    __tablename__ = "client_notice"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "client_id", "number"),
        sa.CheckConstraint("number > 0", name="number_positive"),
        sa.CheckConstraint("identities_count >= 0", name="identities_count_non_negative"),
        sa.CheckConstraint(
            "acknowledged_at IS NULL OR sent_at IS NOT NULL", name="acknowledged_after_sent"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    number: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    identities_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    identities_count: Mapped[int] = mapped_column(default=0)
    drafted_at: Mapped[datetime] = mapped_column(default=utcnow)
    drafted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    sent_at: Mapped[datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    client: Mapped[Client] = relationship()
    drafted_by: Mapped[User] = relationship(foreign_keys=[drafted_by_id])
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])

    @property
    def label(self) -> str:
        return "Notice" if self.number == 1 else f"Supplement {self.number - 1}"

    def __repr__(self) -> str:
        return f"<ClientNotice {self.id} incident={self.incident_id} client={self.client_id}>"


class ClientNoticePerson(Base):
    """Who a notice identified, by a key that survives a roster re-import (the keyed blind
    index of the person's record id, else of name + date of birth + address), so that a
    supplement lists only the people no earlier notice to the client named."""

    __tablename__ = "client_notice_person"

    notice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("client_notice.id", ondelete="CASCADE"), primary_key=True
    )
    person_key: Mapped[str] = mapped_column(sa.String(48), primary_key=True)
