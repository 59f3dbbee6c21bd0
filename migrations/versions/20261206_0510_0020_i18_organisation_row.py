"""the organisation settings row exists from the start (issue 18)

Until now the row was created on first use, inside whatever request needed it — a GET on a fresh
install flushed an INSERT (and rolled it back), so every page view took SQLite's write lock until
someone saved the settings. Data only; the defaults are the model's.

Revision ID: 0017_i18_organisation_row
Revises: 0017_i19_review_queue
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from incident_app.db import UTCDateTime

revision: str = "0017_i18_organisation_row"
down_revision: str | Sequence[str] | None = "0017_i19_review_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORGANISATION_ID = 1
TEXT = (
    "legal_name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "toll_free_number",
    "email",
    "website",
    "signatory_name",
    "signatory_title",
)
FLAGS = (
    "require_signed_review_to_close",
    "require_proof_to_close_action",
    "privacy_officer_may_approve",
    "email_notice_enabled",
    "public_company",
)


def upgrade() -> None:
    organisation = sa.table(
        "organisation",
        sa.column("id", sa.Integer),
        *(sa.column(name, sa.String) for name in TEXT),
        sa.column("timezone", sa.String),
        sa.column("mfa_required_roles", sa.JSON),
        sa.column("currency", sa.String),
        *(sa.column(name, sa.Boolean) for name in FLAGS),
        sa.column("entity_role", sa.String),
        sa.column("updated_at", UTCDateTime()),
    )
    bind = op.get_bind()
    present = bind.execute(
        sa.select(organisation.c.id).where(organisation.c.id == ORGANISATION_ID)
    ).first()
    if present is None:
        op.bulk_insert(
            organisation,
            [
                {
                    "id": ORGANISATION_ID,
                    **dict.fromkeys(TEXT, ""),
                    "timezone": "America/New_York",
                    "mfa_required_roles": [],
                    "currency": "USD",
                    **dict.fromkeys(FLAGS, False),
                    "entity_role": "covered_entity",
                    "updated_at": datetime.now(UTC),
                }
            ],
        )


def downgrade() -> None:
    pass  # the row holds the organisation's settings: never deleted by a downgrade
