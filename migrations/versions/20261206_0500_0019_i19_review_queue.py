"""legal review queue (issue 19): the reviewer a letter was sent to and when; the kind of an
in-app notification (deadline reminder or letter sent for review)

Revision ID: 0017_i19_review_queue
Revises: 0017_i24_audit_keys
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from incident_app.db import UTCDateTime

revision: str = "0017_i19_review_queue"
down_revision: str | Sequence[str] | None = "0017_i24_audit_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reviewer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("review_requested_at", UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_letter_reviewer_id"), ["reviewer_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_letter_reviewer_id_user"), "user", ["reviewer_id"], ["id"]
        )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "reminder",
                    "letter_review",
                    name="notificationkind",
                    native_enum=False,
                    length=40,
                ),
                server_default="reminder",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_letter_reviewer_id_user"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_letter_reviewer_id"))
        batch_op.drop_column("review_requested_at")
        batch_op.drop_column("reviewer_id")
