"""regimes beyond HIPAA (issue 17): Part 2 records, licensed-facility states, GDPR facts, SEC
materiality date on the incident; entity role and public company on the organisation; hour-precise
due time on obligations

Revision ID: 0016_regimes
Revises: 0015_roster_identity_unindexed
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from incident_app.db import UTCDateTime

revision: str = "0016_regimes"
down_revision: str | Sequence[str] | None = "0015_roster_identity_unindexed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("part2_records", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("licensed_facility_states", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("eu_data_subjects", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("gdpr_aware_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("gdpr_high_risk", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("gdpr_controller", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("materiality_determined_on", sa.Date(), nullable=True))
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "entity_role",
                sa.String(length=40),
                server_default="covered_entity",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("public_company", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_column("due_at")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("public_company")
        batch_op.drop_column("entity_role")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("materiality_determined_on")
        batch_op.drop_column("gdpr_controller")
        batch_op.drop_column("gdpr_high_risk")
        batch_op.drop_column("gdpr_aware_at")
        batch_op.drop_column("eu_data_subjects")
        batch_op.drop_column("licensed_facility_states")
        batch_op.drop_column("part2_records")
