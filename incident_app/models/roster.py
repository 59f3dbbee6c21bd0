"""The affected-individuals roster: imports, people (PHI encrypted), remembered column maps.

A person row belongs to the import that staged it. It is visible only while that import is
COMMITTED, so an import becomes visible — or, with "replace", the previous roster disappears —
in one small final transaction however many rows it staged; a killed import leaves only
invisible rows, which the worker deletes.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.clock import utcnow
from incident_app.db import Base
from incident_app.db import str_enum


class AddressStatus(StrEnum):
    SUFFICIENT = "sufficient"
    INSUFFICIENT = "insufficient"
    MISSING = "missing"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ImportStatus(StrEnum):
    NEEDS_MAPPING = "needs_mapping"  # headers differ: a person must map the columns
    QUEUED = "queued"
    RUNNING = "running"
    COMMITTED = "committed"  # its rows are the roster (or part of it, after appends)
    SUPERSEDED = "superseded"  # replaced by a later import; its rows are invisible
    FAILED = "failed"  # nothing imported; `message` says why
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_active(self) -> bool:
        return self in (ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportMode(StrEnum):
    REPLACE = "replace"
    APPEND = "append"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class NoticeStatus(StrEnum):
    PENDING = "pending"
    LETTER_GENERATED = "letter_generated"
    MAILED = "mailed"
    RETURNED_MAIL = "returned_mail"
    UNREACHABLE = "unreachable"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class NoticeMethod(StrEnum):
    MAIL = "mail"
    EMAIL = "email"


class RosterImport(Base):
    """One uploaded roster file and its import: progress, outcome, and where its report is."""

    __tablename__ = "roster_import"
    __table_args__ = (
        sa.Index("ix_roster_import_incident_status", "incident_id", "status"),
        sa.CheckConstraint(
            "rows_read >= 0 AND rows_accepted >= 0 AND rows_rejected >= 0",
            name="row_counts_non_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus), index=True)
    mode: Mapped[ImportMode] = mapped_column(str_enum(ImportMode))
    filename: Mapped[str] = mapped_column(sa.String(255))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    delimiter: Mapped[str] = mapped_column(sa.String(1))
    headers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Our field name → the file's header (see roster_import.FIELDS).
    mapping: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    bytes_read: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_accepted: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    rows_merged: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    report_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<RosterImport {self.id} incident={self.incident_id} {self.status}>"


class RosterPerson(Base):
    """One affected individual. PHI lives only in `phi` (one AES-GCM JSON blob whose associated
    data names incident, import and row); state, ZIP3 and flags stay clear for counting."""

    __tablename__ = "roster_person"
    __table_args__ = (
        # Also the index for "rows of this import" (its leftmost column).
        sa.UniqueConstraint("import_id", "row_number"),
        sa.CheckConstraint("row_number > 0", name="row_number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("roster_import.id", ondelete="CASCADE"))
    row_number: Mapped[int]
    phi: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # Keyed blind indexes (first 128 bits of HMAC-SHA256, hex): search and duplicate checks.
    external_index: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    # Name + date of birth + address: read only by the duplicate merge (a GROUP BY over one
    # import), so not indexed — an index cost a random B-tree insert per imported person.
    identity_index: Mapped[str | None] = mapped_column(sa.String(32))
    # Name + date of birth only: how an inquiry finds a caller who has no letter code at hand
    # (services/inquiries/lookup.py). NULL for rows imported before it existed.
    lookup_index: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    state: Mapped[str | None] = mapped_column(sa.String(2))
    zip3: Mapped[str | None] = mapped_column(sa.String(3))
    address_status: Mapped[AddressStatus] = mapped_column(str_enum(AddressStatus, length=12))
    deceased: Mapped[bool] = mapped_column(default=False)
    minor: Mapped[bool] = mapped_column(default=False)
    nok_address: Mapped[bool] = mapped_column(default=False)  # next of kin / representative
    email_consent: Mapped[bool] = mapped_column(default=False)  # consent and a usable address
    language: Mapped[str] = mapped_column(sa.String(35), default="")
    notice_status: Mapped[NoticeStatus] = mapped_column(
        str_enum(NoticeStatus, length=20), default=NoticeStatus.PENDING
    )
    notice_method: Mapped[NoticeMethod | None] = mapped_column(str_enum(NoticeMethod, length=8))
    notice_on: Mapped[date | None] = mapped_column(sa.Date)
    # Set on a row merged into an earlier record of the same person (not counted).
    duplicate_of_id: Mapped[int | None]
    # Business-associate mode: the covered-entity client whose PHI this row is (clear, for
    # per-client counts and slices); None on an incident that names no clients.
    client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("client.id"), index=True)

    def __repr__(self) -> str:
        return f"<RosterPerson {self.id} import={self.import_id} row={self.row_number}>"


class RosterMapping(Base):
    """The column mapping last confirmed for an incident, reused when headers match again."""

    __tablename__ = "roster_mapping"

    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True
    )
    mapping: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
