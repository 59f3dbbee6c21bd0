"""Deadlines as the sweep and the calendar see them: active obligations, open tasks and open
corrective actions on incidents that are not closed; whether one is still due; and the
version of each due date (the calendar's SEQUENCE).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.client import ClientNotice
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.models.letter import NoticeSent
from incident_app.models.obligation import Obligation
from incident_app.models.reminder import DeadlineVersion
from incident_app.models.reminder import SubjectType
from incident_app.models.task import OPEN_TASK_STATUSES
from incident_app.models.task import Task
from incident_app.services import corrective_actions
from incident_app.services.clients import acknowledgements
from incident_app.services.inquiries import listing as inquiry_listing
from incident_app.services.obligations import kinds
from incident_app.services.obligations import reading as obligation_reading

TASK_KIND = kinds.TASK_KIND
ACTION_KIND = kinds.ACTION_KIND
INQUIRY_KIND = kinds.INQUIRY_KIND
CLIENT_ACK_KIND = kinds.CLIENT_ACK_KIND
CLOSED = (IncidentStatus.CLOSED, IncidentStatus.CLOSED_NOT_A_BREACH)


@dataclass(frozen=True)
class Deadline:
    """An obligation or a task as the sweep and the calendar see it (no PHI in `label`)."""

    subject_type: SubjectType
    subject_id: int
    incident_id: int
    reference: str
    kind: str
    label: str
    due_on: date
    assignee_id: int | None = None
    detail: str = ""  # in-app only (a task's title may name a patient; email never shows it)
    due_at: datetime | None = None  # UTC, for clocks counted in hours (GDPR Art. 33: 72 h)

    @property
    def due_text(self) -> str:
        """The due date, with the UTC time for an hour clock ("2026-03-05 14:00 UTC")."""
        if self.due_at is None:
            return self.due_on.isoformat()
        return self.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def key(self) -> tuple[SubjectType, int]:
        return (self.subject_type, self.subject_id)

    @property
    def link(self) -> str:
        """Where the deadline is worked on: the Deadlines tab, or the task itself."""
        if self.subject_type is SubjectType.TASK:
            return f"/incidents/{self.incident_id}/tasks/{self.subject_id}"
        if self.subject_type is SubjectType.CORRECTIVE_ACTION:
            return f"/incidents/{self.incident_id}/actions"
        if self.subject_type is SubjectType.INQUIRY:
            return f"/incidents/{self.incident_id}/inquiries/{self.subject_id}"
        if self.subject_type is SubjectType.CLIENT_NOTICE:
            return f"/incidents/{self.incident_id}/client-notices/{self.subject_id}"
        return f"/incidents/{self.incident_id}/deadlines"


def label_of(kind: str, jurisdiction: str, detail: Mapping[str, Any] | None = None) -> str:
    return kinds.label_with_place(kind, jurisdiction, detail)


def active_deadlines(
    session: Session, *, incident_ids: sa.Select[int] | None = None
) -> list[Deadline]:
    """Active obligations, open tasks and open corrective actions with a due date, on
    incidents that are not closed (optionally only those in the `incident_ids` subquery)."""
    return (
        _obligation_deadlines(session, incident_ids)
        + _task_deadlines(session, incident_ids)
        + _action_deadlines(session, incident_ids)
        + _inquiry_deadlines(session, incident_ids)
        + _acknowledgement_deadlines(session, incident_ids)
    )


def _acknowledgement_deadlines(
    session: Session, incident_ids: sa.Select[int] | None
) -> list[Deadline]:
    """Sent client notices not yet acknowledged: due N business days after sending (the
    organisation's setting), reminded to the privacy officers (recipients.py)."""
    return [
        Deadline(
            SubjectType.CLIENT_NOTICE,
            item.notice_id,
            item.incident_id,
            item.reference,
            CLIENT_ACK_KIND,
            item.label,
            item.due_on,
        )
        for item in acknowledgements.awaiting(session, incident_ids=incident_ids)
    ]


def _action_deadlines(session: Session, incident_ids: sa.Select[int] | None) -> list[Deadline]:
    """Corrective action plan items: reminded to their owner like tasks."""
    return [
        Deadline(
            SubjectType.CORRECTIVE_ACTION,
            item.action_id,
            item.incident_id,
            item.reference,
            ACTION_KIND,
            item.label,
            item.due_on,
            item.owner_id,
            item.title,
        )
        for item in corrective_actions.due_items(session, incident_ids=incident_ids)
    ]


def _inquiry_deadlines(session: Session, incident_ids: sa.Select[int] | None) -> list[Deadline]:
    """Follow-ups of open inquiries: reminded to their assignee like tasks. The label names the
    inquiry and its category, never the person (the summary is PHI and stays encrypted)."""
    return [
        Deadline(
            SubjectType.INQUIRY,
            inquiry.id,
            inquiry.incident_id,
            reference,
            INQUIRY_KIND,
            f"Inquiry #{inquiry.id} ({inquiry.category.label.lower()})",
            inquiry.follow_up_on,
            inquiry.assignee_id,
        )
        for inquiry, reference in inquiry_listing.open_follow_ups(
            session, incident_ids=incident_ids, closed=CLOSED
        )
        if inquiry.follow_up_on is not None  # always: the query asks for one; narrows the type
    ]


def _obligation_deadlines(session: Session, incident_ids: sa.Select[int] | None) -> list[Deadline]:
    query = (
        sa.select(Obligation, Incident.reference)
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(obligation_reading.outstanding(), Incident.status.not_in(CLOSED))
    )
    if incident_ids is not None:
        query = query.where(Obligation.incident_id.in_(incident_ids))
    found = []
    for row, reference in session.execute(query):
        if row.effective_due_on is not None:
            found.append(
                Deadline(
                    SubjectType.OBLIGATION,
                    row.id,
                    row.incident_id,
                    reference,
                    row.kind,
                    label_of(row.kind, row.jurisdiction, row.detail),
                    row.effective_due_on,
                    due_at=_due_at(row),
                )
            )
    return found


def _due_at(row: Obligation) -> datetime | None:
    # A privacy officer's override is a date: the overridden deadline is all-day.
    if row.due_at is None or row.override_due_on is not None:
        return None
    return row.due_at.astimezone(UTC)


def _task_deadlines(session: Session, incident_ids: sa.Select[int] | None) -> list[Deadline]:
    query = (
        sa.select(Task, Incident.reference)
        .join(Incident, Incident.id == Task.incident_id)
        .where(
            Task.status.in_(OPEN_TASK_STATUSES),
            Task.due_on.is_not(None),
            Incident.status.not_in(CLOSED),
        )
    )
    if incident_ids is not None:
        query = query.where(Task.incident_id.in_(incident_ids))
    return [
        Deadline(
            SubjectType.TASK,
            task.id,
            task.incident_id,
            reference,
            TASK_KIND,
            f"Task #{task.id}",
            task.due_on,
            task.assignee_id,
            task.title,
        )
        for task, reference in session.execute(query)
        if task.due_on is not None  # always: the query asks for a due date; narrows the type
    ]


def notice_sent(session: Session, obligation_id: int) -> bool:
    """The obligation is met: its notice is recorded as sent, so reminders stop. A client's
    164.410 and contractual deadlines are met by the first client notice recorded as sent."""
    if session.scalar(sa.select(sa.exists().where(NoticeSent.obligation_id == obligation_id))):
        return True
    return bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    Obligation.id == obligation_id,
                    Obligation.kind.in_(("ba_to_ce_notice", "ba_to_ce_contract")),
                    Obligation.source_key
                    == sa.literal("client:") + sa.cast(ClientNotice.client_id, sa.String),
                    ClientNotice.incident_id == Obligation.incident_id,
                    ClientNotice.number == 1,
                    ClientNotice.sent_at.is_not(None),
                )
            )
        )
    )


