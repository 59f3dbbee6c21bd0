"""business-associate mode, second part (issue 21): client contacts (users who speak for one
covered-entity client), whether we are a client's agent, a delegating client's own mail-merge batches, the 164.410 notices to each client with their supplements, and who
each notice identified

Revision ID: 0026_i21_contacts
Revises: 0023_i23_codes
Create Date: 2026-12-06 06:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from incident_app.db import UTCDateTime

revision: str = "0026_i21_contacts"
down_revision: str | Sequence[str] | None = "0023_i23_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("business_associate_is_agent", sa.Boolean(), nullable=True))
    with op.batch_alter_table("mail_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_mail_batch_client_id_client"), "client", ["client_id"], ["id"]
        )
    op.create_table(
        "client_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("invited_at", UTCDateTime(), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_client_contact_client_id_client")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["user.id"], name=op.f("fk_client_contact_invited_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_client_contact_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_contact")),
        sa.UniqueConstraint("user_id", name=op.f("uq_client_contact_user_id")),
    )
    with op.batch_alter_table("client_contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_contact_client_id"), ["client_id"])
    op.create_table(
        "client_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("identities_sha256", sa.String(length=64), nullable=True),
        sa.Column("identities_count", sa.Integer(), nullable=False),
        sa.Column("drafted_at", UTCDateTime(), nullable=False),
        sa.Column("drafted_by_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("number > 0", name=op.f("ck_client_notice_number_positive")),
        sa.CheckConstraint(
            "identities_count >= 0", name=op.f("ck_client_notice_identities_count_non_negative")
        ),
        sa.CheckConstraint(
            "acknowledged_at IS NULL OR sent_at IS NOT NULL",
            name=op.f("ck_client_notice_acknowledged_after_sent"),
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["user.id"],
            name=op.f("fk_client_notice_acknowledged_by_id_user"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_client_notice_client_id_client")
        ),
        sa.ForeignKeyConstraint(
            ["drafted_by_id"], ["user.id"], name=op.f("fk_client_notice_drafted_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_client_notice_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"], ["user.id"], name=op.f("fk_client_notice_sent_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_notice")),
        sa.UniqueConstraint(
            "incident_id",
            "client_id",
            "number",
            name=op.f("uq_client_notice_incident_id_client_id_number"),
        ),
    )
    with op.batch_alter_table("client_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_notice_client_id"), ["client_id"])
    op.create_table(
        "client_notice_person",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=48), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["client_notice.id"],
            name=op.f("fk_client_notice_person_notice_id_client_notice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notice_id", "person_key", name=op.f("pk_client_notice_person")),
    )


def downgrade() -> None:
    op.drop_table("client_notice_person")
    with op.batch_alter_table("client_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_notice_client_id"))
    op.drop_table("client_notice")
    with op.batch_alter_table("client_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_contact_client_id"))
    op.drop_table("client_contact")
    with op.batch_alter_table("mail_batch", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_mail_batch_client_id_client"), type_="foreignkey")
        batch_op.drop_column("client_id")
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("business_associate_is_agent")
