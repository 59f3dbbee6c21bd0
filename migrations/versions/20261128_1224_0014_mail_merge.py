"""mail merge: batches, chunks, one letter row per (batch, person); org email-notice setting

Revision ID: 0014_mail_merge
Revises: 0008_letters
Create Date: 2026-11-28 12:24:32.497620
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import incident_app.db

revision: str = "0014_mail_merge"
down_revision: str | Sequence[str] | None = "0008_letters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("letter_version_id", sa.Integer(), nullable=False),
        sa.Column("template_name", sa.String(length=100), nullable=False),
        sa.Column("template_version", sa.String(length=64), nullable=False),
        sa.Column("sample_sha256", sa.String(length=64), nullable=False),
        sa.Column("data_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("letter_date", sa.Date(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "paused",
                "completed",
                "cancelled",
                "failed",
                name="batchstatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("mail_count", sa.Integer(), nullable=False),
        sa.Column("email_count", sa.Integer(), nullable=False),
        sa.Column("substitute_count", sa.Integer(), nullable=False),
        sa.Column("no_contact_count", sa.Integer(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("proof_sha256", sa.String(length=64), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("chunk_size > 0", name=op.f("ck_mail_batch_chunk_size_positive")),
        sa.CheckConstraint(
            "mail_count >= 0 AND email_count >= 0 AND substitute_count >= 0 AND no_contact_count >= 0",
            name=op.f("ck_mail_batch_counts_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_mail_batch_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"], ["letter.id"], name=op.f("fk_mail_batch_letter_id_letter")
        ),
        sa.ForeignKeyConstraint(
            ["letter_version_id"],
            ["letter_version.id"],
            name=op.f("fk_mail_batch_letter_version_id_letter_version"),
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["user.id"], name=op.f("fk_mail_batch_started_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_batch")),
    )
    with op.batch_alter_table("mail_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mail_batch_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mail_batch_status"), ["status"], unique=False)

    op.create_table(
        "mail_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("first_sequence", sa.Integer(), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "running", "done", name="chunkstatus", native_enum=False, length=12),
            nullable=False,
        ),
        sa.Column("claimed_by", sa.String(length=120), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=False),
        sa.Column("heartbeat_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("print_sha256", sa.String(length=64), nullable=True),
        sa.Column("print_pages", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("letters", sa.Integer(), nullable=False),
        sa.Column("finished_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_mail_chunk_number_positive")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["mail_batch.id"],
            name=op.f("fk_mail_chunk_batch_id_mail_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_chunk")),
        sa.UniqueConstraint("batch_id", "number", name=op.f("uq_mail_chunk_batch_id_number")),
    )
    with op.batch_alter_table("mail_chunk", schema=None) as batch_op:
        batch_op.create_index("ix_mail_chunk_status_batch_id", ["status", "batch_id"], unique=False)

    op.create_table(
        "mail_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("chunk_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("letter_code", sa.String(length=40), nullable=False),
        sa.Column(
            "route",
            sa.Enum("mail", "email", name="route", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column(
            "variant",
            sa.Enum(
                "adult",
                "minor",
                "deceased",
                "spanish",
                name="variant",
                native_enum=False,
                length=12,
            ),
            nullable=True,
        ),
        sa.Column(
            "state",
            sa.Enum("done", "failed", "retry", name="letterstate", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["mail_batch.id"],
            name=op.f("fk_mail_letter_batch_id_mail_batch"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["chunk_id"],
            ["mail_chunk.id"],
            name=op.f("fk_mail_letter_chunk_id_mail_chunk"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["roster_person.id"],
            name=op.f("fk_mail_letter_person_id_roster_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_letter")),
        sa.UniqueConstraint(
            "batch_id", "person_id", name=op.f("uq_mail_letter_batch_id_person_id")
        ),
        sa.UniqueConstraint("letter_code", name=op.f("uq_mail_letter_letter_code")),
    )
    with op.batch_alter_table("mail_letter", schema=None) as batch_op:
        batch_op.create_index("ix_mail_letter_batch_id_state", ["batch_id", "state"], unique=False)
        batch_op.create_index("ix_mail_letter_chunk_id", ["chunk_id"], unique=False)

    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "email_notice_enabled", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("email_notice_enabled")

    with op.batch_alter_table("mail_letter", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_letter_chunk_id")
        batch_op.drop_index("ix_mail_letter_batch_id_state")

    op.drop_table("mail_letter")
    with op.batch_alter_table("mail_chunk", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_chunk_status_batch_id")

    op.drop_table("mail_chunk")
    with op.batch_alter_table("mail_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_batch_status"))
        batch_op.drop_index(batch_op.f("ix_mail_batch_incident_id"))

    op.drop_table("mail_batch")
