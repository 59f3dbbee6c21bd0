"""REST API personal access tokens with their rate-limit windows, and the append-only
history of HHS annual-log filings (initial reports and addenda).

Revision ID: 0011_api_reports
Revises: 0004
Create Date: 2026-11-28 11:48:52.516373
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import incident_app.db

revision: str = "0011_api_reports"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_api_token_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "api_rate_window",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.CheckConstraint("requests >= 0", name=op.f("ck_api_rate_window_requests_non_negative")),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_token.id"],
            name=op.f("fk_api_rate_window_token_id_api_token"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", "window_start", name=op.f("pk_api_rate_window")),
    )
    op.create_table(
        "hhs_filing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column(
            "report_type",
            sa.Enum("initial", "addendum", name="reporttype", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("reporting_year", sa.Integer(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("transaction_number", sa.String(length=64), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=True),
        sa.Column("affected_count", sa.Integer(), nullable=False),
        sa.Column("portal_fields", sa.JSON(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(report_type = 'initial' AND sequence = 0 AND original_id IS NULL) OR (report_type = 'addendum' AND sequence > 0 AND original_id IS NOT NULL)",
            name=op.f("ck_hhs_filing_initial_or_addendum"),
        ),
        sa.CheckConstraint(
            "affected_count >= 0", name=op.f("ck_hhs_filing_affected_count_non_negative")
        ),
        sa.CheckConstraint("sequence >= 0", name=op.f("ck_hhs_filing_sequence_non_negative")),
        sa.ForeignKeyConstraint(
            ["filed_by_id"], ["user.id"], name=op.f("fk_hhs_filing_filed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_hhs_filing_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["original_id"], ["hhs_filing.id"], name=op.f("fk_hhs_filing_original_id_hhs_filing")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hhs_filing")),
        sa.UniqueConstraint(
            "incident_id", "sequence", name=op.f("uq_hhs_filing_incident_id_sequence")
        ),
    )
    with op.batch_alter_table("hhs_filing", schema=None) as batch_op:
        batch_op.create_index("ix_hhs_filing_reporting_year", ["reporting_year"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hhs_filing", schema=None) as batch_op:
        batch_op.drop_index("ix_hhs_filing_reporting_year")

    op.drop_table("hhs_filing")
    op.drop_table("api_rate_window")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
