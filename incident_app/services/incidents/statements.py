"""Law-enforcement statements (45 CFR 164.412): validating one, recording it, and the
use case that adds one to an open incident (its deadlines are recomputed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.incident import LawEnforcementStatement
from incident_app.models.incident import StatementForm
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import get_editable
from incident_app.services.incidents.facts import facts_changed
from incident_app.services.organisation import local_today


@dataclass(frozen=True)
class StatementInput:
    """One law-enforcement statement as typed in (164.412)."""

    form: StatementForm
    official_name: str
    agency: str
    stated_on: date
    contact: str = ""
    delay_until: date | None = None
    written_received_on: date | None = None
    notes: str = ""


def validate_statement(statement: StatementInput, *, today: date) -> None:
    if not statement.official_name.strip():
        raise ValidationFailed("Name the law-enforcement official.", field="le_official_name")
    if not statement.agency.strip():
        raise ValidationFailed("Name the agency.", field="le_agency")
    if statement.stated_on > today:
        raise ValidationFailed("The statement date cannot be in the future.", field="le_stated_on")
    if statement.form is StatementForm.WRITTEN and statement.delay_until is None:
        raise ValidationFailed(
            "A written statement specifies how long to delay (164.412(a)): enter the end date.",
            field="le_delay_until",
        )
    if statement.delay_until is not None and statement.delay_until < statement.stated_on:
        raise ValidationFailed(
            "The delay cannot end before the statement was made.", field="le_delay_until"
        )
    received = statement.written_received_on
    if received is not None and received < statement.stated_on:
        raise ValidationFailed(
            "The written confirmation cannot precede the oral statement.",
            field="le_written_received_on",
        )


def record_statement(
    session: Session, incident: Incident, statement: StatementInput, actor: User, now: datetime
) -> LawEnforcementStatement:
    row = LawEnforcementStatement(
        incident_id=incident.id,
        form=statement.form,
        official_name=statement.official_name.strip(),
        agency=statement.agency.strip(),
        contact=statement.contact.strip(),
        stated_on=statement.stated_on,
        delay_until=statement.delay_until,
        written_received_on=statement.written_received_on,
        notes=statement.notes.strip(),
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(row)
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.FACT,
        at=now,
        actor=actor,
        text=f"Law-enforcement statement recorded: {statement.form.value} statement "
        f"by {row.official_name} ({row.agency}) on {row.stated_on}"
        + (f", delay until {row.delay_until}" if row.delay_until else "")
        + ".",
    )
    return row


def add_statement(
    session: Session, *, actor: User, incident_id: int, statement: StatementInput, now: datetime
) -> LawEnforcementStatement:
    """Record another law-enforcement statement; deadlines are recomputed. Commits once."""
    incident = get_editable(session, actor=actor, incident_id=incident_id)
    validate_statement(statement, today=local_today(session, now))
    row = record_statement(session, incident, statement, actor, now)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="incident.le_statement_added",
        at=now,
        subject_type="law_enforcement_statement",
        subject_id=row.id,
        incident_id=incident.id,
        details={
            "form": row.form.value,
            "official": row.official_name,
            "agency": row.agency,
            "stated_on": row.stated_on,
            "delay_until": row.delay_until,
        },
    )
    facts_changed(session, incident, actor, now)
    session.commit()
    return row
