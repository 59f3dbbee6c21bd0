"""Checklist templates per type of breach: admins edit them; intake seeds tasks from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.task import ChecklistItem
from incident_app.models.task import ChecklistTemplate
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import options


@dataclass(frozen=True)
class ItemInput:
    title: str
    due_days: int | None = None


@dataclass(frozen=True)
class TemplateInput:
    name: str
    breach_types: tuple[str, ...]
    items: tuple[ItemInput, ...]
    active: bool = True


def active_templates(session: Session) -> list[ChecklistTemplate]:
    """Names and ids for the intake form (no access check: they hold no case data)."""
    return list(
        session.scalars(
            sa.select(ChecklistTemplate)
            .where(ChecklistTemplate.active.is_(True))
            .order_by(ChecklistTemplate.name)
        )
    )


def list_templates(session: Session, *, actor: User) -> list[ChecklistTemplate]:
    require(actor, Capability.MANAGE_SETTINGS)
    return list(
        session.scalars(
            sa.select(ChecklistTemplate)
            .options(selectinload(ChecklistTemplate.items))
            .order_by(ChecklistTemplate.active.desc(), ChecklistTemplate.name)
        )
    )


def get_template(session: Session, *, actor: User, template_id: int) -> ChecklistTemplate:
    require(actor, Capability.MANAGE_SETTINGS)
    template = session.get(ChecklistTemplate, template_id)
    if template is None:
        raise NotFound("No such checklist template.")
    return template


def save_template(
    session: Session,
    *,
    actor: User,
    values: TemplateInput,
    now: datetime,
    template_id: int | None = None,
) -> ChecklistTemplate:
    """Create or replace a template (its items are replaced as a whole). Incidents already
    seeded keep their tasks. Raises NotAllowed, NotFound, ValidationFailed. Commits once."""
    require(actor, Capability.MANAGE_SETTINGS)
    _validate(session, values, template_id)
    if template_id is None:
        template = ChecklistTemplate(name=values.name.strip())
        session.add(template)
    else:
        template = get_template(session, actor=actor, template_id=template_id)
        template.items.clear()
        session.flush()
    template.name = values.name.strip()
    template.breach_types = list(values.breach_types)
    template.active = values.active
    template.updated_at = now
    template.items.extend(
        ChecklistItem(position=n, title=item.title.strip(), due_days=item.due_days)
        for n, item in enumerate(values.items)
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=now,
        subject_type="checklist_template",
        subject_id=template.id,
        action="checklist.created" if template_id is None else "checklist.updated",
        details={
            "name": template.name,
            "breach_types": template.breach_types,
            "active": template.active,
            "items": len(values.items),
        },
    )
    session.commit()
    return template


def _validate(session: Session, values: TemplateInput, template_id: int | None) -> None:
    if not values.name.strip():
        raise ValidationFailed("Name the checklist.", field="name")
    unknown = set(values.breach_types) - options.codes("breach_types")
    if unknown:
        raise ValidationFailed(
            f"Unknown type(s) of breach: {', '.join(sorted(unknown))}.", field="breach_types"
        )
    if not values.items:
        raise ValidationFailed("Add at least one task.", field="items")
    _check_items(values.items)
    clash = session.scalar(
        sa.select(ChecklistTemplate.id).where(ChecklistTemplate.name == values.name.strip())
    )
    if clash is not None and clash != template_id:
        raise ValidationFailed("Another checklist already has this name.", field="name")


def _check_items(items: Sequence[ItemInput]) -> None:
    for n, item in enumerate(items, start=1):
        if not item.title.strip() or len(item.title) > 300:
            raise ValidationFailed(
                f"Task {n} needs a title of at most 300 characters.", field="items"
            )
        if item.due_days is not None and not 0 <= item.due_days <= 365:
            raise ValidationFailed(f"Task {n}: due days must be between 0 and 365.", field="items")
