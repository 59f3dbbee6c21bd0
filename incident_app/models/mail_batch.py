"""Mail merge: one batch of personal notice letters made from an approved letter version.

A `MailBatch` freezes who is in it when it starts: its `MailChunk` rows hold the roster person
ids (and the route each takes) in order, so a roster change later never moves a letter
between chunks. A chunk is the unit a worker claims and the unit the mail house gets: one
combined print PDF and one manifest CSV. A `MailLetter` row is written per person, in the
same transaction as the SHA-256 of that person's PDF (or the queued email), and is unique per
(batch, person): a crashed or restarted worker skips every person who already has one.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.db import str_enum


class BatchStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"  # stopped by an error (`message`); resumable once it is fixed

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def is_open(self) -> bool:
        """Still going somewhere: a new batch for the incident must wait."""
        return self in (
            BatchStatus.QUEUED,
            BatchStatus.RUNNING,
            BatchStatus.PAUSED,
            BatchStatus.FAILED,
        )


class Variant(StrEnum):
    """Which approved letter a recipient gets."""

    ADULT = "adult"
    MINOR = "minor"  # to the parent or guardian, 164.502(g)
    DECEASED = "deceased"  # to the next of kin / personal representative, 164.404(d)(1)(ii)
    SPANISH = "spanish"

    @property
    def template_name(self) -> str:
        return {
            "adult": "individual_adult.html",
            "minor": "individual_minor.html",
            "deceased": "individual_deceased.html",
            "spanish": "individual_es.html",
        }[self.value]

    @property
    def label(self) -> str:
        return {
            "adult": "Adult",
            "minor": "Parent or guardian of a minor",
            "deceased": "Next of kin of a deceased person",
            "spanish": "Spanish",
        }[self.value]


class Route(StrEnum):
    MAIL = "mail"
    EMAIL = "email"  # agreed to electronic notice, 164.404(d)(1)(i)


class ChunkStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"


class LetterState(StrEnum):
    DONE = "done"  # PDF stored (mail) or email queued
    FAILED = "failed"  # `reason` says why; retryable
    RETRY = "retry"  # a person asked for it again; the retry chunk renders it

    @property
    def label(self) -> str:
        return self.value.capitalize()


class MailBatch(Base):
    __tablename__ = "mail_batch"
    __table_args__ = (
        sa.CheckConstraint(
            "mail_count >= 0 AND email_count >= 0 AND substitute_count >= 0 "
            "AND no_contact_count >= 0",
            name="counts_non_negative",
        ),
        sa.CheckConstraint("chunk_size > 0", name="chunk_size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    # The approved adult notice the batch starts from (other variants in `variants`).
    letter_id: Mapped[int] = mapped_column(sa.ForeignKey("letter.id"))
    letter_version_id: Mapped[int] = mapped_column(sa.ForeignKey("letter_version.id"))
    template_name: Mapped[str] = mapped_column(sa.String(100))
    template_version: Mapped[str] = mapped_column(sa.String(64))
    sample_sha256: Mapped[str] = mapped_column(sa.String(64))
    data_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    letter_date: Mapped[date] = mapped_column(sa.Date)
    # {variant: {letter_id, version_id, template_name, template_version, sample_sha256}}
    variants: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Business-associate mode: the batch of one client that delegates individual notice
    # (its people, on its letterhead); None for the organisation's own letters.
    client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("client.id"))
    status: Mapped[BatchStatus] = mapped_column(
        str_enum(BatchStatus, length=12), default=BatchStatus.QUEUED, index=True
    )
    message: Mapped[str] = mapped_column(sa.Text, default="")
    # Fixed when the batch starts.
    mail_count: Mapped[int] = mapped_column(default=0)
    email_count: Mapped[int] = mapped_column(default=0)
    substitute_count: Mapped[int] = mapped_column(default=0)  # no sufficient address
    no_contact_count: Mapped[int] = mapped_column(default=0)  # deceased, no next-of-kin address
    chunk_size: Mapped[int]
    # The three-recipient proof rendered when the batch started (see services/mail_merge).
    proof_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    started_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Recorded by a person once the mail house mailed the letters (services/mail_merge/mailed.py).
    mailed_on: Mapped[date | None] = mapped_column(sa.Date)
    mailed_recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    mailed_recorded_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<MailBatch {self.id} incident={self.incident_id} {self.status}>"


class MailChunk(Base):
    __tablename__ = "mail_chunk"
    __table_args__ = (
        sa.UniqueConstraint("batch_id", "number"),
        sa.Index("ix_mail_chunk_status_batch_id", "status", "batch_id"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("mail_batch.id", ondelete="CASCADE"))
    number: Mapped[int]
    first_sequence: Mapped[int]  # letter number in the batch of the first person
    # [[letter number, person id, route, variant or ""], ...] in letter order.
    people: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    status: Mapped[ChunkStatus] = mapped_column(
        str_enum(ChunkStatus, length=12), default=ChunkStatus.PENDING
    )
    claimed_by: Mapped[str] = mapped_column(sa.String(120), default="")
    claim_token: Mapped[str] = mapped_column(sa.String(32), default="")
    heartbeat_at: Mapped[datetime | None]
    print_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    print_pages: Mapped[int] = mapped_column(default=0)
    manifest_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    letters: Mapped[int] = mapped_column(default=0)  # PDFs in the print file
    finished_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<MailChunk {self.batch_id}/{self.number} {self.status}>"


class MailLetter(Base):
    """One person's outcome in one batch: written with the PDF's hash, never twice."""

    __tablename__ = "mail_letter"
    __table_args__ = (
        sa.UniqueConstraint("batch_id", "person_id"),
        sa.Index("ix_mail_letter_batch_id_state", "batch_id", "state"),
        sa.Index("ix_mail_letter_chunk_id", "chunk_id"),
        sa.Index("ix_mail_letter_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("mail_batch.id", ondelete="CASCADE"))
    chunk_id: Mapped[int] = mapped_column(sa.ForeignKey("mail_chunk.id", ondelete="CASCADE"))
    # SET NULL: purging a superseded roster keeps the record that a letter was made.
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("roster_person.id", ondelete="SET NULL")
    )
    # The same person's row in a later roster version: set when a replace import commits
    # (services/roster/lineage.py), so the person page still shows this record once the row
    # above is purged. Not PHI.
    later_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("roster_person.id", ondelete="SET NULL"), index=True
    )
    sequence: Mapped[int]
    letter_code: Mapped[str] = mapped_column(sa.String(40), unique=True)  # printed "Letter ID"
    route: Mapped[Route] = mapped_column(str_enum(Route, length=8))
    variant: Mapped[Variant | None] = mapped_column(str_enum(Variant, length=12))
    state: Mapped[LetterState] = mapped_column(str_enum(LetterState, length=8))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(default=0)
    page_count: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=1)
    done_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<MailLetter {self.letter_code} {self.state}>"
