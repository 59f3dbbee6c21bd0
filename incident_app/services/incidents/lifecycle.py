"""The incident lifecycle: which status may follow which, and the transition use case
(reopening and closing as not a breach have their own conditions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import can
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services import assessment
from incident_app.services import audit
from incident_app.services import review
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import get_workable

S = IncidentStatus
# The lifecycle. Stepping back one stage is allowed where new facts can send a case back.
ALLOWED: dict[IncidentStatus, tuple[IncidentStatus, ...]] = {
    S.REPORTED: (S.CONTAINMENT, S.INVESTIGATION, S.CLOSED_NOT_A_BREACH),
    S.CONTAINMENT: (S.INVESTIGATION, S.CLOSED_NOT_A_BREACH),
    S.INVESTIGATION: (S.RISK_ASSESSMENT, S.CONTAINMENT, S.CLOSED_NOT_A_BREACH),
    S.RISK_ASSESSMENT: (S.NOTIFICATION, S.INVESTIGATION, S.CLOSED_NOT_A_BREACH),
    S.NOTIFICATION: (S.MONITORING, S.CLOSED),
    S.MONITORING: (S.CLOSED, S.NOTIFICATION),
    # Reopening (privacy officers only, with a reason) goes back to investigation.
    S.CLOSED: (S.INVESTIGATION,),
    S.CLOSED_NOT_A_BREACH: (S.INVESTIGATION,),
}


def allowed_transitions(incident: Incident) -> tuple[IncidentStatus, ...]:
    return ALLOWED[incident.status]


def path_to(current: IncidentStatus, target: IncidentStatus) -> list[IncidentStatus]:
    """The shortest run of allowed steps from `current` to `target` (empty when it is the
    current status or cannot be reached), so a page can suggest the next status."""
    paths: dict[IncidentStatus, list[IncidentStatus]] = {current: []}
    frontier = [current]
    while frontier and target not in paths:
        step = frontier.pop(0)
        for following in ALLOWED[step]:
            if following not in paths:
                paths[following] = [*paths[step], following]
                frontier.append(following)
    return paths.get(target, [])


def transition(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    to: IncidentStatus,
    now: datetime,
    reason: str = "",
) -> Incident:
    """Move the incident along its lifecycle. Reopening needs a privacy officer and a reason;
    closing as not a breach needs a signed determination (see `_not_a_breach_basis`).

    Raises NotFound, NotAllowed, InvalidTransition (409: the message lists what is allowed),
    ValidationFailed (missing reason). Commits once.
    """
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    current, reason = incident.status, reason.strip()
    if to not in ALLOWED[current]:
        allowed = ", ".join(s.label for s in ALLOWED[current])
        raise InvalidTransition(
            f"An incident in “{current.label}” cannot move to “{to.label}”. "
            f"From here it can move to: {allowed}."
        )
    details: dict[str, Any] = {"from": current.value, "to": to.value}
    if current.is_closed:
        _check_reopen(actor, reason)
    if to is S.CLOSED_NOT_A_BREACH:
        details["basis"] = _not_a_breach_basis(session, actor, incident, reason)
    _check_closing_rules(session, incident, to)
    if reason:
        details["reason"] = reason
    incident.status = to
    incident.closed_at = now if to.is_closed else None
    incident.updated_at = now
    verb = "reopened" if current.is_closed else "moved"
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.STATUS,
        at=now,
        actor=actor,
        text=f"Status {verb}: {current.label} → {to.label}"
        + (f". Reason: {reason}" if reason else "."),
        details=details,
    )
    audit.record(
        session,
        actor=actor,
        action="incident.status_changed",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details=details,
    )
    session.commit()
    return incident


def _check_closing_rules(session: Session, incident: Incident, to: IncidentStatus) -> None:
    """Closing as a breach waits for what the organisation requires (a signed post-incident
    review, when that setting is on: services.review.closure_blockers)."""
    if to is S.CLOSED:
        blockers = review.closure_blockers(session, incident)
        if blockers:
            raise InvalidTransition(" ".join(blockers))


def _check_reopen(actor: User, reason: str) -> None:
    if not can(actor, Capability.MANAGE_ALL_INCIDENTS):
        raise NotAllowed("Only a privacy officer can reopen a closed incident.")
    if not reason:
        raise ValidationFailed("Say why the incident is reopened.", field="reason")


def _not_a_breach_basis(session: Session, actor: User, incident: Incident, reason: str) -> str:
    """Closing as "not a breach" needs the signed documentation 164.414(b) puts the burden
    of proof on: a low-probability conclusion, secured PHI or an exception (assessment)."""
    basis = assessment.closure_basis(session, incident)
    if basis is None:
        raise InvalidTransition(
            "This incident cannot be closed as not a breach yet: it needs a signed risk "
            "assessment that documents a low probability of compromise, secured PHI, an "
            "exception or that no breach of PHI occurred."
        )
    return basis
