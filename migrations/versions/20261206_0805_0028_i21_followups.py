"""issue 21 follow-ups: the number of business days after which a sent client notice still
unacknowledged is reminded to the privacy officers (organisation setting, default 5)

Revision ID: 0028_i21_followups
Revises: 0026_i21_contacts
Create Date: 2026-12-06 08:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_i21_followups"
down_revision: str | Sequence[str] | None = "0026_i21_contacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("client_ack_business_days", sa.Integer(), server_default="5", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("client_ack_business_days")
