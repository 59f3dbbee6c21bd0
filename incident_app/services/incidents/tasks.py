"""Tasks on an incident: seeded from checklists at intake, assigned to team members only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.task import ChecklistTemplate
from incident_app.models.task import Task
from incident_app.models.task import TaskStatus
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable

TITLE_MAX = 300


@dataclass(frozen=True)
class TaskInput:
    title: str
    assignee_id: int | None = None
    due_on: date | None = None
    notes: str = ""
    status: TaskStatus = TaskStatus.OPEN


def seed_from_checklists(
    session: Session,
    *,
    incident: Incident,
    actor: User,
    now: datetime,
    today: date,
    template_ids: Sequence[int] | None = None,
) -> int:
    """Add the tasks of the chosen templates, or (none chosen) of the active templates for the
    incident's types of breach. Unassigned; due dates count from `today`. No commit."""
    templates = session.scalars(
        sa.select(ChecklistTemplate)
        .where(ChecklistTemplate.active.is_(True))
        .options(selectinload(ChecklistTemplate.items))
        .order_by(ChecklistTemplate.name)
    ).all()
    if template_ids:
        chosen = [t for t in templates if t.id in set(template_ids)]
    else:
        chosen = [t for t in templates if set(t.breach_types) & set(incident.breach_types)]
    count = 0
    for template in chosen:
        for item in template.items:
            due = today + timedelta(days=item.due_days) if item.due_days is not None else None
            session.add(
                Task(
                    incident_id=incident.id,
                    title=item.title,
                    due_on=due,
                    checklist_name=template.name,
                    created_by_id=actor.id,
                    created_at=now,
                )
            )
            count += 1
    return count


def tasks_of(session: Session, *, actor: User, incident_id: int) -> list[Task]:
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(Task)
            .where(Task.incident_id == incident.id)
            .options(selectinload(Task.assignee))
            .order_by(
                Task.status.in_((TaskStatus.DONE, TaskStatus.CANCELLED)),
                Task.due_on.is_(None),
                Task.due_on,
                Task.id,
            )
        )
    )


def _check(session: Session, incident_id: int, task: TaskInput) -> None:
    if not task.title.strip():
        raise ValidationFailed("Give the task a title.", field="title")
    if len(task.title) > TITLE_MAX:
        raise ValidationFailed(f"Keep the title under {TITLE_MAX} characters.", field="title")
    if task.assignee_id is None:
        return
    member = session.scalar(
        sa.select(IncidentMember).where(
            IncidentMember.incident_id == incident_id, IncidentMember.user_id == task.assignee_id
        )
    )
    if member is None:
        user = session.get(User, task.assignee_id)
        who = user.name if user is not None else "That person"
        raise ValidationFailed(
            f"{who} is not on this incident's team. Add them to the team first, or assign "
            "the task to a member.",
            field="assignee_id",
        )


def create_task(
    session: Session, *, actor: User, incident_id: int, task: TaskInput, now: datetime
) -> Task:
    """Add a task. Raises NotFound, NotAllowed, ValidationFailed (assignee not a member).
    Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    _check(session, incident.id, task)
    row = Task(
        incident_id=incident.id,
        title=task.title.strip(),
        assignee_id=task.assignee_id,
        due_on=task.due_on,
        notes=task.notes.strip(),
        status=task.status,
        created_by_id=actor.id,
        created_at=now,
        completed_at=now if task.status is TaskStatus.DONE else None,
    )
    session.add(row)
    session.flush()
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.TASK,
        at=now,
        actor=actor,
        text=f"Task added: {row.title}" + (f" (due {row.due_on})" if row.due_on else ""),
    )
    audit.record(
        session,
        actor=actor,
        action="task.created",
        at=now,
        subject_type="task",
        subject_id=row.id,
        incident_id=incident.id,
        details={"title": row.title, "assignee_id": row.assignee_id, "due_on": row.due_on},
    )
    session.commit()
    return row


def get_task(session: Session, *, actor: User, incident_id: int, task_id: int) -> Task:
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    task = session.get(Task, task_id)
    if task is None or task.incident_id != incident.id:
        raise NotFound("No such task on this incident.")
    return task


def update_task(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    task_id: int,
    task: TaskInput,
    now: datetime,
) -> Task:
    """Change a task (status, assignee, due date, notes). Completing it puts it on the
    timeline. Raises NotFound, NotAllowed, ValidationFailed. Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    row = get_task(session, actor=actor, incident_id=incident.id, task_id=task_id)
    _check(session, incident.id, task)
    new = {
        "title": task.title.strip(),
        "assignee_id": task.assignee_id,
        "due_on": task.due_on,
        "notes": task.notes.strip(),
        "status": task.status,
    }
    changes = {k: [getattr(row, k), v] for k, v in new.items() if getattr(row, k) != v}
    if not changes:
        return row
    for name, (_old, value) in changes.items():
        setattr(row, name, value)
    if "status" in changes:
        row.completed_at = now if task.status is TaskStatus.DONE else None
        timeline.add(
            session,
            incident_id=incident.id,
            kind=EntryKind.TASK,
            at=now,
            actor=actor,
            text=f"Task {task.status.label.lower()}: {row.title}",
        )
    audit.record(
        session,
        actor=actor,
        action="task.updated",
        at=now,
        subject_type="task",
        subject_id=row.id,
        incident_id=incident.id,
        details={k: [_plain(a), _plain(b)] for k, (a, b) in changes.items()},
    )
    session.commit()
    return row


def _plain(value: object) -> object:
    return value.value if isinstance(value, TaskStatus) else value
