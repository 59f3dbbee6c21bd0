"""The response team of an incident: who is on it, who could join, adding and removing
members (privacy officers and the case lead manage it).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from incident_app.access import Capability
from incident_app.access import can
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.task import OPEN_TASK_STATUSES
from incident_app.models.task import Task
from incident_app.models.timeline import EntryKind
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import case_role
from incident_app.services.incidents.access import get_visible

TEAM_ROLES = (Role.PRIVACY_OFFICER, Role.RESPONDER, Role.LEGAL)


def may_manage_team(session: Session, *, actor: User, incident: Incident) -> bool:
    """Privacy officers and the case lead manage the team."""
    if can(actor, Capability.MANAGE_ALL_INCIDENTS):
        return True
    return case_role(session, incident_id=incident.id, user_id=actor.id) is CaseRole.LEAD


def team(session: Session, *, actor: User, incident_id: int) -> list[IncidentMember]:
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(IncidentMember)
            .where(IncidentMember.incident_id == incident.id)
            .options(selectinload(IncidentMember.user))
            .order_by(IncidentMember.added_at)
        )
    )


def team_candidates(session: Session, *, actor: User, incident_id: int) -> list[User]:
    """Active people who could join: privacy officers, responders and legal reviewers."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    members = sa.select(IncidentMember.user_id).where(IncidentMember.incident_id == incident.id)
    return list(
        session.scalars(
            sa.select(User)
            .where(User.active.is_(True), User.role.in_(TEAM_ROLES), User.id.not_in(members))
            .order_by(User.name)
        )
    )


def add_member(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    user_id: int,
    case_role: CaseRole,
    now: datetime,
) -> IncidentMember:
    """Put a person on the team. Raises NotFound, NotAllowed, ValidationFailed. Commits once."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    if not may_manage_team(session, actor=actor, incident=incident):
        raise NotAllowed("Only a privacy officer or the case lead can change the team.")
    user = _check_new_member(session, incident, session.get(User, user_id), case_role)
    member = IncidentMember(
        incident_id=incident.id,
        user_id=user.id,
        case_role=case_role,
        added_at=now,
        added_by_id=actor.id,
    )
    session.add(member)
    session.flush()
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.TEAM,
        at=now,
        actor=actor,
        text=f"{user.name} joined the team as {case_role.label.lower()}.",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.member_added",
        at=now,
        subject_type="incident_member",
        subject_id=member.id,
        incident_id=incident.id,
        details={"user": user.email, "case_role": case_role.value},
    )
    session.commit()
    return member


def _check_new_member(
    session: Session, incident: Incident, user: User | None, role: CaseRole
) -> User:
    """The user, if they may join the team in `role`; ValidationFailed otherwise."""
    if user is None or not user.active:
        raise ValidationFailed("Choose an active user.", field="user_id")
    if user.role not in TEAM_ROLES:
        raise ValidationFailed(
            f"{user.name} is {user.role.label.lower()}: only privacy officers, responders and "
            "legal reviewers join a response team.",
            field="user_id",
        )
    if user.role is Role.LEGAL and role is not CaseRole.LEGAL:
        raise ValidationFailed(
            "A legal reviewer joins the team in the legal role.", field="case_role"
        )
    if case_role(session, incident_id=incident.id, user_id=user.id) is not None:
        raise ValidationFailed(f"{user.name} is already on the team.", field="user_id")
    return user


def remove_member(
    session: Session, *, actor: User, incident_id: int, member_id: int, now: datetime
) -> None:
    """Take a person off the team; refused while they still have open tasks. Commits once."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    if not may_manage_team(session, actor=actor, incident=incident):
        raise NotAllowed("Only a privacy officer or the case lead can change the team.")
    member = session.get(IncidentMember, member_id)
    if member is None or member.incident_id != incident.id:
        raise NotFound("No such team member.")
    open_tasks = session.scalar(
        sa.select(sa.func.count())
        .select_from(Task)
        .where(
            Task.incident_id == incident.id,
            Task.assignee_id == member.user_id,
            Task.status.in_(OPEN_TASK_STATUSES),
        )
    )
    if open_tasks:
        raise ValidationFailed(
            f"{member.user.name} still has {open_tasks} open task(s) on this incident: "
            "reassign them first.",
            field="member",
        )
    name, email = member.user.name, member.user.email
    session.delete(member)
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.TEAM,
        at=now,
        actor=actor,
        text=f"{name} left the team.",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.member_removed",
        at=now,
        subject_type="incident_member",
        subject_id=member_id,
        incident_id=incident.id,
        details={"user": email},
    )
    session.commit()
