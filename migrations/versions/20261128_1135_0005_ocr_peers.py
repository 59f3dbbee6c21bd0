"""ocr peers: OCR breach-portal reference table and its tag index

Revision ID: 0005_ocr
Revises: 0007_roster
Create Date: 2026-11-28 11:35:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ocr"
down_revision: str | Sequence[str] | None = "0007_roster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocr_breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("filing_key", sa.String(length=64), nullable=False),
        sa.Column("repeated_filing", sa.Boolean(), nullable=False),
        sa.Column("entity_name", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("entity_type", sa.String(length=60), nullable=True),
        sa.Column("individuals_affected", sa.Integer(), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("breach_types", sa.JSON(), nullable=False),
        sa.Column("locations", sa.JSON(), nullable=False),
        sa.Column("business_associate_present", sa.Boolean(), nullable=False),
        sa.Column("web_description", sa.Text(), nullable=True),
        sa.Column("portal_list", sa.String(length=40), nullable=True),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "individuals_affected >= 0",
            name=op.f("ck_ocr_breach_individuals_affected_non_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocr_breach")),
        sa.UniqueConstraint("row_key", name=op.f("uq_ocr_breach_row_key")),
    )
    with op.batch_alter_table("ocr_breach", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ocr_breach_entity_affected", ["entity_type", "individuals_affected"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ocr_breach_filing_key"), ["filing_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ocr_breach_individuals_affected"),
            ["individuals_affected"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_ocr_breach_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ocr_breach_submitted_on"), ["submitted_on"], unique=False
        )

    op.create_table(
        "ocr_breach_tag",
        sa.Column("breach_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "type", "location", "action", "flag", name="tagkind", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "kind IN ('type', 'location', 'action', 'flag')",
            name=op.f("ck_ocr_breach_tag_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["breach_id"],
            ["ocr_breach.id"],
            name=op.f("fk_ocr_breach_tag_breach_id_ocr_breach"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("breach_id", "kind", "value", name=op.f("pk_ocr_breach_tag")),
    )
    with op.batch_alter_table("ocr_breach_tag", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ocr_breach_tag_kind_value", ["kind", "value", "breach_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ocr_breach_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_ocr_breach_tag_kind_value")
    op.drop_table("ocr_breach_tag")

    with op.batch_alter_table("ocr_breach", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ocr_breach_submitted_on"))
        batch_op.drop_index(batch_op.f("ix_ocr_breach_state"))
        batch_op.drop_index(batch_op.f("ix_ocr_breach_individuals_affected"))
        batch_op.drop_index(batch_op.f("ix_ocr_breach_filing_key"))
        batch_op.drop_index("ix_ocr_breach_entity_affected")
    op.drop_table("ocr_breach")
