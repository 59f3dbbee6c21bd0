"""Users and roles. Users are deactivated, never deleted: history keeps its actors."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.db import str_enum


class Role(StrEnum):
    ADMIN = "admin"
    PRIVACY_OFFICER = "privacy_officer"
    RESPONDER = "responder"
    LEGAL = "legal"
    AUDITOR = "auditor"
    # Business-associate mode: a person at a covered-entity client, who reads only that
    # client's notices, individuals, obligations and status (models/client.py ClientContact).
    CLIENT_CONTACT = "client_contact"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class User(Base):
    __tablename__ = "user"
    __table_args__ = (sa.CheckConstraint("failed_logins >= 0", name="failed_logins_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Bumped on password change and deactivation: every older session stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    password_changed_at: Mapped[datetime | None]
    # TOTP (RFC 6238) second factor. The secret is AES-GCM encrypted with the data key ring;
    # the last accepted time step blocks replay of a code within its window.
    mfa_enabled: Mapped[bool] = mapped_column(default=False)
    totp_secret: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Flask-Login protocol -------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"