def still_due(session: Session, deadline: Deadline) -> bool:
    """Re-read the deadline under a row lock: a fact change may have removed or moved it
    since the sweep listed it."""
    if deadline.subject_type is SubjectType.OBLIGATION:
        row = session.get(
            Obligation, deadline.subject_id, with_for_update=True, populate_existing=True
        )
        alive = (
            row is not None
            and row.active
            and row.effective_due_on == deadline.due_on
            and not notice_sent(session, row.id)
        )
    elif deadline.subject_type is SubjectType.CORRECTIVE_ACTION:
        alive = corrective_actions.still_due(
            session, action_id=deadline.subject_id, due_on=deadline.due_on
        )
    elif deadline.subject_type is SubjectType.INQUIRY:
        alive = inquiry_listing.follow_up_still_due(
            session, inquiry_id=deadline.subject_id, due_on=deadline.due_on
        )
    elif deadline.subject_type is SubjectType.CLIENT_NOTICE:
        alive = acknowledgements.still_awaiting(
            session, notice_id=deadline.subject_id, due=deadline.due_on
        )
    else:
        task = session.get(Task, deadline.subject_id, with_for_update=True, populate_existing=True)
        alive = (
            task is not None
            and task.status in OPEN_TASK_STATUSES
            and task.due_on == deadline.due_on
        )
    status = session.scalar(sa.select(Incident.status).where(Incident.id == deadline.incident_id))
    return alive and status not in CLOSED


# ---------------------------------------------------------------- calendar versions


def track_versions(
    session: Session, deadlines: Iterable[Deadline], *, now: datetime
) -> dict[tuple[SubjectType, int], int]:
    """Record each deadline's current due date; a moved date bumps its sequence (the ICS
    SEQUENCE). Returns the sequence per deadline. No commit."""
    wanted = {d.key: d for d in deadlines}
    rows = {
        (row.subject_type, row.subject_id): row
        for row in session.scalars(sa.select(DeadlineVersion))
        if (row.subject_type, row.subject_id) in wanted
    }
    sequences = {}
    for key, deadline in wanted.items():
        row = rows.get(key)
        if row is None:
            row = _new_version(session, deadline, now)
        elif row.due_on != deadline.due_on:
            row.due_on, row.sequence, row.changed_at = deadline.due_on, row.sequence + 1, now
        sequences[key] = row.sequence
    session.flush()
    return sequences


def _new_version(session: Session, deadline: Deadline, now: datetime) -> DeadlineVersion:
    row = DeadlineVersion(
        subject_type=deadline.subject_type,
        subject_id=deadline.subject_id,
        due_on=deadline.due_on,
        sequence=0,
        changed_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent sweep or feed may have just added it
            session.add(row)
    except sa.exc.IntegrityError:
        row = session.scalars(
            sa.select(DeadlineVersion).where(
                DeadlineVersion.subject_type == deadline.subject_type,
                DeadlineVersion.subject_id == deadline.subject_id,
            )
        ).one()
    return row
