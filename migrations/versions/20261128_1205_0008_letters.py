"""letters: letter, letter_version, review events, notice wording, proof of notice

Also adds the organisation setting that lets privacy officers approve letters.

Revision ID: 0008_letters
Revises: 0009_reminders
Create Date: 2026-11-28 12:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import incident_app.db

revision: str = "0008_letters"
down_revision: str | Sequence[str] | None = "0009_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_wording",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("phi_types", sa.JSON(), nullable=False),
        sa.Column("steps_for_individuals", sa.JSON(), nullable=False),
        sa.Column("what_we_are_doing", sa.JSON(), nullable=False),
        sa.Column("spanish", sa.JSON(), nullable=False),
        sa.Column("media_contact", sa.String(length=300), nullable=False),
        sa.Column("covered_entity_type", sa.String(length=40), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("posting_start", sa.Date(), nullable=True),
        sa.Column("posting_end", sa.Date(), nullable=True),
        sa.Column("toll_free_active_until", sa.Date(), nullable=True),
        sa.Column("substitute_areas", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_notice_wording_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_notice_wording_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_wording")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_notice_wording_incident_id")),
    )
    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("template_name", sa.String(length=100), nullable=False),
        sa.Column("document_id", sa.String(length=40), nullable=False),
        sa.Column("recipient_name", sa.String(length=120), nullable=False),
        sa.Column("recipient_address", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "in_review",
                "changes_requested",
                "approved",
                "sent",
                name="letterstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("current_version_id", sa.Integer(), nullable=True),
        sa.Column("approved_version_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_letter_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_letter_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["obligation_id"], ["obligation.id"], name=op.f("fk_letter_obligation_id_obligation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter")),
        sa.UniqueConstraint("document_id", name=op.f("uq_letter_document_id")),
        sa.UniqueConstraint(
            "obligation_id", "template_name", name=op.f("uq_letter_obligation_id_template_name")
        ),
    )
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_letter_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "letter_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("template_name", sa.String(length=100), nullable=False),
        sa.Column("template_version", sa.String(length=64), nullable=False),
        sa.Column("data_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("letter_date", sa.Date(), nullable=False),
        sa.Column("missing_elements", sa.JSON(), nullable=False),
        sa.Column("content_report", sa.JSON(), nullable=False),
        sa.Column("rendered_by_id", sa.Integer(), nullable=False),
        sa.Column("rendered_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_letter_version_number_positive")),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_letter_version_size_bytes_positive")),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letter.id"],
            name=op.f("fk_letter_version_letter_id_letter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rendered_by_id"], ["user.id"], name=op.f("fk_letter_version_rendered_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_version")),
        sa.UniqueConstraint("letter_id", "number", name=op.f("uq_letter_version_letter_id_number")),
    )
    with op.batch_alter_table("letter_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_letter_version_sha256"), ["sha256"], unique=False)

    # letter and letter_version point at each other: the letter's two version references are
    # added once letter_version exists.
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_letter_current_version_id_letter_version"),
            "letter_version",
            ["current_version_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_letter_approved_version_id_letter_version"),
            "letter_version",
            ["approved_version_id"],
            ["id"],
        )

    op.create_table(
        "letter_review_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "rendered",
                "submitted",
                "changes_requested",
                "approved",
                "approval_voided",
                "sent",
                name="reviewaction",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_letter_review_event_actor_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letter.id"],
            name=op.f("fk_letter_review_event_letter_id_letter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["letter_version.id"],
            name=op.f("fk_letter_review_event_version_id_letter_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_review_event")),
    )
    with op.batch_alter_table("letter_review_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_letter_review_event_letter_id"), ["letter_id"], unique=False
        )

    op.create_table(
        "notice_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("letter_version_id", sa.Integer(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "first_class_mail",
                "email",
                "press_release",
                "hhs_portal",
                "web_posting",
                "hand_delivery",
                name="noticemethod",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("outlets", sa.JSON(), nullable=False),
        sa.Column("transaction_number", sa.String(length=64), nullable=False),
        sa.Column("posting_start", sa.Date(), nullable=True),
        sa.Column("posting_end", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("discovery_on_at_send", sa.Date(), nullable=True),
        sa.Column("due_on_at_send", sa.Date(), nullable=True),
        sa.Column("days_after_discovery", sa.Integer(), nullable=True),
        sa.Column("days_late", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("days_late >= 0", name=op.f("ck_notice_sent_days_late_non_negative")),
        sa.CheckConstraint(
            "posting_end IS NULL OR posting_start IS NULL OR posting_end >= posting_start",
            name=op.f("ck_notice_sent_posting_period_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_notice_sent_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"], ["letter.id"], name=op.f("fk_notice_sent_letter_id_letter")
        ),
        sa.ForeignKeyConstraint(
            ["letter_version_id"],
            ["letter_version.id"],
            name=op.f("fk_notice_sent_letter_version_id_letter_version"),
        ),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["obligation.id"],
            name=op.f("fk_notice_sent_obligation_id_obligation"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user.id"], name=op.f("fk_notice_sent_recorded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_sent")),
    )
    with op.batch_alter_table("notice_sent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_sent_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notice_sent_obligation_id"), ["obligation_id"], unique=False
        )

    op.create_table(
        "notice_proof",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_notice_proof_size_bytes_non_negative")),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notice_sent.id"],
            name=op.f("fk_notice_proof_notice_id_notice_sent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["user.id"], name=op.f("fk_notice_proof_uploaded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_proof")),
    )
    with op.batch_alter_table("notice_proof", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_proof_notice_id"), ["notice_id"], unique=False)

    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "privacy_officer_may_approve",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("privacy_officer_may_approve")
    op.drop_table("notice_proof")
    op.drop_table("notice_sent")
    op.drop_table("letter_review_event")
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_letter_approved_version_id_letter_version"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_letter_current_version_id_letter_version"), type_="foreignkey"
        )
    op.drop_table("letter_version")
    op.drop_table("letter")
    op.drop_table("notice_wording")
