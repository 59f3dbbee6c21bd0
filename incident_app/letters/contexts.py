"""What each letter template prints: one TypedDict per template context.

The services build these from the case; `render.render_pdf` takes them. Dates are `date`s (the
templates spell them out), lists are printed as lists, and nothing here holds PHI values beyond
the addressee a mailed letter must carry.
"""

from __future__ import annotations

from datetime import date
from typing import NotRequired
from typing import TypedDict


class OrganisationContext(TypedDict):
    """Letterhead and signature, from the organisation settings."""

    name: str
    address_lines: list[str]  # e.g. ["100 Main Street", "Springfield, IL 62701"]
    toll_free_number: str
    email: str
    website: str
    logo_data_uri: str | None  # logo_data_uri(bytes, mime) or None
    signatory_name: str
    signatory_title: str


class RecipientContext(TypedDict):
    """Who a mailed letter goes to. Only `name` and `address_lines` appear in the window."""

    letter_id: str  # [A-Z0-9-], 1-40 characters; printed in the footer of every page
    name: str  # adult: the person; minor: the child; deceased: next of kin / representative
    address_lines: list[str]  # at most 3 lines of at most 60 characters
    subject_name: NotRequired[str]  # deceased letters: the person who died


class BreachContext(TypedDict):
    """The 164.404(c)(1) facts, written for the reader (types of PHI, never PHI values)."""

    what_happened: str  # (A) plain-language narrative
    breach_start: date | None  # (A) None when unknown
    breach_end: date | None  # None or equal to breach_start for a single day
    discovered_on: date  # (A)
    phi_types: list[str]  # (B) e.g. ["Full name", "Date of birth", "Diagnosis"]
    steps_for_individuals: list[str]  # (C)
    what_we_are_doing: list[str]  # (D) investigate, mitigate, protect
    # (E) comes from OrganisationContext: toll-free number, email, website, postal address


class IndividualNoticeContext(TypedDict):
    """individual_adult.html, individual_minor.html, individual_deceased.html,
    individual_es.html (Spanish texts in `breach`)."""

    organisation: OrganisationContext
    letter_date: date
    breach: BreachContext
    recipient: RecipientContext


class SubstituteNoticeContext(TypedDict):
    """substitute_web.html (home-page posting) and substitute_media.html, 164.404(d)(2)(ii)."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    breach: BreachContext
    posting_start: date
    posting_end: date  # at least posting_start + 90 days
    toll_free_active_until: date  # at least 90 days of service
    areas: list[str]  # substitute_media: where the affected individuals likely live


class MediaNoticeContext(TypedDict):
    """media_release.html — press release for one state over 500 residents, 164.406."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    breach: BreachContext
    state_name: str
    residents_affected: int
    total_affected: int
    media_contact: str  # "Name, phone, email" of the press contact


class BusinessAssociateFields(TypedDict):
    name: str
    street_1: str
    street_2: str
    city: str
    state: str
    zip: str
    contact_name: str
    contact_email: str
    contact_phone: str


class HhsReport(TypedDict):
    """The answers of the OCR breach portal (REGULATORY.md §2.1); option values as the portal
    spells them."""

    report_type: str  # "Initial Breach Report" | "Addendum to Previous Report"
    previous_tracking_number: str | None
    filer_role: str
    covered_entity_name: str
    street_1: str
    street_2: str
    city: str
    state: str
    zip: str
    contact_first_name: str
    contact_last_name: str
    contact_email: str
    contact_phone: str
    covered_entity_type: str  # "Health Plan" | "Healthcare Clearinghouse" | "Healthcare Provider"
    business_associate: BusinessAssociateFields | None
    breach_start: date
    breach_end: date
    discovery_start: date
    discovery_end: date
    individuals_affected: int
    breach_types: list[str]
    locations: list[str]
    phi_types: list[str]
    description: str
    safeguards: list[str]
    individual_notice_start: date | None
    individual_notice_end: date | None
    substitute_notice_required: bool
    media_notice_required: bool
    actions_taken: list[str]
    other_actions: str


class HhsPacketContext(TypedDict):
    """hhs_packet.html; hhs_packet_json(report) gives the same answers as JSON."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    report: HhsReport


class BusinessAssociateNoticeContext(TypedDict):
    """ba_to_ce.html — business associate to covered entity, 164.410(c)."""

    organisation: OrganisationContext  # the business associate writing
    letter_date: date
    recipient: RecipientContext  # the covered entity's privacy officer
    covered_entity_name: str
    breach: BreachContext
    ba_discovered_on: date
    individuals: list[AffectedIndividual]  # 164.410(c)(1): identification of each individual
    individuals_total: int
    more_information_expected: bool  # 164.410(c)(2): more facts will follow


class AffectedIndividual(TypedDict):
    name: str
    identifier: str  # the covered entity's own record number, as the BA knows it


class StateAgNoticeContext(TypedDict):
    """state_ag.html — generic attorney-general notice; state specifics come from the overlay."""

    organisation: OrganisationContext
    letter_date: date
    recipient: RecipientContext  # the AG office
    breach: BreachContext
    state_name: str
    statute: str  # e.g. "N.Y. Gen. Bus. Law § 899-aa"
    residents_affected: int
    total_affected: int
    residents_notified_on: date | None
    state_requirements: list[str]  # sentences from the state overlay data
    enclosures: list[str]


class RiskAssessmentContext(TypedDict):
    """risk_assessment.html — documentation kept under 164.414(b) / 164.530(j)."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    incident_reference: str
    incident_title: str
    breach: BreachContext
    secured_status: str  # what protected the PHI (encryption, destruction) or "Unsecured"
    exception_claimed: str | None  # which 164.402(1) exception, or None
    factors: list[RiskFactor]  # the four 164.402(2) factors, in order
    conclusion: str
    low_probability_of_compromise: bool
    assessed_by: str
    approved_by: str | None
    approved_on: date | None
    retention_until: date


class RiskFactor(TypedDict):
    title: str  # e.g. "(i) Nature and extent of the PHI involved"
    finding: str
    rationale: str
