"""issue 21 follow-ups: account invitations (a one-time set-password link sent by email)

Revision ID: 0030_i21_invitations
Revises: 0029_i23_history_carry
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_i21_invitations"
down_revision: str | Sequence[str] | None = "0029_i23_history_carry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_account_invitation_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_account_invitation_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_invitation_token_hash")),
    )
    op.create_index(
        op.f("ix_account_invitation_user_id"), "account_invitation", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_account_invitation_user_id"), table_name="account_invitation")
    op.drop_table("account_invitation")
