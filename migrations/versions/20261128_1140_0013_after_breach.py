"""after the breach: cost ledger, disruption, corrective action plan, training, post-incident review

Also adds the organisation's reporting currency and its two closing rules (signed review
required to close an incident; proof required to close a corrective action).

Revision ID: 0013_after_breach
Revises: 0011_api_reports
Create Date: 2026-11-28 11:39:30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import incident_app.db

revision: str = "0013_after_breach"
down_revision: str | Sequence[str] | None = "0011_api_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disruption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "system_outage",
                "billing_halt",
                "claims_halt",
                name="disruptionkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("started_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claims_delayed_count", sa.Integer(), nullable=False),
        sa.Column("claims_delayed_cents", sa.BigInteger(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "claims_delayed_cents >= 0", name=op.f("ck_disruption_claims_value_non_negative")
        ),
        sa.CheckConstraint(
            "claims_delayed_count >= 0", name=op.f("ck_disruption_claims_count_non_negative")
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_disruption_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_disruption_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_disruption_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disruption")),
    )

    with op.batch_alter_table("disruption", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disruption_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "review_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("timeline_summary", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("what_worked", sa.Text(), nullable=False),
        sa.Column("what_did_not", sa.Text(), nullable=False),
        sa.Column("control_gaps", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_sha256", sa.String(length=64), nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_review_version_number_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_review_version_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_review_version_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["user.id"], name=op.f("fk_review_version_signed_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_version")),
        sa.UniqueConstraint(
            "incident_id", "number", name=op.f("uq_review_version_incident_id_number")
        ),
    )

    op.create_table(
        "corrective_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("ocr_code", sa.String(length=60), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "done",
                "cancelled",
                name="actionstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("completed_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("completion_note", sa.Text(), nullable=False),
        sa.Column("proof_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status != 'done' OR completed_at IS NOT NULL",
            name=op.f("ck_corrective_action_done_has_completion"),
        ),
        sa.ForeignKeyConstraint(
            ["completed_by_id"], ["user.id"], name=op.f("fk_corrective_action_completed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_corrective_action_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_corrective_action_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user.id"], name=op.f("fk_corrective_action_owner_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["proof_id"],
            ["evidence_file.id"],
            name=op.f("fk_corrective_action_proof_id_evidence_file"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrective_action")),
    )

    with op.batch_alter_table("corrective_action", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_corrective_action_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index("ix_corrective_action_status_due", ["status", "due_on"], unique=False)

    op.create_table(
        "cost_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "forensic_investigation",
                "outside_counsel",
                "notification_mailing",
                "call_centre",
                "credit_monitoring",
                "regulatory_fines",
                "litigation",
                "system_restoration",
                "staff_overtime",
                "lost_revenue",
                "other",
                name="costcategory",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "basis",
            sa.Enum("estimated", "actual", name="costbasis", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("exchange_rate", sa.Numeric(precision=18, scale=8), nullable=True),
        sa.Column("reporting_cents", sa.BigInteger(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column("invoice_reference", sa.String(length=500), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_cost_entry_amount_positive")),
        sa.CheckConstraint(
            "exchange_rate IS NULL OR exchange_rate > 0", name=op.f("ck_cost_entry_rate_positive")
        ),
        sa.CheckConstraint(
            "reporting_cents >= 0", name=op.f("ck_cost_entry_reporting_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_cost_entry_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_file.id"],
            name=op.f("fk_cost_entry_evidence_id_evidence_file"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_cost_entry_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_entry")),
    )

    with op.batch_alter_table("cost_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cost_entry_incident_spent", ["incident_id", "spent_on"], unique=False
        )

    op.create_table(
        "training_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("trainee", sa.String(length=200), nullable=False),
        sa.Column("trained_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("attestation_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attestation_id"],
            ["evidence_file.id"],
            name=op.f("fk_training_record_attestation_id_evidence_file"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_training_record_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_training_record_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_record")),
    )

    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_record_incident_id"), ["incident_id"], unique=False
        )

    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "require_signed_review_to_close",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "require_proof_to_close_action",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("require_proof_to_close_action")
        batch_op.drop_column("require_signed_review_to_close")
        batch_op.drop_column("currency")

    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_record_incident_id"))

    op.drop_table("training_record")

    with op.batch_alter_table("cost_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_cost_entry_incident_spent")

    op.drop_table("cost_entry")

    with op.batch_alter_table("corrective_action", schema=None) as batch_op:
        batch_op.drop_index("ix_corrective_action_status_due")
        batch_op.drop_index(batch_op.f("ix_corrective_action_incident_id"))

    op.drop_table("corrective_action")

    op.drop_table("review_version")

    with op.batch_alter_table("disruption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disruption_incident_id"))

    op.drop_table("disruption")
