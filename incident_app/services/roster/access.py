"""Who may see and change an incident's roster, and which rows are the roster.

The roster holds PHI, so reading it is narrower than reading the incident: its team, privacy
officers and auditors (admins see incidents but not PHI). The roster is the rows of the
incident's COMMITTED imports (see models/roster.py); `visible` is that condition.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.models.incident import Incident
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.incidents import access as incident_access


def get_readable(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident if `actor` may see its roster (PHI): its team, privacy officers and
    auditors. Admins see incidents but not PHI. NotFound for non-members (incident_access)."""
    incident = incident_access.get_visible(session, actor=actor, incident_id=incident_id)
    if actor.role in (Role.PRIVACY_OFFICER, Role.AUDITOR):
        return incident
    if incident_access.case_role(session, incident_id=incident_id, user_id=actor.id) is None:
        raise NotAllowed(
            "The roster holds PHI: only the incident's team, privacy officers "
            "and auditors can see it."
        )
    return incident


def get_workable(session: Session, *, actor: User, incident_id: int) -> Incident:
    get_readable(session, actor=actor, incident_id=incident_id)
    return incident_access.get_workable(session, actor=actor, incident_id=incident_id)


def can_change(session: Session, *, actor: User, incident: Incident) -> bool:
    return incident_access.can_work_on(session, actor=actor, incident=incident)


def committed_import_ids(session: Session, incident_id: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(RosterImport.id).where(
                RosterImport.incident_id == incident_id,
                RosterImport.status == ImportStatus.COMMITTED,
            )
        )
    )


def visible(incident_id: int) -> sa.ColumnElement[bool]:
    """Rows of the roster: those of the incident's committed imports."""
    committed = sa.select(RosterImport.id).where(
        RosterImport.incident_id == incident_id, RosterImport.status == ImportStatus.COMMITTED
    )
    return RosterPerson.import_id.in_(committed.scalar_subquery())


def get_import(session: Session, *, actor: User, incident_id: int, import_id: int) -> RosterImport:
    get_readable(session, actor=actor, incident_id=incident_id)
    record = session.get(RosterImport, import_id)
    if record is None or record.incident_id != incident_id:
        raise NotFound("No such roster import for this incident.")
    return record
