"""roster: imports, people (PHI encrypted, clear state/ZIP3/flags), remembered column maps

Revision ID: 0007_roster
Revises: 0006_security
Create Date: 2026-11-28 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import incident_app.db

revision: str = "0007_roster"
down_revision: str | Sequence[str] | None = "0006_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMPORT_STATUSES = (
    "needs_mapping",
    "queued",
    "running",
    "committed",
    "superseded",
    "failed",
    "cancelled",
)
NOTICE_STATUSES = ("pending", "letter_generated", "mailed", "returned_mail", "unreachable")


def upgrade() -> None:
    op.create_table(
        "roster_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*IMPORT_STATUSES, name="importstatus", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column(
            "mode",
            sa.Enum("replace", "append", name="importmode", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("bytes_read", sa.BigInteger(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("rows_merged", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "rows_read >= 0 AND rows_accepted >= 0 AND rows_rejected >= 0",
            name=op.f("ck_roster_import_row_counts_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_roster_import_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            ondelete="CASCADE",
            name=op.f("fk_roster_import_incident_id_incident"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_import")),
    )
    with op.batch_alter_table("roster_import", schema=None) as batch_op:
        batch_op.create_index(
            "ix_roster_import_incident_status", ["incident_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_roster_import_status"), ["status"], unique=False)

    op.create_table(
        "roster_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("phi", sa.LargeBinary(), nullable=False),
        sa.Column("external_index", sa.String(length=32), nullable=True),
        sa.Column("identity_index", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("zip3", sa.String(length=3), nullable=True),
        sa.Column(
            "address_status",
            sa.Enum(
                "sufficient",
                "insufficient",
                "missing",
                name="addressstatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("deceased", sa.Boolean(), nullable=False),
        sa.Column("minor", sa.Boolean(), nullable=False),
        sa.Column("nok_address", sa.Boolean(), nullable=False),
        sa.Column("email_consent", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column(
            "notice_status",
            sa.Enum(*NOTICE_STATUSES, name="noticestatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "notice_method",
            sa.Enum("mail", "email", name="noticemethod", native_enum=False, length=8),
            nullable=True,
        ),
        sa.Column("notice_on", sa.Date(), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("row_number > 0", name=op.f("ck_roster_person_row_number_positive")),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["roster_import.id"],
            ondelete="CASCADE",
            name=op.f("fk_roster_person_import_id_roster_import"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            ondelete="CASCADE",
            name=op.f("fk_roster_person_incident_id_incident"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_person")),
        sa.UniqueConstraint(
            "import_id", "row_number", name=op.f("uq_roster_person_import_id_row_number")
        ),
    )
    with op.batch_alter_table("roster_person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_roster_person_external_index"), ["external_index"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_roster_person_identity_index"), ["identity_index"], unique=False
        )

    op.create_table(
        "roster_mapping",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("updated_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            ondelete="CASCADE",
            name=op.f("fk_roster_mapping_incident_id_incident"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_roster_mapping_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_roster_mapping")),
    )


def downgrade() -> None:
    op.drop_table("roster_mapping")
    with op.batch_alter_table("roster_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_person_identity_index"))
        batch_op.drop_index(batch_op.f("ix_roster_person_external_index"))
    op.drop_table("roster_person")
    with op.batch_alter_table("roster_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_import_status"))
        batch_op.drop_index("ix_roster_import_incident_status")
    op.drop_table("roster_import")
