"""Complete contexts for the templates of the regimes beyond HIPAA (no database)."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

from tests.letters.samples import BREACH
from tests.letters.samples import ORGANISATION

OFFICE: dict[str, Any] = {
    "letter_id": "RCH-REG-1",
    "name": "Equifax Information Services LLC",
    "address_lines": ["P.O. Box 105069", "Atlanta, GA 30348"],
}
ART33: dict[str, Any] = {
    "controller": True,
    "aware_at": datetime(2025, 3, 6, 14, 5, tzinfo=UTC),
    "deadline_at": datetime(2025, 3, 9, 14, 5, tzinfo=UTC),
    "late": False,
    "due_today": False,
    "delay_reasons": "",
    "nature": "A billing laptop with an unencrypted disk was stolen from a car.",
    "breach_start": date(2025, 3, 3),
    "breach_end": date(2025, 3, 4),
    "data_categories": ["Full name", "Date of birth", "Diagnosis codes"],
    "subject_categories": ["Patients"],
    "data_subjects": 37,
    "records": 1450,
    "contact_point": "Dr. Lena Vogt, Data Protection Officer, dpo@riverbend.example",
    "consequences": ["Risk of identity fraud.", "Distress from disclosed diagnoses."],
    "measures": ["Remote wipe requested.", "Disk encryption on every laptop."],
    "mitigation": ["Watch for unexpected letters from insurers."],
    "high_risk": "Likely high risk: data subjects are being told without undue delay (Art. 34)",
}
FTC_REPORT: dict[str, Any] = {
    "entity_name": "Riverbend Health App Inc.",
    "entity_type": "Vendor of personal health records",
    "address_lines": ["1200 Harbor Avenue", "Springfield, IL 62701"],
    "contact_name": "Dana O'Brien",
    "contact_title": "Privacy Officer",
    "contact_email": "privacy@riverbend.example",
    "contact_phone": "1-800-555-0142",
    "breach_start": date(2025, 3, 3),
    "breach_end": date(2025, 3, 4),
    "discovered_on": date(2025, 3, 6),
    "individuals_affected": 1204,
    "residents_by_state": ["IL: 1,150", "WI: 54"],
    "breach_types": ["Unauthorized Access/Disclosure"],
    "locations": ["Network Server"],
    "information_types": ["Blood glucose readings", "Email address"],
    "acquired_by": "An advertising platform (pixel on the sign-up page)",
    "description": "Sign-up page pixel sent health readings to an advertising platform.",
    "individual_notice_start": date(2025, 4, 1),
    "individual_notice_end": date(2025, 4, 1),
    "substitute_notice": False,
    "media_notice": True,
    "measures": ["Removed the pixel.", "Asked the platform to delete the data."],
    "steps_for_individuals": ["Change your password."],
}


def _document(**extra: Any) -> dict[str, Any]:
    return {
        "organisation": ORGANISATION,
        "document_id": "RCH-DOC-0017-01",
        "letter_date": date(2025, 4, 1),
        **extra,
    }


def regime_contexts() -> dict[str, dict[str, Any]]:
    return {
        "cra_notice.html": {
            "organisation": ORGANISATION,
            "letter_date": date(2025, 4, 2),
            "recipient": OFFICE,
            "breach": BREACH,
            "state_name": "Minnesota",
            "statute": "Minn. Stat. 325E.61, subd. 2",
            "requirement": "nationwide consumer reporting agencies (15 U.S.C. 1681a)",
            "threshold": "more than 500 residents of MN",
            "residents_notified": 1200,
            "total_notified": 3004,
            "timing": {
                "sent": True,
                "first_on": date(2025, 4, 1),
                "last_on": date(2025, 4, 3),
                "methods": ["First-class mail"],
            },
            "copies_to": ["Experian", "TransUnion"],
            "enclosures": ["Sample of the notice to residents"],
        },
        "ftc_notice.html": _document(
            report=FTC_REPORT,
            heading="Notice to the FTC of a breach of security (16 CFR 318.5(c))",
            annual_log=False,
            reporting_year="",
            due_on=date(2025, 5, 5),
            citation="16 CFR 318.5(c)",
        ),
        "vendor_notice.html": {
            "organisation": ORGANISATION,
            "letter_date": date(2025, 3, 20),
            "recipient": {**OFFICE, "name": "Chief Privacy Officer, HealthTrack Inc."},
            "vendor_name": "HealthTrack Inc.",
            "breach": BREACH,
            "individuals_total": 1204,
            "due_on": date(2025, 5, 5),
            "citation": "16 CFR 318.3(b); 318.4(a)",
        },
        "gdpr_art33.html": _document(gdpr=ART33),
        "gdpr_art33_processor.html": {
            "organisation": ORGANISATION,
            "letter_date": date(2025, 3, 7),
            "recipient": {**OFFICE, "name": "Klinikum Beispiel GmbH"},
            "gdpr": {**ART33, "controller": False},
        },
        "gdpr_data_subject.html": {
            "organisation": ORGANISATION,
            "letter_date": date(2025, 3, 7),
            "breach": BREACH,
            "recipient": {**OFFICE, "name": "Sample Recipient"},
            "contact_point": ART33["contact_point"],
            "consequences": ART33["consequences"],
        },
        "sec_8k_worksheet.html": _document(
            citation="SEC Form 8-K Item 1.05; General Instruction B.1",
            determined_on=date(2025, 3, 10),
            due_on=date(2025, 3, 14),
            nature="Ransomware encrypted the billing servers.",
            breach_types=["Hacking/IT Incident"],
            systems="Billing servers",
            individuals_affected=1204,
            states=2,
            eu_data_subjects=37,
            data_categories=["Full name", "Diagnosis codes"],
            breach_start=date(2025, 3, 3),
            breach_end=None,
            discovered_on=date(2025, 3, 6),
            material_impact="Billing stopped for nine days; revenue impact under review.",
        ),
    }
