"""Cost entries of an incident: recorded with their invoice (optional), converted into the
organisation's currency, deleted when entered in error; every change audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.impact import CostBasis
from incident_app.models.impact import CostCategory
from incident_app.models.impact import CostEntry
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import evidence as evidence_service
from incident_app.services.impact import attachments
from incident_app.services.impact.money import check_currency
from incident_app.services.impact.money import convert
from incident_app.services.impact.money import parse_amount
from incident_app.services.impact.money import parse_choice
from incident_app.services.impact.money import parse_rate
from incident_app.services.incidents.access import get_workable
from incident_app.services.organisation import get_organisation
from incident_app.storage import FileStore


@dataclass(frozen=True)
class CostInput:
    category: str
    basis: str
    amount: str
    currency: str
    spent_on: date | None
    exchange_rate: str = ""
    vendor: str = ""
    invoice_reference: str = ""
    description: str = ""


def record_cost(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    cost: CostInput,
    evidence: evidence_service.Upload | None = None,
    now: datetime,
    store: FileStore | None = None,
) -> CostEntry:
    """Add a cost entry; an invoice file goes into `store` (needed only with one). Raises
    NotFound, NotAllowed, ValidationFailed. Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    org = get_organisation(session)
    entry = _cost_entry(cost, org.currency, now)
    entry.incident_id, entry.created_by_id, entry.created_at = incident.id, actor.id, now
    if evidence is not None:
        if store is None:
            raise TypeError("record_cost needs the file store to keep an invoice file.")
        entry.evidence_id = attachments.attach_file(
            session,
            store=store,
            actor=actor,
            incident_id=incident.id,
            upload=evidence,
            description=f"Invoice: {entry.vendor or entry.category.label}",
            now=now,
            field_name="evidence",
        ).id
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="impact.cost_recorded",
        at=now,
        subject_type="cost_entry",
        subject_id=entry.id,
        incident_id=incident.id,
        details=_cost_details(entry),
    )
    session.commit()
    return entry


def _cost_entry(cost: CostInput, org_currency: str, now: datetime) -> CostEntry:
    category = parse_choice(CostCategory, cost.category, "category", "Choose a cost category.")
    basis = parse_choice(
        CostBasis, cost.basis, "basis", "Say whether the cost is estimated or actual."
    )
    amount = parse_amount(cost.amount)
    if amount == 0:
        raise ValidationFailed("The amount must be more than zero.", field="amount")
    currency = check_currency(cost.currency)
    rate = _rate_for(currency, org_currency, cost.exchange_rate)
    if cost.spent_on is None:
        raise ValidationFailed(
            "Give the date of the cost (invoice or payment date).", field="spent_on"
        )
    reference = cost.invoice_reference.strip()
    if len(reference) > 500 or len(cost.vendor.strip()) > 200:
        raise ValidationFailed("The vendor or invoice reference is too long.", field="vendor")
    return CostEntry(
        category=category,
        basis=basis,
        amount_cents=amount,
        currency=currency,
        exchange_rate=rate,
        reporting_cents=convert(amount, rate),
        spent_on=cost.spent_on,
        vendor=cost.vendor.strip(),
        invoice_reference=reference,
        description=cost.description.strip(),
    )


def _rate_for(currency: str, org_currency: str, rate_text: str) -> Decimal | None:
    rate = parse_rate(rate_text)
    if currency == org_currency:
        return None  # a rate typed for the organisation's own currency is meaningless
    if rate is None:
        raise ValidationFailed(
            f"This cost is in {currency}, not {org_currency}: give the exchange rate "
            f"({org_currency} per 1 {currency}) so it can be added to the totals.",
            field="exchange_rate",
        )
    return rate


def _cost_details(entry: CostEntry) -> dict[str, object]:
    return {
        "category": entry.category.value,
        "basis": entry.basis.value,
        "amount_cents": entry.amount_cents,
        "currency": entry.currency,
        "exchange_rate": None if entry.exchange_rate is None else str(entry.exchange_rate),
        "reporting_cents": entry.reporting_cents,
        "spent_on": entry.spent_on.isoformat(),
        "vendor": entry.vendor,
        "invoice_reference": entry.invoice_reference,
        "evidence_id": entry.evidence_id,
    }


def delete_cost(
    session: Session, *, actor: User, incident_id: int, cost_id: int, now: datetime
) -> None:
    """Remove an entry made in error; the audit event keeps what it said. Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    entry = session.get(CostEntry, cost_id)
    if entry is None or entry.incident_id != incident.id:
        raise NotFound("No such cost entry on this incident.")
    details = _cost_details(entry)
    session.delete(entry)
    audit.record(
        session,
        actor=actor,
        action="impact.cost_deleted",
        at=now,
        subject_type="cost_entry",
        subject_id=cost_id,
        incident_id=incident.id,
        details=details,
    )
    session.commit()
