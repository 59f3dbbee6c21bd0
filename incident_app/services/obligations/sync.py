"""Stored facts → rules engine → Obligation rows: `sync`, the only writer of computed obligations.

`sync` never commits: every service that changes a fact calls it inside its own transaction,
so a page can never show deadlines that disagree with the facts. What to store is decided by
the pure `diff` (shared with the demo seeder); this module applies it to the rows.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import rules
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Determination as StoredDetermination
from incident_app.models.incident import Incident
from incident_app.models.obligation import Obligation
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import access as incident_access
from incident_app.services.obligations import diff as obligation_diff
from incident_app.services.obligations.diff import ObligationChanges
from incident_app.services.obligations.diff import ObligationColumns
from incident_app.services.obligations.diff import ObligationKey
from incident_app.services.obligations.evaluation import NOTICE_FIELD
from incident_app.services.obligations.evaluation import evaluate_stored
from incident_app.services.obligations.evaluation import signed_assessment
from incident_app.services.obligations.reading import stored_determination


def sync(
    session: Session, *, incident: Incident, now: datetime, actor: User | None = None
) -> rules.Determination:
    """Recompute the determination and obligations of `incident` and store the difference.

    The engine reads the incident's facts, the organisation's role (settings) and the notices
    recorded as sent, so recording a notice moves the clocks counted from it.

    Changed obligations are updated, ones that no longer apply are marked inactive (never
    deleted) and come back active when they apply again. Due-date changes are audited
    (old → new). Flushes, never commits: call it inside the caller's transaction.
    Raises ValidationFailed (field = the form field) when the engine rejects the facts.
    """
    session.flush()
    session.refresh(incident, ["state_counts", "law_enforcement_statements"])
    assessment = signed_assessment(session, incident.id)
    determination = evaluate_stored(session, incident, assessment)
    changes = _store_obligations(session, incident, determination.obligations, now)
    _store_determination(session, incident, determination, assessment, now)
    if changes.details:
        audit.record(
            session,
            actor=actor,
            action="obligations.recomputed",
            at=now,
            subject_type="incident",
            subject_id=incident.id,
            incident_id=incident.id,
            details=changes.details,
        )
    session.flush()
    return determination


def _store_obligations(
    session: Session,
    incident: Incident,
    computed: tuple[rules.Obligation, ...],
    now: datetime,
) -> ObligationChanges:
    """Apply the diff to the incident's rows: insert, overwrite, retire; return the diff."""
    query = sa.select(Obligation).where(Obligation.incident_id == incident.id)
    rows = {(r.kind, r.jurisdiction, r.source_key): r for r in session.scalars(query)}
    changes = obligation_diff.diff(rows.values(), computed)

    def create(key: ObligationKey, columns: ObligationColumns) -> Obligation:
        kind, jurisdiction, source_key = key
        row = Obligation(
            incident_id=incident.id,
            kind=kind,
            jurisdiction=jurisdiction,
            source_key=source_key,
            created_at=now,
            updated_at=now,
            **columns,
        )
        session.add(row)
        return row

    obligation_diff.apply(changes, rows, create=create, now=now)
    return changes


def _store_determination(
    session: Session,
    incident: Incident,
    determination: rules.Determination,
    assessment: AssessmentVersion | None,
    now: datetime,
) -> StoredDetermination:
    row = stored_determination(session, incident.id)
    if row is None:
        row = StoredDetermination(incident_id=incident.id)
        session.add(row)
    columns = obligation_diff.determination_columns(
        determination, assessment_version_id=assessment.id if assessment else None, now=now
    )
    for name, value in columns.items():
        setattr(row, name, value)
    return row


# ---------------------------------------------------------------- use cases that re-sync


def sync_or_roll_back(
    session: Session, *, incident: Incident, now: datetime, actor: User, notice_field: str
) -> rules.Determination:
    """`sync` for a use case that commits what it wrote only if the engine accepts the facts:
    a fact edit, a notice marked as sent, an HHS filing (clocks counted from a recorded notice,
    e.g. "5 business days after notifying the Secretary", move with it). Flushes.

    When the engine rejects the facts the session is rolled back (nothing the caller wrote
    survives) and ValidationFailed is raised; a recorded notice dated before the discovery is
    reported on the caller's `notice_field`.
    """
    try:
        return sync(session, incident=incident, now=now, actor=actor)
    except ValidationFailed as error:
        session.rollback()
        if error.field == NOTICE_FIELD:
            raise ValidationFailed(str(error), field=notice_field) from error
        raise


def recompute(session: Session, *, actor: User, incident_id: int, now: datetime) -> None:
    """Run sync for an incident from the page (e.g. one recorded before this feature).
    Raises ValidationFailed when the engine rejects the facts. Commits once."""
    incident = incident_access.get_workable(session, actor=actor, incident_id=incident_id)
    sync(session, incident=incident, now=now, actor=actor)
    session.commit()


def update_discovery(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    discovered_on: date,
    diligence_known_on: date | None,
    now: datetime,
) -> rules.Determination:
    """Change the discovery dates (164.404(a)(2)) and move every deadline with them.

    Audits the change (old → new) and re-syncs in the same transaction; nothing is written if
    the engine rejects the new facts. Commits once.
    """
    incident = incident_access.get_workable(session, actor=actor, incident_id=incident_id)
    new = {"discovered_on": discovered_on, "diligence_known_on": diligence_known_on}
    changes = {
        name: [obligation_diff.iso(getattr(incident, name)), obligation_diff.iso(value)]
        for name, value in new.items()
        if getattr(incident, name) != value
    }
    for name, value in new.items():
        setattr(incident, name, value)
    incident.updated_at = now
    if changes:
        audit.record(
            session,
            actor=actor,
            action="incident.facts_changed",
            at=now,
            subject_type="incident",
            subject_id=incident.id,
            incident_id=incident.id,
            details=changes,
        )
    determination = sync_or_roll_back(
        session, incident=incident, now=now, actor=actor, notice_field="discovered_on"
    )
    session.commit()
    return determination
