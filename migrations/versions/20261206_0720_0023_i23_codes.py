"""identity-protection enrollment codes (issue 23): a pool per incident with the vendor's
offer, the imported files, and the codes (encrypted, blind-indexed, one per person)

Revision ID: 0023_i23_codes
Revises: 0024_i23_inquiries
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from incident_app.db import UTCDateTime

revision: str = "0023_i23_codes"
down_revision: str | Sequence[str] | None = "0024_i23_inquiries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=120), nullable=False),
        sa.Column("product", sa.String(length=120), nullable=False),
        sa.Column("offer_months", sa.Integer(), nullable=False),
        sa.Column("enrol_url", sa.String(length=200), nullable=False),
        sa.Column("enrol_phone", sa.String(length=40), nullable=False),
        sa.Column("enrol_by", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "offer_months BETWEEN 1 AND 120", name=op.f("ck_code_pool_offer_months_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_code_pool_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_code_pool_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_pool")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_code_pool_incident_id")),
    )
    op.create_table(
        "code_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("codes", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_code_import_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["code_pool.id"],
            name=op.f("fk_code_import_pool_id_code_pool"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_import")),
    )
    op.create_index(op.f("ix_code_import_pool_id"), "code_import", ["pool_id"], unique=False)
    op.create_table(
        "enrolment_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("code_index", sa.String(length=32), nullable=False),
        sa.Column("code", sa.LargeBinary(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", UTCDateTime(), nullable=True),
        sa.Column("letter_code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["code_import.id"],
            name=op.f("fk_enrolment_code_import_id_code_import"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["roster_person.id"],
            name=op.f("fk_enrolment_code_person_id_roster_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["code_pool.id"],
            name=op.f("fk_enrolment_code_pool_id_code_pool"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_code")),
        sa.UniqueConstraint("code_index", name=op.f("uq_enrolment_code_code_index")),
        sa.UniqueConstraint("person_id", name=op.f("uq_enrolment_code_person_id")),
    )
    op.create_index(
        "ix_enrolment_code_pool_id_assigned_at",
        "enrolment_code",
        ["pool_id", "assigned_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_enrolment_code_pool_id_assigned_at", table_name="enrolment_code")
    op.drop_table("enrolment_code")
    op.drop_index(op.f("ix_code_import_pool_id"), table_name="code_import")
    op.drop_table("code_import")
    op.drop_table("code_pool")
