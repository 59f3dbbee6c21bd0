"""Human-written letter contexts shared by the letter tests and the mail-merge bench."""

from __future__ import annotations

from datetime import date
from typing import Any

# A 1x1 transparent PNG.
PNG_1PX = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

ORGANISATION: dict[str, Any] = {
    "name": "Riverbend Community Health",
    "address_lines": ["1200 Harbor Avenue, Suite 4", "Springfield, IL 62701"],
    "toll_free_number": "1-800-555-0142",
    "email": "privacy@riverbend.example",
    "website": "www.riverbend.example/notice",
    "logo_data_uri": PNG_1PX,
    "signatory_name": "Dana O'Brien",
    "signatory_title": "Privacy Officer",
}

BREACH: dict[str, Any] = {
    "what_happened": (
        "A laptop used by our billing team was stolen from an employee's car. The laptop "
        "was protected by a password but its disk was not encrypted."
    ),
    "breach_start": date(2025, 3, 3),
    "breach_end": date(2025, 3, 4),
    "discovered_on": date(2025, 3, 6),
    "phi_types": [
        "Full name",
        "Home address",
        "Date of birth",
        "Health insurance number",
        "Diagnosis codes",
    ],
    "steps_for_individuals": [
        "Review the statements you receive from your health insurer. Call them if you see "
        "services you did not receive.",
        "Enroll in the free credit monitoring we offer for 24 months. Use the code in the "
        "enclosed sheet.",
        "Be careful with calls or emails that ask for your personal information.",
    ],
    "what_we_are_doing": [
        "We reported the theft to the police and we are working with them.",
        "We are encrypting every laptop and we retrained our staff.",
        "We are reviewing how billing data is stored to prevent this from happening again.",
    ],
}

RECIPIENT: dict[str, Any] = {
    "letter_id": "RCH-2025-0007-000001",
    "name": "Zoë Núñez",
    "address_lines": ["42 Elm Street, Apt 3", "Peoria, IL 61602"],
    "subject_name": "Ramón Núñez",
}


def individual_context(**recipient: Any) -> dict[str, Any]:
    return {
        "organisation": ORGANISATION,
        "letter_date": date(2025, 4, 1),
        "breach": BREACH,
        "recipient": {**RECIPIENT, **recipient},
    }


def _document(**extra: Any) -> dict[str, Any]:
    return {
        "organisation": ORGANISATION,
        "document_id": "RCH-DOC-0007-01",
        "letter_date": date(2025, 4, 1),
        **extra,
    }


AG_OFFICE: dict[str, Any] = {
    "letter_id": "RCH-AG-NY-1",
    "name": "Office of the Attorney General",
    "address_lines": [
        "Bureau of Internet and Technology",
        "28 Liberty Street",
        "New York, NY 10005",
    ],
}

HHS_REPORT: dict[str, Any] = {
    "report_type": "Initial Breach Report",
    "previous_tracking_number": None,
    "filer_role": "Covered entity filing for itself",
    "covered_entity_name": "Riverbend Community Health",
    "street_1": "1200 Harbor Avenue",
    "street_2": "Suite 4",
    "city": "Springfield",
    "state": "IL",
    "zip": "62701",
    "contact_first_name": "Dana",
    "contact_last_name": "O'Brien",
    "contact_email": "privacy@riverbend.example",
    "contact_phone": "217-555-0100",
    "covered_entity_type": "Healthcare Provider",
    "business_associate": None,
    "breach_start": date(2025, 3, 3),
    "breach_end": date(2025, 3, 4),
    "discovery_start": date(2025, 3, 6),
    "discovery_end": date(2025, 3, 6),
    "individuals_affected": 1204,
    "breach_types": ["Theft"],
    "locations": ["Laptop"],
    "phi_types": ["Demographic", "Clinical"],
    "description": "Unencrypted billing laptop stolen from an employee's car in Springfield.",
    "safeguards": ["Privacy Rule Safeguards (Training, Policies and Procedures, etc.)"],
    "individual_notice_start": date(2025, 4, 1),
    "individual_notice_end": date(2025, 4, 3),
    "substitute_notice_required": True,
    "media_notice_required": True,
    "actions_taken": ["Adopted encryption technologies", "Trained or retrained workforce members"],
    "other_actions": "",
}


