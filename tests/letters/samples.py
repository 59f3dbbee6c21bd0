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
    "phi_types": ["Full name", "Home address", "Date of birth", "Health insurance number",
                  "Diagnosis codes"],
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
