"""The organisation's settings for the impact area: the reporting currency and the two
closing rules (a signed review before an incident closes, proof before an action is done).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import ValidationFailed
from incident_app.models.impact import CostEntry
from incident_app.models.organisation import Organisation
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.impact.money import check_currency
from incident_app.services.organisation import get_organisation


@dataclass(frozen=True)
class ImpactSettings:
    currency: str
    require_signed_review_to_close: bool
    require_proof_to_close_action: bool


def update_settings(
    session: Session, *, actor: User, settings: ImpactSettings, now: datetime
) -> Organisation:
    """Reporting currency and the two closing rules. The currency cannot change once costs
    are recorded (their converted amounts are in the old one). Commits once."""
    require(actor, Capability.MANAGE_SETTINGS)
    org = get_organisation(session)
    currency = check_currency(settings.currency)
    if currency != org.currency and session.scalar(sa.select(sa.func.count(CostEntry.id))):
        raise ValidationFailed(
            f"Costs are already recorded in {org.currency}; the reporting currency cannot "
            "change any more.",
            field="currency",
        )
    wanted = {
        "currency": currency,
        "require_signed_review_to_close": settings.require_signed_review_to_close,
        "require_proof_to_close_action": settings.require_proof_to_close_action,
    }
    changes = {k: [getattr(org, k), v] for k, v in wanted.items() if getattr(org, k) != v}
    for name, value in wanted.items():
        setattr(org, name, value)
    if changes:
        org.updated_at = now
        audit.record(
            session,
            actor=actor,
            action="settings.updated",
            at=now,
            subject_type="organisation",
            subject_id=org.id,
            details=changes,
        )
    session.commit()
    return org
