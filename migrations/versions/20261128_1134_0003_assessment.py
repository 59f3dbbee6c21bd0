"""assessment: risk assessment versions, stored determination, obligation overrides

The obligation key gains source_key (empty for HIPAA obligations, the statute for state ones):
California and New York each have two statutes requiring notice to the same recipient.

Revision ID: 0003_assessment
Revises: 0002
Create Date: 2026-11-28 11:34:32.036001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import incident_app.db

revision: str = "0003_assessment"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("not_phi_or_permitted", sa.Boolean(), nullable=False),
        sa.Column("phi_secured", sa.Boolean(), nullable=False),
        sa.Column("exception", sa.String(length=40), nullable=True),
        sa.Column(
            "conclusion",
            sa.Enum(
                "undecided",
                "breach",
                "low_probability",
                name="conclusion",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_assessment_version_number_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_assessment_version_created_by_id_user"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_assessment_version_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["user.id"], name=op.f("fk_assessment_version_signed_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_version")),
        sa.UniqueConstraint(
            "incident_id", "number", name=op.f("uq_assessment_version_incident_id_number")
        ),
    )
    op.create_table(
        "determination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("reportable", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("treated_discovery_on", sa.Date(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("assessment_version_id", sa.Integer(), nullable=True),
        sa.Column("computed_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("override_reportable", sa.Boolean(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=False),
        sa.Column("override_by_id", sa.Integer(), nullable=True),
        sa.Column("override_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_version_id"],
            ["assessment_version.id"],
            name=op.f("fk_determination_assessment_version_id_assessment_version"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_determination_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["override_by_id"], ["user.id"], name=op.f("fk_determination_override_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_determination")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_determination_incident_id")),
    )
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        # Existing rows are all HIPAA obligations or one-per-state: an empty key keeps them.
        batch_op.add_column(
            sa.Column("source_key", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("override_due_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("override_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("override_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("override_at", incident_app.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint("uq_obligation_incident_id_kind_jurisdiction", type_="unique")
        batch_op.create_unique_constraint(
            "uq_obligation_incident_id_kind_jurisdiction_source_key",
            ["incident_id", "kind", "jurisdiction", "source_key"],
        )
        batch_op.create_foreign_key(
            "fk_obligation_override_by_id_user", "user", ["override_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_constraint("fk_obligation_override_by_id_user", type_="foreignkey")
        batch_op.drop_constraint(
            "uq_obligation_incident_id_kind_jurisdiction_source_key", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_obligation_incident_id_kind_jurisdiction", ["incident_id", "kind", "jurisdiction"]
        )
        batch_op.drop_column("override_at")
        batch_op.drop_column("override_by_id")
        batch_op.drop_column("override_reason")
        batch_op.drop_column("override_due_on")
        batch_op.drop_column("source_key")

    op.drop_table("determination")
    op.drop_table("assessment_version")
