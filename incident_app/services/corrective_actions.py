"""The corrective action plan: actions with owners and due dates, proof of completion, training.

What the plan says feeds other areas: `hhs_actions` gives the HHS packet's Section 4
("Actions Taken in Response to Breach" + "other actions"), `actions_taken_summary` the
letters' "what we are doing" text, and `due_items` the reminder sweep.

Training records (who was retrained, with attestations) are services/training.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.corrective_action import ActionStatus
from incident_app.models.corrective_action import CorrectiveAction
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.incident import IncidentStatus
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.evidence import Upload
from incident_app.services.impact import attachments
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import can_work_on
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.services.organisation import get_organisation
from incident_app.storage import FileStore

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "ocr_actions.json"
OTHER = "other"
CLOSED = (IncidentStatus.CLOSED, IncidentStatus.CLOSED_NOT_A_BREACH)


@cache
def ocr_actions() -> dict[str, str]:
    """OCR's "actions taken" options, code → label, in the portal's order."""
    entries = json.loads(DATA_FILE.read_text(encoding="utf-8"))["actions_taken"]
    return {entry["code"]: entry["label"] for entry in entries}


# --- actions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionInput:
    ocr_code: str  # "" for a freely written action
    title: str
    owner_id: int | None
    due_on: date | None
    details: str = ""


def create_action(
    session: Session, *, actor: User, incident_id: int, action: ActionInput, now: datetime
) -> CorrectiveAction:
    """Add an action to the plan. The owner must be on the incident's team.
    Raises NotFound, NotAllowed, ValidationFailed. Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    code, title = _code_and_title(action)
    if action.owner_id is None or not _is_member(session, incident.id, action.owner_id):
        raise ValidationFailed("Choose an owner from the incident's team.", field="owner_id")
    if action.due_on is None:
        raise ValidationFailed("Give the date the action is due.", field="due_on")
    row = CorrectiveAction(
        incident_id=incident.id,
        ocr_code=code,
        title=title,
        details=action.details.strip(),
        owner_id=action.owner_id,
        due_on=action.due_on,
        status=ActionStatus.PLANNED,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="corrective_action.created",
        at=now,
        subject_type="corrective_action",
        subject_id=row.id,
        incident_id=incident.id,
        details={
            "ocr_code": code,
            "title": title,
            "owner_id": row.owner_id,
            "due_on": row.due_on.isoformat(),
        },
    )
    session.commit()
    return row


def _code_and_title(action: ActionInput) -> tuple[str | None, str]:
    code = action.ocr_code.strip() or None
    if code is not None and code not in ocr_actions():
        raise ValidationFailed(
            "Choose an action from the OCR list, or write your own.", field="ocr_code"
        )
    title = action.title.strip()
    if not title and code is not None and code != OTHER:
        title = ocr_actions()[code]
    if not title:
        raise ValidationFailed(
            "Describe the action (or choose one from the OCR list).", field="title"
        )
    if len(title) > 300:
        raise ValidationFailed(
            "Keep the action's title under 300 characters; put the rest in the details.",
            field="title",
        )
    return code, title


def _is_member(session: Session, incident_id: int, user_id: int) -> bool:
    return (
        session.scalar(
            sa.select(IncidentMember.id).where(
                IncidentMember.incident_id == incident_id,
                IncidentMember.user_id == user_id,
            )
        )
        is not None
    )


@dataclass(frozen=True)
class StatusChange:
    status: str
    note: str = ""
    proof: Upload | None = None


def change_status(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    action_id: int,
    change: StatusChange,
    now: datetime,
    store: FileStore | None = None,
) -> CorrectiveAction:
    """Start, complete, cancel or reopen an action. The owner and whoever may work on the
    incident can do it. Completing needs a proof file when the organisation requires one;
    cancelling needs a reason. Raises NotFound, NotAllowed, ValidationFailed,
    InvalidTransition. Commits once."""
    row = _action_for_update(session, actor, incident_id, action_id)
    status = _status(change.status)
    if status is row.status:
        raise InvalidTransition(f"The action is already “{status.label}”.")
    previous = row.status
    if status is ActionStatus.DONE:
        _complete(session, actor, row, change, now, store)
    elif status is ActionStatus.CANCELLED and not change.note.strip():
        raise ValidationFailed("Say why the action is cancelled.", field="note")
    else:
        row.completed_at, row.completed_by_id, row.proof_id = None, None, None
    row.status, row.updated_at = status, now
    if status is not ActionStatus.DONE:
        row.completion_note = change.note.strip()
    details = {
        "from": previous.value,
        "to": status.value,
        "note": change.note.strip(),
        "proof_id": row.proof_id,
    }
    timeline.add(
        session,
        incident_id=row.incident_id,
        kind=EntryKind.TASK,
        at=now,
        actor=actor,
        text=f"Corrective action “{row.title}”: {previous.label} → {status.label}.",
        details=details,
    )
    audit.record(
        session,
        actor=actor,
        action="corrective_action.status_changed",
        at=now,
        subject_type="corrective_action",
        subject_id=row.id,
        incident_id=row.incident_id,
        details=details,
    )
    session.commit()
    return row


def _status(value: str) -> ActionStatus:
    try:
        return ActionStatus(value)
    except ValueError as error:
        raise ValidationFailed("Choose a status.", field="status") from error


