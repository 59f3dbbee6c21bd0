"""letters for the regimes beyond HIPAA (issue 17): notice wording the CRA, FTC, GDPR Art. 33/34
and SEC Item 1.05 documents print

Revision ID: 0017_i17_letters
Revises: 0016_regimes
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_i17_letters"
down_revision: str | Sequence[str] | None = "0016_regimes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT_COLUMNS = ("gdpr_delay_reasons", "sec_material_impact")
LIST_COLUMNS = ("gdpr_subject_categories", "gdpr_consequences")


def upgrade() -> None:
    with op.batch_alter_table("notice_wording", schema=None) as batch_op:
        batch_op.add_column(sa.Column("residents_mailing_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("acquired_by", sa.String(length=300), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "gdpr_contact_point", sa.String(length=300), server_default="", nullable=False
            )
        )
        for name in LIST_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("gdpr_records", sa.Integer(), nullable=True))
        for name in TEXT_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("notice_wording", schema=None) as batch_op:
        for name in (
            *TEXT_COLUMNS,
            "gdpr_records",
            *LIST_COLUMNS,
            "gdpr_contact_point",
            "acquired_by",
            "residents_mailing_on",
        ):
            batch_op.drop_column(name)
