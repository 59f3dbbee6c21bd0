"""The hash-chained audit trail (HIPAA 164.312(b) audit controls)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.db import Base

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """One thing that happened. `hash` covers this row's content and the previous row's hash;
    `mac` is HMAC-SHA256 of `hash` under audit key `key_id` (a key kept outside the database,
    see incident_app/audit_keys.py). Rows written before issue 24 have no MAC until
    `flask audit rekey` (the legacy rule in services/audit.py)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_subject", "subject_type", "subject_id"),
        sa.Index("ix_audit_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64))
    incident_id: Mapped[int | None] = mapped_column(index=True)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    key_id: Mapped[str | None] = mapped_column(sa.String(32))
    mac: Mapped[str | None] = mapped_column(sa.String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action}>"


class AuditChainHead(Base):
    """A single row locked by every append, so concurrent writers cannot fork the chain.

    `mac` signs (seq, last_hash) under audit key `key_id`: rewinding the head without the key
    is detected. A missing head row is an error (the migration creates it), never a skip."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(sa.String(64), default=GENESIS_HASH)
    key_id: Mapped[str | None] = mapped_column(sa.String(32))
    mac: Mapped[str | None] = mapped_column(sa.String(64))
