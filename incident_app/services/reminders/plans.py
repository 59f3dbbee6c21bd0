"""Reminder plans: which days before a due date a reminder goes out (per deadline kind,
"*" the organisation default), and the pure arithmetic of reminder points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import ValidationFailed
from incident_app.models.organisation import ORGANISATION_ID
from incident_app.models.reminder import DEFAULT_DAYS_BEFORE
from incident_app.models.reminder import EVERY_KIND
from incident_app.models.reminder import ReminderSetting
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import organisation
from incident_app.services.obligations.kinds import CLIENT_ACK_KIND
from incident_app.services.obligations.kinds import DEADLINE_LABELS

MAX_DAYS_BEFORE = 365


@dataclass(frozen=True)
class Plan:
    days_before: tuple[int, ...] = DEFAULT_DAYS_BEFORE
    overdue_daily: bool = True


def due_point(plan: Plan, due_on: date, today: date) -> int | None:
    """The latest reminder point on or before `today`, in days before `due_on`
    (0 on the day, negative while overdue), or None when no point has passed yet."""
    days_left = (due_on - today).days
    if days_left < 0 and plan.overdue_daily:
        return days_left
    passed = [days for days in plan.days_before if days >= days_left]
    return min(passed) if passed else None


def covered_points(plan: Plan, point: int, last_recorded: int | None) -> list[int]:
    """Planned points between the last recorded one and `point` (both exclusive), latest last:
    what a catch-up reminder at `point` stands in for."""
    planned = set(plan.days_before)
    if plan.overdue_daily and point < 0:
        planned.update(range(point + 1, 0))
    return sorted(
        (
            days
            for days in planned
            if days > point and (last_recorded is None or days < last_recorded)
        ),
        reverse=True,
    )


def plans(session: Session) -> dict[str, Plan]:
    """Every stored plan by kind ("*" is the organisation default)."""
    rows = session.scalars(
        sa.select(ReminderSetting).where(ReminderSetting.organisation_id == ORGANISATION_ID)
    )
    return {
        row.kind: Plan(tuple(sorted(row.days_before, reverse=True)), row.overdue_daily)
        for row in rows
    }


# Kinds whose default is not the organisation's: an acknowledgement is chased once, on the
# day it falls due (its "due date" is already the end of a waiting period).
KIND_DEFAULTS = {CLIENT_ACK_KIND: Plan(days_before=(0,), overdue_daily=False)}


def plan_for(stored: dict[str, Plan], kind: str) -> Plan:
    return stored.get(kind) or KIND_DEFAULTS.get(kind) or stored.get(EVERY_KIND) or Plan()


def set_plan(
    session: Session,
    *,
    actor: User,
    kind: str,
    days_before: Sequence[int],
    overdue_daily: bool,
    now: datetime,
) -> ReminderSetting:
    """Store the plan for `kind` ("*", "task" or an obligation kind). Raises
    ValidationFailed for an unknown kind or bad days; NotAllowed without MANAGE_SETTINGS."""
    require(actor, Capability.MANAGE_SETTINGS)
    if kind != EVERY_KIND and kind not in DEADLINE_LABELS:
        raise ValidationFailed(f"Unknown deadline kind {kind!r}.", field="kind")
    days = sorted(set(days_before), reverse=True)
    if not days or any(d < 0 or d > MAX_DAYS_BEFORE for d in days):
        raise ValidationFailed(
            f"List whole days between 0 (the due date) and {MAX_DAYS_BEFORE}, e.g. 30, 7, 1, 0.",
            field="days_before",
        )
    organisation.get_organisation(session)  # the row the plan belongs to exists from now on
    setting = session.scalar(
        sa.select(ReminderSetting).where(
            ReminderSetting.organisation_id == ORGANISATION_ID, ReminderSetting.kind == kind
        )
    )
    before = None if setting is None else [setting.days_before, setting.overdue_daily]
    if setting is None:
        setting = ReminderSetting(organisation_id=ORGANISATION_ID, kind=kind, days_before=[])
        session.add(setting)
    setting.days_before, setting.overdue_daily = days, overdue_daily
    setting.updated_at, setting.updated_by_id = now, actor.id
    audit.record(
        session,
        actor=actor,
        action="reminders.plan_changed",
        at=now,
        subject_type="reminder_setting",
        subject_id=kind,
        details={"kind": kind, "before": before, "after": [days, overdue_daily]},
    )
    session.commit()
    return setting
