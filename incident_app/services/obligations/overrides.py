"""A privacy officer's overrides: a due date or the determination recorded beside the computed one.

Both are kept and shown side by side; each override is audited and commits once.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import Determination as StoredDetermination
from incident_app.models.obligation import Obligation
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import access as incident_access
from incident_app.services.obligations.diff import iso
from incident_app.services.obligations.reading import stored_determination
from incident_app.services.obligations.sync import sync


def override_due_date(
    session: Session,
    *,
    actor: User,
    obligation_id: int,
    due_on: date | None,
    reason: str,
    now: datetime,
    incident_id: int | None = None,
) -> Obligation:
    """Record (or with due_on=None, clear) a privacy officer's due date beside the computed
    one. Both are kept; the change is audited. Raises NotFound/NotAllowed/ValidationFailed.
    `incident_id` (from the URL) must own the obligation. Commits once."""
    require(actor, Capability.SIGN_DETERMINATIONS)
    row = session.get(Obligation, obligation_id)
    if row is None or (incident_id is not None and row.incident_id != incident_id):
        raise NotFound("No such obligation.")
    incident_access.get_visible(session, actor=actor, incident_id=row.incident_id)
    reason = _override_reason(reason)
    old = row.override_due_on
    row.override_due_on, row.override_reason = due_on, reason
    row.override_by_id, row.override_at = actor.id, now
    audit.record(
        session,
        actor=actor,
        action="obligation.due_date_overridden",
        at=now,
        subject_type="obligation",
        subject_id=row.id,
        incident_id=row.incident_id,
        details={
            "obligation": f"{row.kind} {row.jurisdiction}",
            "computed": iso(row.due_on),
            "override": [iso(old), iso(due_on)],
            "reason": reason,
        },
    )
    session.commit()
    return row


def override_determination(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    reportable: bool | None,
    reason: str,
    now: datetime,
) -> StoredDetermination:
    """Record (or with reportable=None, clear) a privacy officer's override of the computed
    determination. The computed value stays and is shown beside it; audited. Commits once."""
    require(actor, Capability.SIGN_DETERMINATIONS)
    incident = incident_access.get_visible(session, actor=actor, incident_id=incident_id)
    reason = _override_reason(reason)
    row = stored_determination(session, incident.id)
    if row is None:
        sync(session, incident=incident, now=now, actor=actor)
        row = stored_determination(session, incident.id)
        assert row is not None  # sync just stored it
    old = row.override_reportable
    row.override_reportable, row.override_reason = reportable, reason
    row.override_by_id, row.override_at = actor.id, now
    audit.record(
        session,
        actor=actor,
        action="determination.overridden",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details={
            "computed_reportable": row.reportable,
            "override": [old, reportable],
            "reason": reason,
        },
    )
    session.commit()
    return row


def _override_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Give the reason for the override; it is kept with it.", field="reason"
        )
    if len(reason) > 5000:
        raise ValidationFailed("Keep the reason under 5,000 characters.", field="reason")
    return reason
