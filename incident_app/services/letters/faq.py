"""The call-centre pack (issue 23): an FAQ for the agents who answer the toll-free number.

It is a letter kind like the others (context.TEMPLATES_BY_KIND: a document of the individual
notice obligation, letter_templates/call_centre_faq.html), so it is generated, sent to legal
review and approved with the same hash-bound approval (review.py); a re-render or a change of
the facts or wording it prints voids the approval. Its text comes from the incident's facts and
the notice wording the individual letters print, so callers hear what their letter says; which
approved letter it repeats is part of what it prints, so a new (or voided) approval of the
individual notice voids the FAQ's approval too, and legal checks the two together. It is
not a notice: it is never recorded as sent (notices.py refuses), and it is exported for the call
centre only while its approval is valid (faq_export.py), as the exact approved bytes.

`enrolment_offer` reads the identity-protection offer (vendor, product, months, URL, phone,
enrol-by date) recorded with the incident's enrolment-code pool (services/enrolment); without a
pool the FAQ points agents to the steps printed in the caller's letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from incident_app.models.incident import Incident
from incident_app.services.enrolment.assignment import pool_of
from incident_app.services.letters.case_data import CaseData
from incident_app.services.letters.case_data import breach_context
from incident_app.services.letters.case_data import document
from incident_app.services.letters.case_data import total_affected

FAQ_TEMPLATE = "call_centre_faq.html"
FAQ_LABEL = "Call-centre FAQ (for the agents answering the toll-free number)"
NOTICE_TEMPLATE = "individual_adult.html"  # the approved letter whose wording the FAQ repeats


@dataclass(frozen=True)
class EnrolmentOffer:
    """The identity-protection offer printed in the letters."""

    vendor: str
    product: str
    months: int
    url: str
    phone: str = ""
    enrol_by: date | None = None


def enrolment_offer(session: Session, incident: Incident) -> EnrolmentOffer | None:
    """The offer recorded with the incident's enrolment-code pool, as the letters print it; None
    when the incident has no pool (the FAQ then tells agents to follow the steps printed in the
    caller's letter). Part of what legal approves: a changed offer voids the FAQ's approval."""
    pool = pool_of(session, incident.id)
    if pool is None:
        return None
    return EnrolmentOffer(
        vendor=pool.vendor,
        product=pool.product,
        months=pool.offer_months,
        url=pool.enrol_url,
        phone=pool.enrol_phone,
        enrol_by=pool.enrol_by,
    )


def faq_context(session: Session, case: CaseData) -> dict[str, Any]:
    """The FAQ's context. Raises ValidationFailed (via breach_context) without a discovery
    date; an empty wording field prints as an empty answer, which the reviewer sees."""
    org, wording = case.organisation, case.wording
    officer = ", ".join(part for part in (org.signatory_name, org.signatory_title) if part)
    privacy_officer = officer or "the privacy office"
    return {
        **document(case),
        "incident_reference": case.incident.reference,
        "breach": breach_context(session, case),
        "total_affected": total_affected(case.incident),
        "toll_free_number": wording.contact_phone or org.toll_free_number,
        "toll_free_active_until": wording.toll_free_active_until,
        "source_letter": _source_letter(session, case.incident),
        "enrolment": _enrolment(enrolment_offer(session, case.incident)),
        "escalation": {
            "privacy_officer": privacy_officer,
            "media": wording.media_contact or privacy_officer,
        },
    }


def _source_letter(session: Session, incident: Incident) -> str:
    # Imported here: approved.py reads letters through context.py, which builds this one.
    from incident_app.services.letters.approved import approved_letter

    approved = approved_letter(
        session, incident_id=incident.id, kind="individual_notice", template_name=NOTICE_TEMPLATE
    )
    if approved is None:
        return (
            "The answers repeat the notice wording; the individual notice is not approved yet, "
            "so check them against the letter once it is."
        )
    return (
        f"The answers repeat the wording of letter {approved.document_id}, approved "
        f"{approved.approved_at.date().isoformat()}."
    )


def _enrolment(offer: EnrolmentOffer | None) -> dict[str, Any]:
    if offer is None:
        return {"offered": False}
    return {
        "offered": True,
        "vendor": offer.vendor,
        "product": offer.product,
        "months": offer.months,
        "url": offer.url,
        "phone": offer.phone,
        "enrol_by": offer.enrol_by,
    }
