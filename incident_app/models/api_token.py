"""Personal access tokens for the REST API, and the per-token request counters.

Only the SHA-256 of a token is stored: the token itself is shown once, when it is created.
A token acts as the user who created it (their role and incident memberships as they are at
the time of each call), until it expires or is revoked.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.models.user import User


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # Hex SHA-256 of the whole token; the token has 256 bits of entropy, so no salt is needed.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters of the token, so a person can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def usable_at(self, moment: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or moment < self.expires_at

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… user {self.user_id}>"


class ApiRateWindow(Base):
    """Requests made with one token in one fixed window (window_start: epoch seconds).

    A row per (token, window), incremented with an upsert, so every gunicorn worker and host
    counts against the same limit.
    """

    __tablename__ = "api_rate_window"
    __table_args__ = (sa.CheckConstraint("requests >= 0", name="requests_non_negative"),)

    token_id: Mapped[int] = mapped_column(
        sa.ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True
    )
    window_start: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    requests: Mapped[int] = mapped_column(default=0)
