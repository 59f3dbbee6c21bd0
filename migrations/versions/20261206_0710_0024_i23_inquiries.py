"""inquiries from individuals and returned letters (issue 23): the inquiry log, letters the
post office returned, and the roster's name + date-of-birth blind index

Revision ID: 0024_i23_inquiries
Revises: 0025_i23_drills_faq
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from incident_app.db import UTCDateTime

revision: str = "0024_i23_inquiries"
down_revision: str | Sequence[str] | None = "0025_i23_drills_faq"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(*values: str, length: int) -> sa.Enum:
    return sa.Enum(*values, native_enum=False, length=length)


def upgrade() -> None:
    op.create_table(
        "inquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column(
            "found_by", _enum("letter_code", "name_dob", "not_on_roster", length=16), nullable=False
        ),
        sa.Column("letter_code", sa.String(length=40), nullable=True),
        sa.Column(
            "channel", _enum("phone", "email", "letter", "in_person", length=12), nullable=False
        ),
        sa.Column(
            "category",
            _enum(
                "question",
                "complaint",
                "address_change",
                "copy_request",
                "deceased_notice",
                "media",
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("phi", sa.LargeBinary(), nullable=False),
        sa.Column("status", _enum("open", "closed", length=8), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_inquiry_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["roster_person.id"],
            name=op.f("fk_inquiry_person_id_roster_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["user.id"], name=op.f("fk_inquiry_assignee_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user.id"], name=op.f("fk_inquiry_recorded_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["user.id"], name=op.f("fk_inquiry_closed_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry")),
    )
    op.create_index(
        "ix_inquiry_incident_status_follow_up",
        "inquiry",
        ["incident_id", "status", "follow_up_on"],
    )
    op.create_index("ix_inquiry_incident_received", "inquiry", ["incident_id", "received_at"])
    op.create_index(op.f("ix_inquiry_person_id"), "inquiry", ["person_id"])
    op.create_table(
        "returned_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("mail_letter_id", sa.Integer(), nullable=False),
        sa.Column("letter_code", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("outcome", _enum("remail", "unreachable", length=12), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_returned_letter_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mail_letter_id"],
            ["mail_letter.id"],
            name=op.f("fk_returned_letter_mail_letter_id_mail_letter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["roster_person.id"],
            name=op.f("fk_returned_letter_person_id_roster_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user.id"], name=op.f("fk_returned_letter_recorded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returned_letter")),
        sa.UniqueConstraint("mail_letter_id", name=op.f("uq_returned_letter_mail_letter_id")),
    )
    op.create_index(
        "ix_returned_letter_incident_recorded", "returned_letter", ["incident_id", "recorded_at"]
    )
    op.create_index(op.f("ix_returned_letter_person_id"), "returned_letter", ["person_id"])
    with op.batch_alter_table("roster_person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lookup_index", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_roster_person_lookup_index"), ["lookup_index"])


def downgrade() -> None:
    with op.batch_alter_table("roster_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_person_lookup_index"))
        batch_op.drop_column("lookup_index")
    op.drop_index(op.f("ix_returned_letter_person_id"), table_name="returned_letter")
    op.drop_index("ix_returned_letter_incident_recorded", table_name="returned_letter")
    op.drop_table("returned_letter")
    op.drop_index(op.f("ix_inquiry_person_id"), table_name="inquiry")
    op.drop_index("ix_inquiry_incident_received", table_name="inquiry")
    op.drop_index("ix_inquiry_incident_status_follow_up", table_name="inquiry")
    op.drop_table("inquiry")
