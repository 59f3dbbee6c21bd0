"""Who may see and change which incident. Every incident service goes through here.

Privacy officers and admins see every incident, auditors see every incident read-only;
responders and legal reviewers see only incidents they are members of. A non-member gets
NotFound (404), never NotAllowed: the response must not confirm that the incident exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from incident_app.access import Capability
from incident_app.access import can
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.user import User

NOT_FOUND = "No such incident, or you are not on its team."


def visible_incidents(actor: User) -> sa.Select[Incident]:
    """A SELECT of the incidents `actor` may see (add filters, ordering and paging to it)."""
    query = sa.select(Incident)
    if can(actor, Capability.VIEW_ALL_INCIDENTS):
        return query
    member_of = sa.select(IncidentMember.incident_id).where(IncidentMember.user_id == actor.id)
    return query.where(Incident.id.in_(member_of))


def is_exercise(session: Session, *, actor: User, incident_id: int) -> bool:
    """Whether the incident is a tabletop exercise; False for one `actor` may not see (the
    banner must not confirm that an incident exists)."""
    query = visible_incidents(actor).with_only_columns(Incident.exercise)
    return bool(session.scalar(query.where(Incident.id == incident_id)))


def case_role(session: Session, *, incident_id: int, user_id: int) -> CaseRole | None:
    return session.scalar(
        sa.select(IncidentMember.case_role).where(
            IncidentMember.incident_id == incident_id, IncidentMember.user_id == user_id
        )
    )


def get_visible(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident if `actor` may see it; NotFound otherwise (also for non-members)."""
    incident = session.get(Incident, incident_id)
    if incident is None or not actor.active:
        raise NotFound(NOT_FOUND)
    if can(actor, Capability.VIEW_ALL_INCIDENTS):
        return incident
    if case_role(session, incident_id=incident_id, user_id=actor.id) is None:
        raise NotFound(NOT_FOUND)
    return incident


def can_work_on(session: Session, *, actor: User, incident: Incident) -> bool:
    """Privacy officers run any case; the lead and responders on the team work on theirs."""
    if can(actor, Capability.MANAGE_ALL_INCIDENTS):
        return True
    role = case_role(session, incident_id=incident.id, user_id=actor.id)
    return role in (CaseRole.LEAD, CaseRole.RESPONDER)


def get_workable(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident if `actor` may change it. NotFound for non-members, NotAllowed for
    people who may only read it (auditors, legal reviewers on the team)."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    if not can_work_on(session, actor=actor, incident=incident):
        raise NotAllowed("You can read this incident but not change it.")
    return incident


def get_editable(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident if `actor` may change its facts: get_workable, and InvalidTransition
    while it is closed."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    if incident.status.is_closed:
        raise InvalidTransition("This incident is closed. Reopen it to change its facts.")
    return incident


def get_incident(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident with its team, counts and statements loaded; NotFound for non-members."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    session.scalars(
        sa.select(IncidentMember)
        .where(IncidentMember.incident_id == incident.id)
        .options(selectinload(IncidentMember.user))
    ).all()
    return incident
