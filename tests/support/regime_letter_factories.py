"""Obligations of the regimes beyond HIPAA, for the letter tests: produced by the real rules
engine (rules.evaluate) and stored as rows the way the obligation sync stores them."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import rules
from incident_app.models.incident import Incident
from incident_app.models.letter import NoticeWording
from incident_app.models.obligation import Obligation
from tests.support.factories import NOW

AWARE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # NOW is 2026-03-02 15:30 UTC: inside 72 hours
GDPR_WORDING = {
    "gdpr_contact_point": "Dr. Lena Vogt, Data Protection Officer, dpo@riverbend.example",
    "gdpr_subject_categories": ["Patients", "Patients' relatives"],
    "gdpr_records": 1300,
    "gdpr_consequences": [
        "Risk of identity fraud using names and dates of birth.",
        "Distress from the disclosure of diagnosis codes.",
    ],
    "sec_material_impact": "Costs of response and notification of about USD 2.1 million.",
    "acquired_by": "An unknown thief",
}


def persist(
    session: Session, incident: Incident, facts: rules.BreachFacts, *kinds: str
) -> list[Obligation]:
    """Store the obligations of `kinds` that rules.evaluate gives for `facts`."""
    rows = []
    for item in rules.evaluate(facts).obligations:
        if item.kind not in kinds:
            continue
        row = Obligation(
            incident_id=incident.id,
            kind=item.kind,
            jurisdiction=item.jurisdiction,
            source_key=f"{item.kind}:{item.jurisdiction}",
            due_on=item.due_on,
            due_at=item.due_at,
            citation=item.citation,
            reason=item.reason,
            detail=dict(item.detail),
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(row)
        rows.append(row)
    session.commit()
    assert rows, f"rules.evaluate gave none of {kinds}"
    return rows


def facts(discovered_on: date = date(2025, 9, 15), **overrides: Any) -> rules.BreachFacts:
    values: dict[str, Any] = {
        "discovered_on": discovered_on,
        "affected_total": 1204,
        "residents_by_state": {"IL": 1150, "WI": 54},
        **overrides,
    }
    return rules.BreachFacts(**values)


def gdpr_facts(aware_at: datetime = AWARE, **overrides: Any) -> rules.GdprFacts:
    return rules.GdprFacts(aware_at=aware_at, data_subjects=40, **overrides)


def write_wording(session: Session, incident: Incident, **values: Any) -> None:
    wording = session.scalars(
        sa.select(NoticeWording).where(NoticeWording.incident_id == incident.id)
    ).one()
    for name, value in {**GDPR_WORDING, **values}.items():
        setattr(wording, name, value)
    session.commit()
