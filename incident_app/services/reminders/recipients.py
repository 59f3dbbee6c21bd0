"""Who hears about a deadline: the lead, the legal reviewers for letters, the assignee, and
every privacy officer once it is overdue or nobody on the team would hear of it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentMember
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.obligations.kinds import CLIENT_ACK_KIND
from incident_app.services.obligations.kinds import LETTER_KINDS
from incident_app.services.reminders.deadlines import Deadline

# Obligations discharged by a letter (kinds.LETTER_KINDS): the team's legal reviewers are
# reminded of them too. HHS and FTC filings are typed into a portal, not written as letters.


def recipients(session: Session, deadline: Deadline, *, overdue: bool) -> list[User]:
    """The lead (and, for a letter, the team's legal reviewers; for a task, its assignee).
    Overdue deadlines, and deadlines nobody on the team would hear about, escalate to every
    privacy officer."""
    roles = {CaseRole.LEAD} | ({CaseRole.LEGAL} if deadline.kind in LETTER_KINDS else set())
    members = session.execute(
        sa.select(IncidentMember.case_role, User)
        .join(User, User.id == IncidentMember.user_id)
        .where(IncidentMember.incident_id == deadline.incident_id, User.active.is_(True))
    ).all()
    people = {
        user.id: user for role, user in members if role in roles or user.id == deadline.assignee_id
    }
    # A client that has not acknowledged our notice is the privacy officers' to chase.
    if overdue or not people or deadline.kind == CLIENT_ACK_KIND:
        officers = session.scalars(
            sa.select(User).where(User.role == Role.PRIVACY_OFFICER, User.active.is_(True))
        )
        people.update({user.id: user for user in officers})
    return sorted(people.values(), key=lambda user: user.id)