def document_contexts() -> dict[str, dict[str, Any]]:
    """A complete context for every template that is not a mail-merge letter."""
    substitute = _document(
        breach=BREACH,
        posting_start=date(2025, 4, 2),
        posting_end=date(2025, 7, 1),
        toll_free_active_until=date(2025, 7, 1),
        areas=["Sangamon County, Illinois", "Peoria County, Illinois"],
    )
    return {
        "substitute_web.html": substitute,
        "substitute_media.html": substitute,
        "media_release.html": _document(
            breach=BREACH,
            state_name="Illinois",
            residents_affected=1150,
            total_affected=1204,
            media_contact="Sam Rivera, 217-555-0199, press@riverbend.example",
        ),
        "hhs_packet.html": _document(report=HHS_REPORT),
        "ba_to_ce.html": {
            "organisation": {**ORGANISATION, "name": "Ledgerline Billing Services"},
            "letter_date": date(2025, 3, 20),
            "recipient": {
                "letter_id": "LBS-CE-1",
                "name": "Privacy Officer",
                "address_lines": [
                    "Riverbend Community Health",
                    "1200 Harbor Avenue, Suite 4",
                    "Springfield, IL 62701",
                ],
            },
            "covered_entity_name": "Riverbend Community Health",
            "breach": BREACH,
            "ba_discovered_on": date(2025, 3, 5),
            "individuals": [
                {"name": "Zoë Núñez", "identifier": "MRN 000412"},
                {"name": "Seán O'Brien", "identifier": "MRN 000977"},
            ],
            "individuals_total": 1204,
            "more_information_expected": True,
        },
        "state_ag.html": {
            "organisation": ORGANISATION,
            "letter_date": date(2025, 4, 2),
            "recipient": AG_OFFICE,
            "breach": BREACH,
            "state_name": "New York",
            "statute": "N.Y. Gen. Bus. Law § 899-aa",
            "regulator_name": "New York Attorney General",
            "residents_affected": 37,
            "count_label": "residents",
            "total_affected": 1204,
            "residents_notified_on": date(2025, 4, 1),
            "state_requirements": [
                "A copy of the notice given to HHS is enclosed, within 5 business days of "
                "notifying the Secretary."
            ],
            "enclosures": ["Sample resident notice", "Copy of HHS notice"],
        },
        "risk_assessment.html": _document(
            incident_reference="INC-2025-0007",
            incident_title="Stolen billing laptop",
            breach=BREACH,
            secured_status="Unsecured: disk not encrypted",
            exception_claimed=None,
            factors=[
                {
                    "title": "(i) Nature and extent of the PHI",
                    "finding": "Names, dates of birth, insurance numbers and diagnosis codes.",
                    "rationale": "Direct identifiers with clinical data; easy to re-identify.",
                },
                {
                    "title": "(ii) The unauthorized person",
                    "finding": "Unknown thief.",
                    "rationale": "No duty to protect the data.",
                },
                {
                    "title": "(iii) Whether the PHI was acquired or viewed",
                    "finding": "Laptop not recovered.",
                    "rationale": "Assume it was viewed.",
                },
                {
                    "title": "(iv) Extent of mitigation",
                    "finding": "Remote wipe failed.",
                    "rationale": "No assurance obtained.",
                },
            ],
            conclusion="The PHI was probably compromised.",
            low_probability_of_compromise=False,
            assessed_by="Dana O'Brien",
            approved_by="Lee Park, Counsel",
            approved_on=date(2025, 3, 12),
            retention_until=date(2031, 3, 12),
        ),
    }