def _action_for_update(
    session: Session, actor: User, incident_id: int, action_id: int
) -> CorrectiveAction:
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    row = session.get(CorrectiveAction, action_id)
    if row is None or row.incident_id != incident.id:
        raise NotFound("No such corrective action on this incident.")
    if row.owner_id != actor.id and not can_work_on(session, actor=actor, incident=incident):
        raise NotAllowed("Only the action's owner or the incident's team can change it.")
    return row


def _complete(
    session: Session,
    actor: User,
    row: CorrectiveAction,
    change: StatusChange,
    now: datetime,
    store: FileStore | None,
) -> None:
    if change.proof is None and get_organisation(session).require_proof_to_close_action:
        raise ValidationFailed(
            "Attach proof of completion (a policy, a screenshot, a signed sheet): the "
            "organisation requires it before an action is marked done.",
            field="proof",
        )
    if change.proof is not None:
        if store is None:
            raise TypeError("change_status needs the file store to keep a proof file.")
        row.proof_id = attachments.attach_file(
            session,
            store=store,
            actor=actor,
            incident_id=row.incident_id,
            upload=change.proof,
            description=f"Proof of completion: {row.title}",
            now=now,
            field_name="proof",
        ).id
    row.completed_at, row.completed_by_id = now, actor.id
    row.completion_note = change.note.strip()


def plan(session: Session, *, actor: User, incident_id: int) -> list[CorrectiveAction]:
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(CorrectiveAction)
            .where(CorrectiveAction.incident_id == incident.id)
            .order_by(CorrectiveAction.due_on, CorrectiveAction.id)
        )
    )


def owner_choices(session: Session, *, actor: User, incident_id: int) -> list[User]:
    """The incident's team: the people an action can be given to."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(User)
            .join(IncidentMember, IncidentMember.user_id == User.id)
            .where(IncidentMember.incident_id == incident.id, User.active.is_(True))
            .order_by(User.name)
        )
    )


# --- what other areas read ---------------------------------------------------------------------


def _live_actions(session: Session, incident: Incident) -> list[CorrectiveAction]:
    return list(
        session.scalars(
            sa.select(CorrectiveAction)
            .where(
                CorrectiveAction.incident_id == incident.id,
                CorrectiveAction.status != ActionStatus.CANCELLED,
            )
            .order_by(CorrectiveAction.due_on, CorrectiveAction.id)
        )
    )


def hhs_actions(session: Session, incident: Incident) -> tuple[list[str], str]:
    """The HHS packet's Section 4: OCR option labels chosen (in the portal's order, "Other"
    included when there are freely written actions) and the "describe other actions" text.
    Cancelled actions are left out. No access check: the caller has done it."""
    actions = _live_actions(session, incident)
    chosen = {a.ocr_code for a in actions if a.ocr_code}
    others = [a for a in actions if a.ocr_code in (None, OTHER)]
    if others:
        chosen.add(OTHER)
    labels = [label for code, label in ocr_actions().items() if code in chosen]
    return labels, "; ".join(_described(a) for a in others)


def _described(action: CorrectiveAction) -> str:
    if action.status is ActionStatus.DONE:
        return action.title
    return f"{action.title} (planned, due {action.due_on.isoformat()})"


def actions_taken_summary(session: Session, incident: Incident) -> list[str]:
    """One line per distinct action, OCR labels first (portal order) then free text: what
    the letters' "what we are doing" section can offer. Cancelled actions are left out."""
    actions = _live_actions(session, incident)
    codes = {a.ocr_code for a in actions if a.ocr_code and a.ocr_code != OTHER}
    lines = [label for code, label in ocr_actions().items() if code in codes]
    for action in actions:
        if action.ocr_code in (None, OTHER) and action.title not in lines:
            lines.append(action.title)
    return lines


@dataclass(frozen=True)
class DueAction:
    """An open action with its due date, shaped like the reminder sweep's deadlines."""

    action_id: int
    incident_id: int
    reference: str
    title: str
    due_on: date
    owner_id: int

    @property
    def label(self) -> str:
        return f"Corrective action #{self.action_id}"


def due_items(
    session: Session, *, today: date | None = None, incident_ids: sa.Select[int] | None = None
) -> list[DueAction]:
    """Open actions on incidents that are not closed, earliest due first. With `today`,
    only those due on or before it (overdue or due today)."""
    query = (
        sa.select(CorrectiveAction, Incident.reference)
        .join(Incident, Incident.id == CorrectiveAction.incident_id)
        .where(
            CorrectiveAction.status.in_((ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)),
            Incident.status.not_in(CLOSED),
        )
        .order_by(CorrectiveAction.due_on, CorrectiveAction.id)
    )
    if today is not None:
        query = query.where(CorrectiveAction.due_on <= today)
    if incident_ids is not None:
        query = query.where(CorrectiveAction.incident_id.in_(incident_ids))
    return [
        DueAction(row.id, row.incident_id, reference, row.title, row.due_on, row.owner_id)
        for row, reference in session.execute(query)
    ]


def still_due(session: Session, *, action_id: int, due_on: date) -> bool:
    """For the sweep's re-check under lock: the action is still open with this due date."""
    row = session.get(CorrectiveAction, action_id, with_for_update=True, populate_existing=True)
    return row is not None and row.status.is_open and row.due_on == due_on
