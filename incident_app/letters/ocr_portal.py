"""The OCR breach portal's sections and labels, in the portal's order (REGULATORY.md §2.1).

The HHS packet prints them (the `ocr_sections` Jinja filter) and `hhs_packet_json` gives the
same answers as JSON, so what the team types into the portal is exactly what was approved.
"""

from __future__ import annotations

import json
from datetime import date

from incident_app.letters.contexts import BusinessAssociateFields
from incident_app.letters.contexts import HhsReport


def _portal_date(value: date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else "Not yet"


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _business_associate_rows(ba: BusinessAssociateFields | None) -> list[tuple[str, str]]:
    if ba is None:
        return [("Business Associate involved", "No")]
    return [
        ("Name of Business Associate", ba["name"]),
        ("Street Address Line 1", ba["street_1"]),
        ("Street Address Line 2", ba["street_2"]),
        ("City", ba["city"]),
        ("State", ba["state"]),
        ("ZIP", ba["zip"]),
        ("Contact Name", ba["contact_name"]),
        ("Contact Email", ba["contact_email"]),
        ("Contact Phone Number", ba["contact_phone"]),
    ]


def ocr_sections(report: HhsReport) -> list[tuple[str, list[tuple[str, str]]]]:
    """The portal's sections and labels, in the portal's order, with printable answers."""
    count = report["individuals_affected"]
    return [
        (
            "General",
            [
                (
                    "Breach Affecting",
                    "500 or More Individuals" if count >= 500 else "Fewer Than 500 Individuals",
                ),
                ("Report Type", report["report_type"]),
                ("Breach Tracking Number", report["previous_tracking_number"] or "Not applicable"),
                ("Filer Role", report["filer_role"]),
            ],
        ),
        (
            "Section 1 – Covered Entity",
            [
                ("Name of Covered Entity", report["covered_entity_name"]),
                ("Street Address Line 1", report["street_1"]),
                ("Street Address Line 2", report["street_2"]),
                ("City", report["city"]),
                ("State", report["state"]),
                ("ZIP", report["zip"]),
                ("First Name", report["contact_first_name"]),
                ("Last Name", report["contact_last_name"]),
                ("Email", report["contact_email"]),
                ("Phone Number", report["contact_phone"]),
                ("Type of Covered Entity", report["covered_entity_type"]),
            ],
        ),
        ("Section 2 – Business Associate", _business_associate_rows(report["business_associate"])),
        (
            "Section 3 – Breach",
            [
                ("Breach Start Date", _portal_date(report["breach_start"])),
                ("Breach End Date", _portal_date(report["breach_end"])),
                ("Discovery Start Date", _portal_date(report["discovery_start"])),
                ("Discovery End Date", _portal_date(report["discovery_end"])),
                ("Approximate Number of Individuals Affected by the Breach", f"{count}"),
                ("Type of Breach", ", ".join(report["breach_types"])),
                ("Location of Breached Information", ", ".join(report["locations"])),
                (
                    "Type of Protected Health Information Involved in Breach",
                    ", ".join(report["phi_types"]),
                ),
                ("Brief Description of the Breach", report["description"]),
                ("Safeguards in Place Prior to Breach", ", ".join(report["safeguards"])),
            ],
        ),
        (
            "Section 4 – Notice of Breach and Actions Taken",
            [
                (
                    "Individual Notice Provided Start Date",
                    _portal_date(report["individual_notice_start"]),
                ),
                (
                    "Individual Notice Provided End Date",
                    _portal_date(report["individual_notice_end"]),
                ),
                ("Was Substitute Notice Required?", _yes_no(report["substitute_notice_required"])),
                ("Was Media Notice Required?", _yes_no(report["media_notice_required"])),
                ("Actions Taken in Response to Breach", ", ".join(report["actions_taken"])),
                ("Describe Other Actions Taken", report["other_actions"] or "None"),
            ],
        ),
    ]


def hhs_packet_json(report: HhsReport) -> str:
    """The portal answers as JSON: {section: {label: answer}}, the same text as the packet."""
    return json.dumps(
        {section: dict(rows) for section, rows in ocr_sections(report)},
        ensure_ascii=False,
        indent=2,
    )
