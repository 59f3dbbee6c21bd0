"""Intake: opening an incident with its facts, statements, lead, tasks and reference number."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.incident import ReferenceCounter
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import tasks
from incident_app.services.incidents import timeline
from incident_app.services.incidents.facts import IncidentFacts
from incident_app.services.incidents.facts import apply_columns
from incident_app.services.incidents.facts import facts_changed
from incident_app.services.incidents.facts import replace_estimates
from incident_app.services.incidents.facts import validate_facts
from incident_app.services.incidents.facts import with_materiality
from incident_app.services.incidents.regime_facts import Materiality
from incident_app.services.incidents.statements import StatementInput
from incident_app.services.incidents.statements import record_statement
from incident_app.services.incidents.statements import validate_statement
from incident_app.services.organisation import get_organisation
from incident_app.services.organisation import local_today
from incident_app.services.organisation import org_zone


def open_incident(
    session: Session,
    *,
    actor: User,
    facts: IncidentFacts,
    now: datetime,
    statements: Sequence[StatementInput] = (),
    checklist_ids: Sequence[int] | None = None,
    exercise: bool = False,
) -> Incident:
    """Open an incident with its facts, give it a BD-YYYY-NNNN reference, make the opener the
    case lead and seed tasks from checklists (those chosen, else those for its breach types).
    `exercise` marks a tabletop drill; it is fixed here, no later use case changes it.

    Raises NotAllowed, ValidationFailed. Commits once.
    """
    require(actor, Capability.OPEN_INCIDENTS)
    zone, today = org_zone(session), local_today(session, now)
    validate_facts(facts, today=today, zone=zone, now=now)
    facts = with_materiality(facts, Materiality(get_organisation(session).public_company))
    for statement in statements:
        validate_statement(statement, today=today)
    incident = Incident(
        reference=next_reference(session, year=now.astimezone(zone).year),
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        exercise=exercise,
    )
    apply_columns(incident, facts)
    session.add(incident)
    session.flush()
    replace_estimates(session, incident, facts.state_estimates)
    for statement in statements:
        record_statement(session, incident, statement, actor, now)
    session.add(
        IncidentMember(
            incident_id=incident.id,
            user_id=actor.id,
            case_role=CaseRole.LEAD,
            added_at=now,
            added_by_id=actor.id,
        )
    )
    seeded = tasks.seed_from_checklists(
        session, incident=incident, actor=actor, now=now, today=today, template_ids=checklist_ids
    )
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.STATUS,
        at=now,
        actor=actor,
        text=f"{'Exercise' if exercise else 'Incident'} {incident.reference} opened "
        f"({incident.status.label}); {seeded} task(s) from checklists.",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.opened",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details={"reference": incident.reference, "title": incident.title, "exercise": exercise},
    )
    facts_changed(session, incident, actor, now)
    session.commit()
    return incident


def next_reference(session: Session, *, year: int) -> str:
    """The next BD-YYYY-NNNN. The counter row is created if missing (ON CONFLICT DO NOTHING)
    and incremented with one UPDATE … RETURNING, which holds the row lock until commit, so
    concurrent intakes queue and never share a number (PostgreSQL and SQLite alike)."""
    dialect_insert = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    session.execute(
        dialect_insert(ReferenceCounter)
        .values(year=year, last_number=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    number = session.execute(
        sa.update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + 1)
        .returning(ReferenceCounter.last_number)
    ).scalar_one()
    return f"BD-{year}-{number:04d}"
