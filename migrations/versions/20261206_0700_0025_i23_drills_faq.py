"""tabletop exercises (issue 23): incident.exercise, set at intake and never changed

Revision ID: 0025_i23_drills_faq
Revises: 0020_i19b_mailed
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_i23_drills_faq"
down_revision: str | Sequence[str] | None = "0020_i19b_mailed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exercise", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_incident_exercise"), ["exercise"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_exercise"))
        batch_op.drop_column("exercise")
