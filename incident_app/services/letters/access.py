"""Who may see, work on and approve an incident's letters, and the lookups that check it.

Every letter use case starts here: a letter is found only through an incident the actor may see
(or work on), so a letter id from another incident answers NotFound.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import can
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.services.organisation import get_organisation


def may_approve(session: Session, actor: User) -> bool:
    """Legal reviewers; privacy officers too when the organisation setting allows it."""
    if can(actor, Capability.APPROVE_LETTERS):
        return True
    return (
        actor.active
        and actor.role == Role.PRIVACY_OFFICER
        and get_organisation(session).privacy_officer_may_approve
    )


def require_visible(session: Session, *, actor: User, incident_id: int) -> None:
    """NotFound unless `actor` may see the incident (404 before any form is looked at)."""
    get_visible(session, actor=actor, incident_id=incident_id)


def letter_on(session: Session, incident: Incident, letter_id: int) -> Letter:
    letter = session.get(Letter, letter_id)
    if letter is None or letter.incident_id != incident.id:
        raise NotFound("No such letter on this incident.")
    return letter


def visible_letter(session: Session, actor: User, incident_id: int, letter_id: int) -> Letter:
    return letter_on(session, get_visible(session, actor=actor, incident_id=incident_id), letter_id)


def workable_letter(session: Session, actor: User, incident_id: int, letter_id: int) -> Letter:
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    return letter_on(session, incident, letter_id)


def may_work(session: Session, actor: User, incident_id: int) -> bool:
    try:
        get_workable(session, actor=actor, incident_id=incident_id)
    except NotAllowed:
        return False
    return True
