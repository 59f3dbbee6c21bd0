"""What each letter template prints: one TypedDict per template context.

The services build these from the case; `render.render_pdf` takes them. Dates are `date`s (the
templates spell them out), lists are printed as lists, and nothing here holds PHI values beyond
the addressee a mailed letter must carry.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
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
    # Issue 23: this recipient's identity-protection code, printed when the context has an
    # `identity_protection` offer (IndividualNoticeContext).
    enrollment_code: NotRequired[str]


class BreachContext(TypedDict):
    """The 164.404(c)(1) facts, written for the reader (types of PHI, never PHI values)."""

    what_happened: str  # (A) plain-language narrative
    breach_start: date | None  # (A) None when unknown
    breach_end: date | None  # None or equal to breach_start for a single day
    discovered_on: date  # (A)
    phi_types: list[str]  # (B) e.g. ["Full name", "Date of birth", "Diagnosis"]
    steps_for_individuals: list[str]  # (C)
    what_we_are_doing: list[str]  # (D) investigate, mitigate, protect
    # True when what_happened already states both dates: the letter does not repeat them.
    dates_stated: NotRequired[bool]
    # (E) comes from OrganisationContext: toll-free number, email, website, postal address


class IdentityProtectionContext(TypedDict):
    """The incident's identity-protection offer (issue 23), from its code pool."""

    vendor: str
    product: str
    months: int
    url: str
    phone: str
    enrol_by: date


class IndividualNoticeContext(TypedDict):
    """individual_adult.html, individual_minor.html, individual_deceased.html,
    individual_es.html (Spanish texts in `breach`)."""

    organisation: OrganisationContext
    letter_date: date
    breach: BreachContext
    recipient: RecipientContext
    identity_protection: NotRequired[IdentityProtectionContext]


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
    supplement: NotRequired[SupplementContext]  # only on supplements 1, 2, … (never notice 1)


class SupplementContext(TypedDict):
    """ "Supplement N to our notice of <date>: what is new" (164.410(c)(2))."""

    number: int
    notice_date: date  # the date of the first notice
    previous_label: str  # "notice" or "supplement 1", …
    previous_date: date
    changes: list[str]  # what is new since the previous letter, one line each


class AffectedIndividual(TypedDict):
    name: str
    identifier: str  # the covered entity's own record number, as the BA knows it


class StateAgNoticeContext(TypedDict):
    """state_ag.html — notice to a state regulator row of the state table (attorney general or
    another office: a department, a cyber center, the state police)."""

    organisation: OrganisationContext
    letter_date: date
    recipient: RecipientContext  # the office; name defaults to regulator_name
    breach: BreachContext
    state_name: str
    statute: str  # the row's statute, e.g. "N.Y. Gen. Bus. Law § 899-aa"
    regulator_name: str  # the row's recipient_name without its parenthetical remark
    residents_affected: int
    count_label: str  # "residents", or "patients" (Cal. Health & Safety Code 1280.15)
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


class ResidentNoticeTiming(TypedDict):
    sent: bool  # True: recorded as sent; False: the planned mailing date
    first_on: date
    last_on: date
    methods: list[str]  # how the notices went out (or will)


class CraNoticeContext(TypedDict):
    """cra_notice.html — notice to a nationwide consumer reporting agency under a state statute:
    timing, distribution and content of the resident notices, and how many were notified."""

    organisation: OrganisationContext
    letter_date: date
    recipient: RecipientContext  # the agency, typed in
    breach: BreachContext
    state_name: str
    statute: str
    requirement: str  # the row's recipient_name, e.g. "... (timing, distribution and content)"
    threshold: str  # e.g. "more than 1,000 residents of TX"
    residents_notified: int
    total_notified: int
    timing: ResidentNoticeTiming
    copies_to: list[str]  # the other nationwide agencies
    enclosures: list[str]


class FtcReport(TypedDict):
    """What the FTC's breach form asks (16 CFR 318.5(c)) with the 318.6 content."""

    entity_name: str
    entity_type: str  # vendor of personal health records, PHR related entity ...
    address_lines: list[str]
    contact_name: str
    contact_title: str
    contact_email: str
    contact_phone: str
    breach_start: date
    breach_end: date
    discovered_on: date
    individuals_affected: int
    residents_by_state: list[str]  # "IL: 1,150"
    breach_types: list[str]
    locations: list[str]
    information_types: list[str]
    acquired_by: str  # 318.6(a) as amended: who acquired the information, or "Not known"
    description: str
    individual_notice_start: date | None
    individual_notice_end: date | None
    substitute_notice: bool
    media_notice: bool
    measures: list[str]  # 318.6(d)
    steps_for_individuals: list[str]  # 318.6(c)


class FtcNoticeContext(TypedDict):
    """ftc_notice.html for ftc_notice (500 or more) and ftc_annual_log (this breach's entry of
    the year's log, fewer than 500)."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    report: FtcReport
    heading: str
    annual_log: bool
    reporting_year: str  # "" unless annual_log
    due_on: date | None
    citation: str


class VendorNoticeContext(TypedDict):
    """vendor_notice.html — third party service provider to the PHR vendor, 16 CFR 318.3(b)."""

    organisation: OrganisationContext  # the service provider writing
    letter_date: date
    recipient: RecipientContext  # the vendor's designated (or a senior) official
    vendor_name: str
    breach: BreachContext
    individuals_total: int
    due_on: date | None
    citation: str


class Art33Facts(TypedDict):
    """GDPR Art. 33: timing (33(1)) and the content items of 33(3)(a)-(d)."""

    controller: bool  # False: the processor's notice to the controller (33(2))
    aware_at: datetime  # UTC
    deadline_at: datetime  # aware_at + 72 hours, UTC
    late: bool  # dated or sent after the UTC day the 72 hours end
    due_today: bool
    delay_reasons: str  # required when late
    nature: str  # (a)
    breach_start: date | None
    breach_end: date | None
    data_categories: list[str]  # (a) categories of personal data
    subject_categories: list[str]  # (a) categories of data subjects
    data_subjects: int  # (a) approximate number
    records: int  # (a) approximate number of personal data records
    contact_point: str  # (b) DPO or other contact point
    consequences: list[str]  # (c)
    measures: list[str]  # (d) taken or proposed
    mitigation: list[str]  # (d) to mitigate possible adverse effects
    high_risk: str  # the Art. 34 assessment in words


class GdprRecordContext(TypedDict):
    """gdpr_art33.html — the controller's notification record for the supervisory authority."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    gdpr: Art33Facts


class GdprProcessorContext(TypedDict):
    """gdpr_art33_processor.html — the processor's notice to the controller (Art. 33(2))."""

    organisation: OrganisationContext
    letter_date: date
    recipient: RecipientContext  # the controller, typed in
    gdpr: Art33Facts


class GdprDataSubjectContext(TypedDict):
    """gdpr_data_subject.html — Art. 34(2) communication to a data subject (sample)."""

    organisation: OrganisationContext
    letter_date: date
    breach: BreachContext
    recipient: RecipientContext
    contact_point: str  # Art. 33(3)(b)
    consequences: list[str]  # Art. 33(3)(c)


class SecWorksheetContext(TypedDict):
    """sec_8k_worksheet.html — material aspects for an Item 1.05 disclosure; not a filing."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    citation: str
    determined_on: date
    due_on: date | None
    nature: str
    breach_types: list[str]
    systems: str
    individuals_affected: int
    states: int
    eu_data_subjects: int
    data_categories: list[str]
    breach_start: date | None
    breach_end: date | None
    discovered_on: date
    material_impact: str
