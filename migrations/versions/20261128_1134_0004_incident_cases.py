"""incident cases: reference counter, timeline, tasks and checklists, evidence and custody

Also adds the OCR safeguards list and "other (describe)" texts to the incident, and installs
the default checklist templates from incident_app/data/checklists.json.

Revision ID: 0004
Revises: 0005_ocr
Create Date: 2026-11-28 11:40:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import incident_app.db

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0005_ocr"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKLISTS = Path(__file__).resolve().parents[2] / "incident_app" / "data" / "checklists.json"


def upgrade() -> None:
    op.create_table(
        "reference_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "last_number >= 0", name=op.f("ck_reference_counter_last_number_non_negative")
        ),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_reference_counter")),
    )
    template = op.create_table(
        "checklist_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("breach_types", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_template")),
        sa.UniqueConstraint("name", name=op.f("uq_checklist_template_name")),
    )
    item = op.create_table(
        "checklist_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=True),
        sa.CheckConstraint("due_days >= 0", name=op.f("ck_checklist_item_due_days_non_negative")),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["checklist_template.id"],
            name=op.f("fk_checklist_item_template_id_checklist_template"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_item")),
    )
    with op.batch_alter_table("checklist_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_item_template_id"), ["template_id"], unique=False
        )

    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "in_progress",
                "done",
                "cancelled",
                name="taskstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("checklist_name", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", incident_app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["user.id"], name=op.f("fk_task_assignee_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_task_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_task_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_assignee_status_due", ["assignee_id", "status", "due_on"], unique=False
        )
        batch_op.create_index("ix_task_incident_status", ["incident_id", "status"], unique=False)

    op.create_table(
        "timeline_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "action",
                "status",
                "fact",
                "team",
                "task",
                "file",
                "letter",
                "notice",
                "other",
                name="entrykind",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum(
                "containment",
                "investigation",
                "communication",
                "decision",
                "other",
                name="actioncategory",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("occurred_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_timeline_entry_actor_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["timeline_entry.id"],
            name=op.f("fk_timeline_entry_corrects_id_timeline_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_timeline_entry_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_entry")),
        sa.UniqueConstraint("corrects_id", name=op.f("uq_timeline_entry_corrects_id")),
    )
    with op.batch_alter_table("timeline_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_timeline_entry_incident_occurred", ["incident_id", "occurred_at"], unique=False
        )

    op.create_table(
        "evidence_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "size_bytes >= 0", name=op.f("ck_evidence_file_size_bytes_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_evidence_file_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["user.id"], name=op.f("fk_evidence_file_uploaded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_file")),
        sa.UniqueConstraint(
            "incident_id", "sha256", name=op.f("uq_evidence_file_incident_id_sha256")
        ),
    )
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_file_sha256"), ["sha256"], unique=False)

    op.create_table(
        "custody_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "uploaded",
                "uploaded_again",
                "downloaded",
                name="custodyaction",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("at", incident_app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_custody_event_actor_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_file.id"],
            name=op.f("fk_custody_event_evidence_id_evidence_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_event")),
    )
    with op.batch_alter_table("custody_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custody_event_evidence_id"), ["evidence_id"], unique=False
        )

    # Existing incidents get empty values (the server defaults only serve this backfill).
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("safeguards", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("breach_type_other", sa.String(length=300), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("location_other", sa.String(length=300), nullable=False, server_default="")
        )
        batch_op.create_index("ix_incident_created_at", ["created_at"], unique=False)

    _install_default_checklists(template, item)


def _install_default_checklists(template: sa.Table, item: sa.Table) -> None:
    defaults = json.loads(CHECKLISTS.read_text(encoding="utf-8"))["templates"]
    now = datetime.now(UTC)
    op.bulk_insert(
        template,
        [
            {
                "id": n,
                "name": t["name"],
                "breach_types": t["breach_types"],
                "active": True,
                "updated_at": now,
            }
            for n, t in enumerate(defaults, start=1)
        ],
    )
    op.bulk_insert(
        item,
        [
            {
                "template_id": n,
                "position": position,
                "title": entry["title"],
                "due_days": entry["due_days"],
            }
            for n, t in enumerate(defaults, start=1)
            for position, entry in enumerate(t["items"])
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids above: move the sequence past them.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('checklist_template', 'id'), "
            "(SELECT MAX(id) FROM checklist_template))"
        )


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_created_at")
        batch_op.drop_column("location_other")
        batch_op.drop_column("breach_type_other")
        batch_op.drop_column("safeguards")

    with op.batch_alter_table("custody_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_event_evidence_id"))
    op.drop_table("custody_event")
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_file_sha256"))
    op.drop_table("evidence_file")
    with op.batch_alter_table("timeline_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_entry_incident_occurred")
    op.drop_table("timeline_entry")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_incident_status")
        batch_op.drop_index("ix_task_assignee_status_due")
    op.drop_table("task")
    with op.batch_alter_table("checklist_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_item_template_id"))
    op.drop_table("checklist_item")
    op.drop_table("checklist_template")
    op.drop_table("reference_counter")
