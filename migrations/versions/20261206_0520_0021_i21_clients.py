"""business-associate mode (issue 21): the covered-entity client registry, the clients an
incident touched, the client of each roster row, and the "also a business associate" setting

Revision ID: 0020_i21_clients
Revises: 0017_i18_organisation_row
Create Date: 2026-12-06 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from incident_app.db import UTCDateTime

revision: str = "0020_i21_clients"
down_revision: str | Sequence[str] | None = "0017_i18_organisation_row"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("notice_period_count", sa.Integer(), nullable=True),
        sa.Column(
            "notice_period_unit",
            sa.Enum(
                "calendar_days", "business_days", name="periodunit", native_enum=False, length=16
            ),
            nullable=True,
        ),
        sa.Column("delegates_individual_notice", sa.Boolean(), nullable=False),
        sa.Column("letterhead_name", sa.String(length=200), nullable=False),
        sa.Column("letterhead_address", sa.Text(), nullable=False),
        sa.Column("signatory_name", sa.String(length=200), nullable=False),
        sa.Column("signatory_title", sa.String(length=200), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_mime", sa.String(length=40), nullable=True),
        sa.Column("baa_sha256", sa.String(length=64), nullable=True),
        sa.Column("baa_filename", sa.String(length=255), nullable=True),
        sa.Column("baa_content_type", sa.String(length=100), nullable=True),
        sa.Column("baa_uploaded_at", UTCDateTime(), nullable=True),
        sa.Column("baa_uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "notice_period_count IS NULL OR notice_period_count > 0",
            name=op.f("ck_client_notice_period_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["baa_uploaded_by_id"], ["user.id"], name=op.f("fk_client_baa_uploaded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client")),
        sa.UniqueConstraint("name", name=op.f("uq_client_name")),
    )
    op.create_table(
        "incident_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["user.id"], name=op.f("fk_incident_client_added_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_incident_client_client_id_client")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_incident_client_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_client")),
        sa.UniqueConstraint(
            "incident_id", "client_id", name=op.f("uq_incident_client_incident_id_client_id")
        ),
    )
    with op.batch_alter_table("incident_client", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_client_client_id"), ["client_id"], unique=False
        )
    with op.batch_alter_table("roster_person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_roster_person_client_id"), ["client_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_roster_person_client_id_client"), "client", ["client_id"], ["id"]
        )
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "acts_as_business_associate",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("acts_as_business_associate")
    with op.batch_alter_table("roster_person", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_roster_person_client_id_client"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_roster_person_client_id"))
        batch_op.drop_column("client_id")
    with op.batch_alter_table("incident_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_client_client_id"))
    op.drop_table("incident_client")
    op.drop_table("client")
