"""Organisation settings that letters and deadlines use (a single row)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.clock import utcnow
from incident_app.db import Base

ORGANISATION_ID = 1


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True, default=ORGANISATION_ID)
    legal_name: Mapped[str] = mapped_column(sa.String(200), default="")
    address_line1: Mapped[str] = mapped_column(sa.String(200), default="")
    address_line2: Mapped[str] = mapped_column(sa.String(200), default="")
    city: Mapped[str] = mapped_column(sa.String(100), default="")
    state: Mapped[str] = mapped_column(sa.String(2), default="")
    postal_code: Mapped[str] = mapped_column(sa.String(10), default="")
    toll_free_number: Mapped[str] = mapped_column(sa.String(40), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    signatory_name: Mapped[str] = mapped_column(sa.String(200), default="")
    signatory_title: Mapped[str] = mapped_column(sa.String(200), default="")
    # Legal deadlines are calendar dates in this zone (IANA name).
    timezone: Mapped[str] = mapped_column(sa.String(64), default="America/New_York")
    # Roles that must use a second factor (empty: MFA optional for everyone).
    mfa_required_roles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # After the breach (issue 13): reporting currency (ISO 4217) and closing rules.
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD", server_default="USD")
    require_signed_review_to_close: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    require_proof_to_close_action: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    # Letters (issue 7): privacy officers may approve letters too (legal reviewers always may).
    privacy_officer_may_approve: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    # Mail merge (issue 8): people who agreed to electronic notice get the notice by email,
    # 164.404(d)(1)(i).
    email_notice_enabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Issue 17: the organisation's role under the breach rules (covered_entity,
    # business_associate, phr_vendor, phr_related_entity, third_party_service_provider) and
    # whether it is a public company (SEC Form 8-K Item 1.05).
    entity_role: Mapped[str] = mapped_column(
        sa.String(40), default="covered_entity", server_default="covered_entity"
    )
    # A covered entity that also acts as a business associate for other covered entities (a
    # billing company with its own patients): the client registry is on, and an incident that
    # names clients is handled as their business associate (45 CFR 164.410) for their PHI.
    # With entity_role "business_associate" the registry is always on.
    acts_as_business_associate: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    public_company: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Issue 21 follow-up: a client notice sent and still unacknowledged after this many business
    # days is reminded to the privacy officers (reminders/client_acks.py).
    client_ack_business_days: Mapped[int] = mapped_column(default=5, server_default="5")
    logo: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    logo_mime: Mapped[str | None] = mapped_column(sa.String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Organisation {self.legal_name!r}>"
