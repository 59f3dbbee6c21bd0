"""Builders for the letter tests: an organisation, a breach case with obligations, wording."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import StateCount
from incident_app.models.letter import NoticeWording
from incident_app.models.obligation import Obligation
from incident_app.models.user import User
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.obligations.recorded import client_key
from incident_app.services.organisation import get_organisation
from tests.support.factories import NOW
from tests.support.factories import make_incident

WHAT_HAPPENED = (
    "On September 10, 2025 a laptop used by our billing team was stolen from a car. "
    "The laptop was protected by a password but its disk was not encrypted."
)
STEPS = [
    "Review the statements you get from your health insurer.",
    "Call us if you see services you did not receive.",
]
DOING = [
    "We reported the theft to the police.",
    "We are encrypting every laptop and we retrained our staff.",
]
PHI_TYPES = ["Full name", "Date of birth", "Diagnosis codes"]


def set_up_organisation(session: Session, **overrides: Any) -> None:
    org = get_organisation(session)
    values = {
        "legal_name": "Riverbend Community Health",
        "address_line1": "1200 Harbor Avenue",
        "address_line2": "Suite 4",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "toll_free_number": "1-800-555-0142",
        "email": "privacy@riverbend.example",
        "website": "https://riverbend.example/notice",
        "signatory_name": "Dana O'Brien",
        "signatory_title": "Privacy Officer",
        "timezone": "America/Chicago",
        **overrides,
    }
    for name, value in values.items():
        setattr(org, name, value)
    session.commit()


def breach_case(
    session: Session,
    *,
    officer: User,
    members: dict[User, CaseRole] | None = None,
    residents: dict[str, int] | None = None,
    wording: bool = True,
    **fields: Any,
) -> Incident:
    """A presumed breach discovered 2025-09-15 (individual, HHS and per-state media
    obligations synced), with the notice wording written unless `wording` is False."""
    set_up_organisation(session)
    counts = residents if residents is not None else {"IL": 1150, "WI": 54}
    incident = make_incident(
        session,
        created_by=officer,
        affected_estimate=sum(counts.values()),
        members=members,
        occurred_from=datetime(2025, 9, 10, 18, tzinfo=UTC),
        occurred_to=datetime(2025, 9, 10, 22, tzinfo=UTC),
        phi_types=["demographic.name", "demographic.date_of_birth", "clinical.diagnosis"],
        breach_types=["theft"],
        locations=["laptop"],
        description="Stolen billing laptop.",
        **fields,
    )
    for state, count in counts.items():
        session.add(
            StateCount(
                incident_id=incident.id, source=CountSource.ESTIMATE, state=state, residents=count
            )
        )
    session.flush()
    obligation_sync.sync(session, incident=incident, now=NOW)
    if wording:
        session.add(
            NoticeWording(
                incident_id=incident.id,
                what_happened=WHAT_HAPPENED,
                phi_types=PHI_TYPES,
                steps_for_individuals=STEPS,
                what_we_are_doing=DOING,
                media_contact="Sam Rivera, 217-555-0199, press@riverbend.example",
                spanish={},
                substitute_areas=[],
            )
        )
    session.commit()
    return incident


CLIENT_PREFIX = client_key(0).removesuffix("0")  # "client:"


def obligation(
    session: Session,
    incident: Incident,
    kind: str,
    jurisdiction: str | None = None,
    *,
    client_id: int | None = None,
) -> Obligation:
    """The incident's one active obligation of `kind` (in `jurisdiction`): its own, or with
    `client_id` that delegating client's (source key "client:<id>", or "client:<id> <statute>"
    for its state notices). A business associate's incident carries one of each per client, so
    "its own" leaves every client's out."""
    query = sa.select(Obligation).where(
        Obligation.incident_id == incident.id, Obligation.kind == kind, Obligation.active.is_(True)
    )
    if jurisdiction is not None:
        query = query.where(Obligation.jurisdiction == jurisdiction)
    if client_id is None:
        query = query.where(sa.not_(Obligation.source_key.startswith(CLIENT_PREFIX)))
    else:
        key = client_key(client_id)
        query = query.where(
            sa.or_(Obligation.source_key == key, Obligation.source_key.startswith(f"{key} "))
        )
    return session.scalars(query).one()


DISCOVERED = date(2025, 9, 15)
