"""incidents: case file, team, state counts, law-enforcement statements, obligations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 11:32:23.434867
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import incident_app.db

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("how_found", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "containment",
                "investigation",
                "risk_assessment",
                "notification",
                "monitoring",
                "closed",
                "closed_not_a_breach",
                name="incidentstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("occurred_from", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("occurred_to", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("discovered_on", sa.Date(), nullable=True),
        sa.Column("discovered_by", sa.String(length=200), nullable=False),
        sa.Column("diligence_known_on", sa.Date(), nullable=True),
        sa.Column("diligence_justification", sa.Text(), nullable=False),
        sa.Column("breach_types", sa.JSON(), nullable=False),
        sa.Column("locations", sa.JSON(), nullable=False),
        sa.Column("phi_types", sa.JSON(), nullable=False),
        sa.Column("systems_involved", sa.Text(), nullable=False),
        sa.Column("affected_estimate", sa.Integer(), nullable=False),
        sa.Column("roster_total", sa.Integer(), nullable=True),
        sa.Column("insufficient_contact_living", sa.Integer(), nullable=True),
        sa.Column("ba_involved", sa.Boolean(), nullable=False),
        sa.Column("ba_name", sa.String(length=200), nullable=False),
        sa.Column("ba_contact", sa.String(length=300), nullable=False),
        sa.Column("ba_discovered_on", sa.Date(), nullable=True),
        sa.Column("ba_notified_on", sa.Date(), nullable=True),
        sa.Column("ba_is_agent", sa.Boolean(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "affected_estimate >= 0", name=op.f("ck_incident_affected_estimate_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_incident_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
        sa.UniqueConstraint("reference", name=op.f("uq_incident_reference")),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_discovered_on"), ["discovered_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incident_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_incident_status_discovered", ["status", "discovered_on"], unique=False
        )

    op.create_table(
        "incident_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "case_role",
            sa.Enum("lead", "responder", "legal", name="caserole", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("added_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["user.id"], name=op.f("fk_incident_member_added_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_incident_member_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_incident_member_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_member")),
        sa.UniqueConstraint(
            "incident_id", "user_id", name=op.f("uq_incident_member_incident_id_user_id")
        ),
    )
    with op.batch_alter_table("incident_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_member_user_id"), ["user_id"], unique=False)

    op.create_table(
        "law_enforcement_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "form",
            sa.Enum("oral", "written", name="statementform", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("official_name", sa.String(length=200), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=False),
        sa.Column("stated_on", sa.Date(), nullable=False),
        sa.Column("delay_until", sa.Date(), nullable=True),
        sa.Column("written_received_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_law_enforcement_statement_created_by_id_user"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_law_enforcement_statement_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_law_enforcement_statement")),
    )
    with op.batch_alter_table("law_enforcement_statement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_law_enforcement_statement_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "obligation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("jurisdiction", sa.String(length=4), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("citation", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_obligation_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation")),
        sa.UniqueConstraint(
            "incident_id",
            "kind",
            "jurisdiction",
            name=op.f("uq_obligation_incident_id_kind_jurisdiction"),
        ),
    )
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.create_index("ix_obligation_active_due", ["active", "due_on"], unique=False)

    op.create_table(
        "state_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("estimate", "roster", name="countsource", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.CheckConstraint("residents >= 0", name=op.f("ck_state_count_residents_non_negative")),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_state_count_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_state_count")),
        sa.UniqueConstraint(
            "incident_id", "source", "state", name=op.f("uq_state_count_incident_id_source_state")
        ),
    )


def downgrade() -> None:
    op.drop_table("state_count")
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_index("ix_obligation_active_due")

    op.drop_table("obligation")
    with op.batch_alter_table("law_enforcement_statement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_law_enforcement_statement_incident_id"))

    op.drop_table("law_enforcement_statement")
    with op.batch_alter_table("incident_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_member_user_id"))

    op.drop_table("incident_member")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_status_discovered")
        batch_op.drop_index(batch_op.f("ix_incident_status"))
        batch_op.drop_index(batch_op.f("ix_incident_discovered_on"))

    op.drop_table("incident")
