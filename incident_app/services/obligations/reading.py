"""What the incident pages, lists and reminders read of the stored obligations and determination.

Writes nothing. Access is the caller's business except in `determination_page`, which checks
it (NotFound for non-members).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import rules
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import Determination as StoredDetermination
from incident_app.models.incident import Incident
from incident_app.models.letter import NoticeSent
from incident_app.models.obligation import Obligation
from incident_app.models.user import User
from incident_app.rules.identity_protection import OfferRequirement
from incident_app.services.enrolment import offer as identity_offer
from incident_app.services.incidents import access as incident_access
from incident_app.services.obligations.diff import HIPAA_KINDS
from incident_app.services.obligations.evaluation import evaluate_stored
from incident_app.services.obligations.evaluation import signed_assessment


def stored_determination(session: Session, incident_id: int) -> StoredDetermination | None:
    return session.scalar(
        sa.select(StoredDetermination).where(StoredDetermination.incident_id == incident_id)
    )


@dataclass(frozen=True)
class ObligationView:
    """An obligation as a page shows it, with days left counted from `today`."""

    row: Obligation
    due_on: date | None  # the effective date: the override when there is one
    days_left: int | None  # negative: overdue by that many days

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def is_state(self) -> bool:
        return self.row.kind not in HIPAA_KINDS


def obligations_of(
    session: Session, *, incident_id: int, today: date, include_inactive: bool = False
) -> list[ObligationView]:
    """The incident's obligations, soonest first (undated last).

    `today` is the date in the organisation's time zone (clock.today_in(org.timezone)).
    Access is the caller's business: call it after incident_access.get_visible.
    """
    query = sa.select(Obligation).where(Obligation.incident_id == incident_id)
    if not include_inactive:
        query = query.where(Obligation.active.is_(True))
    views = []
    for row in session.scalars(query):
        due = row.effective_due_on
        views.append(ObligationView(row, due, None if due is None else (due - today).days))
    return sorted(
        views,
        key=lambda v: (v.due_on is None, v.due_on or date.max, v.is_state, v.row.jurisdiction),
    )


@dataclass(frozen=True)
class DeterminationPage:
    """What the incident's Deadlines tab shows. `preview` is True when no determination has
    been recorded yet and the one shown was computed without storing it."""

    incident: Incident
    determination: StoredDetermination | rules.Determination
    obligations: list[ObligationView]
    preview: bool = False
    error: ValidationFailed | None = None
    # Issue 23: identity-protection offer lengths the residents' states require, beside the
    # obligations (rules/identity_protection.py).
    offers: list[OfferRequirement] = field(default_factory=list)


def determination_page(
    session: Session, *, actor: User, incident_id: int, today: date
) -> DeterminationPage:
    """The stored determination and obligations (NotFound for non-members). Writes nothing."""
    incident = incident_access.get_visible(session, actor=actor, incident_id=incident_id)
    stored = stored_determination(session, incident.id)
    offers = identity_offer.requirements(session, incident)
    if stored is not None:
        views = obligations_of(session, incident_id=incident.id, today=today)
        return DeterminationPage(incident, stored, views, offers=offers)
    try:
        computed = evaluate_stored(session, incident, signed_assessment(session, incident.id))
    except ValidationFailed as error:
        empty = rules.Determination(True, "The facts cannot be evaluated yet.", None)
        return DeterminationPage(incident, empty, [], preview=True, error=error, offers=offers)
    return DeterminationPage(incident, computed, [], preview=True, offers=offers)


def outstanding() -> sa.ColumnElement[bool]:
    """An active obligation whose notice is not yet recorded as sent: what still has a
    deadline to meet (lists, dashboard, reminders and the calendar all use this)."""
    return sa.and_(
        Obligation.active.is_(True), ~sa.exists().where(NoticeSent.obligation_id == Obligation.id)
    )
