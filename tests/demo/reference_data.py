"""Reference data the demo tests draw from: three OCR rows (a fourth marked as OCR's duplicate
is never drawn) and one checklist template for hacking incidents."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from incident_app.models.ocr import OcrBreach
from incident_app.models.task import ChecklistItem
from incident_app.models.task import ChecklistTemplate


def add_reference_data(session: Session) -> None:
    """Add the OCR rows and the checklist template, and commit."""
    session.add_all(
        [
            _ocr_row(
                1,
                ["Hacking/IT Incident"],
                ["Network Server"],
                "Healthcare Provider",
                12_000,
                "TX",
                False,
            ),
            _ocr_row(2, ["Theft"], ["Laptop"], "Health Plan", 800, "CA", False),
            _ocr_row(
                3,
                ["Unauthorized Access/Disclosure"],
                ["Email", "Paper/Films"],
                "Business Associate",
                650,
                "NY",
                True,
            ),
            _ocr_row(
                4,
                ["Loss"],
                ["Other"],
                "Healthcare Provider",
                900,
                "OH",
                False,
                flags=["ocr_duplicate"],
            ),
        ]
    )
    template = ChecklistTemplate(name="Ransomware", breach_types=["hacking"])
    template.items = [
        ChecklistItem(position=1, title="Isolate hosts", due_days=1),
        ChecklistItem(position=2, title="Call the insurer", due_days=None),
    ]
    session.add(template)
    session.commit()


def _ocr_row(
    n: int,
    types: list[str],
    locations: list[str],
    entity: str,
    count: int,
    state: str,
    ba: bool,
    flags: list[str] | None = None,
) -> OcrBreach:
    key = f"{n:064d}"
    return OcrBreach(
        row_key=key,
        content_hash=key,
        filing_key=key,
        entity_name=f"Entity {n}",
        state=state,
        entity_type=entity,
        individuals_affected=count,
        submitted_on=date(2024, 1, n),
        breach_types=types,
        locations=locations,
        business_associate_present=ba,
        web_description=None,
        portal_list="Archive",
        actions=[],
        flags=flags or [],
    )
