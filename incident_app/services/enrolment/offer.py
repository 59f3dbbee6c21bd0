"""The identity-protection offer as the letters print it, and the state-required offer
lengths shown beside the obligations (rules/identity_protection.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from incident_app.models.incident import Incident
from incident_app.rules import state_table
from incident_app.rules.identity_protection import OfferRequirement
from incident_app.rules.identity_protection import offer_requirements
from incident_app.services.enrolment.assignment import pool_of
from incident_app.services.obligations.evaluation import residents_by_state


def letter_context(session: Session, incident_id: int) -> dict[str, Any]:
    """`{"identity_protection": {...}}` for an individual notice when the incident offers
    identity protection (it has a code pool), else `{}`. Part of the context legal approves:
    changing the offer changes the letter's fingerprint and voids its approval."""
    pool = pool_of(session, incident_id)
    if pool is None:
        return {}
    return {
        "identity_protection": {
            "vendor": pool.vendor,
            "product": pool.product,
            "months": pool.offer_months,
            "url": pool.enrol_url,
            "phone": pool.enrol_phone,
            "enrol_by": pool.enrol_by,
        }
    }


def requirements(session: Session, incident: Incident) -> list[OfferRequirement]:
    """The offer lengths the incident's residents' states require, against its offer.
    No access check: the caller has checked the incident is visible."""
    pool = pool_of(session, incident.id)
    return offer_requirements(
        state_table.state_rules(),
        residents_by_state=residents_by_state(incident),
        discovered_on=incident.treated_known_on,
        offered_months=pool.offer_months if pool else None,
    )
