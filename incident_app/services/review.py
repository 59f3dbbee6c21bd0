"""The post-incident review: write it, sign it, and gate closing on it.

Versions work like the risk assessment's: a signed version is frozen, and saving after a
signature starts the next version. When the organisation requires it, an incident cannot
close until its latest review version is signed (`closure_blockers`, called by the
lifecycle service).

The review as a PDF report (with the plan and the impact figures) is review_report.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from typing import TypedDict
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import Incident
from incident_app.models.review import ReviewVersion
from incident_app.models.review import SafeguardFamily
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.services.organisation import get_organisation

TextField = Literal["timeline_summary", "root_cause", "what_worked", "what_did_not", "decisions"]
TEXT_FIELDS: tuple[TextField, ...] = (
    "timeline_summary",
    "root_cause",
    "what_worked",
    "what_did_not",
    "decisions",
)
TEXT_MAX = 20000
# Timeline kinds worth a line in the summary (fact edits, files and team changes are noise).
SUMMARY_KINDS = (
    EntryKind.ACTION,
    EntryKind.STATUS,
    EntryKind.TASK,
    EntryKind.LETTER,
    EntryKind.NOTICE,
    EntryKind.OTHER,
)


class ReviewValues(TypedDict):
    """A review's content as ReviewVersion stores it."""

    timeline_summary: str
    root_cause: str
    what_worked: str
    what_did_not: str
    decisions: str
    control_gaps: dict[str, list[str]]  # safeguard family value -> gaps (families with any)


@dataclass(frozen=True)
class ReviewInput:
    timeline_summary: str = ""
    root_cause: str = ""
    what_worked: str = ""
    what_did_not: str = ""
    decisions: str = ""
    # Safeguard family value -> gaps, one per item.
    control_gaps: Mapping[str, list[str]] | None = None

    def cleaned(self) -> ReviewValues:
        gaps = self.control_gaps or {}
        return {
            "timeline_summary": self.timeline_summary.strip(),
            "root_cause": self.root_cause.strip(),
            "what_worked": self.what_worked.strip(),
            "what_did_not": self.what_did_not.strip(),
            "decisions": self.decisions.strip(),
            "control_gaps": {
                family.value: [g.strip() for g in gaps.get(family.value, []) if g.strip()]
                for family in SafeguardFamily
                if any(g.strip() for g in gaps.get(family.value, []))
            },
        }


def versions(session: Session, *, actor: User, incident_id: int) -> list[ReviewVersion]:
    """Every version, newest first. Raises NotFound."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(ReviewVersion)
            .where(ReviewVersion.incident_id == incident.id)
            .order_by(ReviewVersion.number.desc())
        )
    )


def latest_version(session: Session, incident_id: int) -> ReviewVersion | None:
    return session.scalar(
        sa.select(ReviewVersion)
        .where(ReviewVersion.incident_id == incident_id)
        .order_by(ReviewVersion.number.desc())
        .limit(1)
    )


def save_review(
    session: Session, *, actor: User, incident_id: int, review: ReviewInput, now: datetime
) -> ReviewVersion:
    """Save the review: the unsigned latest version is updated; after a signature a new
    version starts. Saving unchanged text changes nothing. Raises NotFound, NotAllowed,
    ValidationFailed. Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    values = review.cleaned()
    for name in TEXT_FIELDS:
        if len(values[name]) > TEXT_MAX:
            raise ValidationFailed(f"Keep this under {TEXT_MAX} characters.", field=name)
    latest = latest_version(session, incident.id)
    changed = _changes(latest, values)
    if latest is not None and not changed:
        return latest
    row = latest
    if row is None or row.signed:
        row = ReviewVersion(
            incident_id=incident.id,
            number=(latest.number + 1) if latest else 1,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(row)
    for column, value in values.items():
        setattr(row, column, value)
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="review.saved",
        at=now,
        subject_type="review_version",
        subject_id=row.id,
        incident_id=incident.id,
        details={"version": row.number, "changed": sorted(changed)},
    )
    session.commit()
    return row


