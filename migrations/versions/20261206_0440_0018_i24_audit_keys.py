"""keyed audit chain (issue 24): key id and HMAC on every audit event and on the chain head

Existing rows keep a NULL key id and MAC: `flask audit verify` accepts them under the legacy
rule (a contiguous prefix of the chain, protected by the hash chain and the first keyed row)
until `flask audit rekey` signs each of them with the audit key (see services/audit.py).

Revision ID: 0017_i24_audit_keys
Revises: 0017_i17_letters
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_i24_audit_keys"
down_revision: str | Sequence[str] | None = "0017_i17_letters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    # The head must exist (a missing head is an error, never a skip): 0001 created it; a
    # database whose head row was removed since gets it back only if it has no events at all.
    connection = op.get_bind()
    has_head = connection.scalar(sa.text("SELECT COUNT(*) FROM audit_chain_head"))
    has_events = connection.scalar(sa.text("SELECT COUNT(*) FROM audit_event"))
    if not has_head and not has_events:
        op.execute(
            "INSERT INTO audit_chain_head (id, seq, last_hash) VALUES (1, 0, '"
            + GENESIS_HASH
            + "')"
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_column("mac")
        batch_op.drop_column("key_id")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("mac")
        batch_op.drop_column("key_id")
