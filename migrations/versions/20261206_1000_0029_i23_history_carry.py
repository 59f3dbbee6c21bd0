"""issue 23 follow-ups: letters, returned letters and inquiries remember the same person's row
in a later roster version (a replace import), so the person page keeps showing them after the
old rows are purged; mail_letter.person_id gets the index the carry-over looks letters up by

Revision ID: 0029_i23_history_carry
Revises: 0028_i21_followups
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_i23_history_carry"
down_revision: str | Sequence[str] | None = "0028_i21_followups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("mail_letter", "returned_letter", "inquiry")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("later_person_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_later_person_id_roster_person"),
                "roster_person",
                ["later_person_id"],
                ["id"],
                ondelete="SET NULL",
            )
            batch_op.create_index(batch_op.f(f"ix_{table}_later_person_id"), ["later_person_id"])
    with op.batch_alter_table("mail_letter", schema=None) as batch_op:
        batch_op.create_index("ix_mail_letter_person_id", ["person_id"])


def downgrade() -> None:
    with op.batch_alter_table("mail_letter", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_letter_person_id")
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_later_person_id"))
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_later_person_id_roster_person"), type_="foreignkey"
            )
            batch_op.drop_column("later_person_id")