def _changes(latest: ReviewVersion | None, values: Mapping[str, object]) -> list[str]:
    if latest is None:
        return [name for name, value in values.items() if value]
    return [name for name, value in values.items() if getattr(latest, name) != value]


def content_hash(row: ReviewVersion) -> str:
    """SHA-256 over the version's content in canonical JSON: what a signature covers."""
    payload: dict[str, object] = {name: getattr(row, name) for name in TEXT_FIELDS}
    payload |= {
        "control_gaps": row.control_gaps,
        "incident_id": row.incident_id,
        "number": row.number,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sign_review(
    session: Session, *, actor: User, incident_id: int, number: int, now: datetime
) -> ReviewVersion:
    """A privacy officer signs the latest version. Raises NotAllowed (not a privacy officer),
    NotFound, InvalidTransition (not the latest, or already signed), ValidationFailed (no
    root cause). Commits once."""
    require(actor, Capability.SIGN_DETERMINATIONS)
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    latest = latest_version(session, incident.id)
    if latest is None or latest.number != number:
        raise InvalidTransition(
            "Only the latest version of the review can be signed; reload the page to see it."
        )
    if latest.signed:
        raise InvalidTransition(f"Version {number} is already signed.")
    if not latest.root_cause:
        raise ValidationFailed(
            "Write the root cause before signing the review.", field="root_cause"
        )
    latest.signed_by_id, latest.signed_at = actor.id, now
    latest.signed_sha256 = content_hash(latest)
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.OTHER,
        at=now,
        actor=actor,
        text=f"Post-incident review version {number} signed.",
        details={"version": number, "sha256": latest.signed_sha256},
    )
    audit.record(
        session,
        actor=actor,
        action="review.signed",
        at=now,
        subject_type="review_version",
        subject_id=latest.id,
        incident_id=incident.id,
        details={"version": number, "sha256": latest.signed_sha256},
    )
    session.commit()
    return latest


def closure_blockers(session: Session, incident: Incident) -> list[str]:
    """Why the incident may not close yet (empty: it may). Reads only; no commit.

    Applies the organisation's "signed review required to close" setting: the latest
    review version must exist and be signed."""
    org = get_organisation(session)
    if not org.require_signed_review_to_close:
        return []
    latest = latest_version(session, incident.id)
    if latest is None:
        return [
            "The organisation requires a signed post-incident review before an incident "
            "closes, and this incident has none yet."
        ]
    if not latest.signed:
        return [
            f"Version {latest.number} of the post-incident review is not signed: a "
            "privacy officer must sign it before the incident closes."
        ]
    return []


# --- the timeline summary ----------------------------------------------------------------------


def draft_timeline_summary(session: Session, *, actor: User, incident_id: int) -> str:
    """A dated list of what happened, generated from the incident's timeline (or, before
    anything was logged there, from its audit events). Read-only."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    zone = ZoneInfo(get_organisation(session).timezone)
    lines = _timeline_lines(session, incident.id, zone) or _audit_lines(session, incident.id, zone)
    return "\n".join(lines)


def _timeline_lines(session: Session, incident_id: int, zone: ZoneInfo) -> list[str]:
    corrected = sa.select(TimelineEntry.corrects_id).where(
        TimelineEntry.incident_id == incident_id, TimelineEntry.corrects_id.is_not(None)
    )
    entries = session.scalars(
        sa.select(TimelineEntry)
        .where(
            TimelineEntry.incident_id == incident_id,
            TimelineEntry.kind.in_(SUMMARY_KINDS),
            TimelineEntry.id.not_in(corrected),
        )
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
    )
    return [f"{in_zone(e.occurred_at, zone)} — {' '.join(e.text.split())}" for e in entries]


def _audit_lines(session: Session, incident_id: int, zone: ZoneInfo) -> list[str]:
    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.seq)
    )
    return [
        f"{in_zone(e.at, zone)} — {e.action.replace('_', ' ').replace('.', ': ')} ({e.actor_label})"
        for e in events
    ]


def in_zone(value: datetime, zone: ZoneInfo) -> str:
    """`value` in `zone` as "YYYY-MM-DD HH:MM"."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
