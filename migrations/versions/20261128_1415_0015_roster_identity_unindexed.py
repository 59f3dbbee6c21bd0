"""roster: the identity blind index is no longer indexed (only the duplicate merge reads it,
with one GROUP BY per import; the index cost a random B-tree insert per imported person)

Revision ID: 0015_roster_identity_unindexed
Revises: 0014_mail_merge
Create Date: 2026-11-28 14:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015_roster_identity_unindexed"
down_revision: str | Sequence[str] | None = "0014_mail_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("roster_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_person_identity_index"))


def downgrade() -> None:
    with op.batch_alter_table("roster_person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_roster_person_identity_index"), ["identity_index"], unique=False
        )
