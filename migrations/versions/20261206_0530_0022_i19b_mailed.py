"""a mailing recorded as mailed (issue 19): the date the mail house mailed the batch, who
recorded it and when

Revision ID: 0020_i19b_mailed
Revises: 0020_i21_clients
Create Date: 2026-12-06 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from incident_app.db import UTCDateTime

revision: str = "0020_i19b_mailed"
down_revision: str | Sequence[str] | None = "0020_i21_clients"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mail_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mailed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("mailed_recorded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("mailed_recorded_at", UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_mail_batch_mailed_recorded_by_id_user"),
            "user",
            ["mailed_recorded_by_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("mail_batch", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_mail_batch_mailed_recorded_by_id_user"), type_="foreignkey"
        )
        batch_op.drop_column("mailed_recorded_at")
        batch_op.drop_column("mailed_recorded_by_id")
        batch_op.drop_column("mailed_on")
