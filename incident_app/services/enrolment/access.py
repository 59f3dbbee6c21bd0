"""Who may do what with an incident's enrollment codes.

- Pool status (offer, counts, the state offer lengths): anyone who can see the incident — its
  response team, privacy officers, auditors, admins. No code is shown there.
- Importing codes and the vendor export (every assigned code): privacy officers only; codes
  are bearer credentials for a paid service, and the export leaves the organisation.
- One person's code, on the person's record: whoever may read the roster's PHI
  (roster_access.get_readable: the team, privacy officers, auditors), audited.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import can
from incident_app.errors import NotAllowed
from incident_app.models.incident import Incident
from incident_app.models.user import User
from incident_app.services.incidents import access as incident_access


def get_viewable(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident if `actor` may see its pool's status; NotFound for non-members."""
    return incident_access.get_visible(session, actor=actor, incident_id=incident_id)


def may_manage(actor: User) -> bool:
    return can(actor, Capability.MANAGE_ALL_INCIDENTS)


def get_manageable(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident if `actor` may import codes and export them for the vendor (privacy
    officers). NotFound for non-members, NotAllowed for the rest of the team."""
    incident = get_viewable(session, actor=actor, incident_id=incident_id)
    if not may_manage(actor):
        raise NotAllowed(
            "Only a privacy officer imports enrollment codes or exports them for the vendor."
        )
    return incident
