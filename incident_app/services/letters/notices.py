"""Proof of notice: record that an approved letter went out, and read what was recorded.

Recording a notice freezes what the case said at that moment — the treated discovery date, the
obligation's due date, the days after discovery and the days late — so editing the discovery
date later never rewrites history; pages show the frozen values beside today's. The evidence
that it went out is attached as proof files (proofs.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import NoticeMethod
from incident_app.models.letter import NoticeSent
from incident_app.models.letter import ReviewAction
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services.incidents.access import get_workable
from incident_app.services.letters import context as letter_context
from incident_app.services.letters.faq import FAQ_TEMPLATE
from incident_app.services.letters.review import approval_valid
from incident_app.services.letters.trail import audit_and_timeline
from incident_app.services.letters.trail import letter_label
from incident_app.services.letters.trail import record_review_event
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.organisation import get_organisation

# 164.404(d)(2)(ii)(A): a conspicuous home-page posting stays up for 90 days.
WEB_POSTING_DAYS = 90
TEXT_MAX = 2000


@dataclass(frozen=True)
class NoticeInput:
    method: NoticeMethod
    sent_on: date
    outlets: tuple[str, ...] = ()
    transaction_number: str = ""
    posting_start: date | None = None
    posting_end: date | None = None
    notes: str = ""


def mark_sent(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    notice: NoticeInput,
) -> NoticeSent:
    """Record that the approved letter went out; freeze days after discovery and days late;
    re-sync the obligations in the same transaction (clocks counted from this notice move).

    Raises NotFound, NotAllowed, InvalidTransition (not approved, or the approval is void),
    ValidationFailed (method details missing, date in the future or before the discovery).
    Commits once.
    """
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    letter = session.get(Letter, letter_id)
    if letter is None or letter.incident_id != incident.id:
        raise NotFound("No such letter on this incident.")
    _require_a_notice(incident, letter, notice)
    _require_valid_approval(session, letter)
    today = letter_context.local_date(now, get_organisation(session).timezone)
    _validate(notice, today)
    row = _frozen_notice(session, incident, letter, notice, actor, now)
    session.add(row)
    session.flush()
    _record_sent(session, letter, row, actor, now)
    # Clocks counted from this notice (a state AG "N days after notifying HHS / residents")
    # move now; a sent date before the discovery is refused and nothing is written.
    obligation_sync.sync_or_roll_back(
        session, incident=incident, now=now, actor=actor, notice_field="sent_on"
    )
    session.commit()
    return row


def _require_a_notice(incident: Incident, letter: Letter, notice: NoticeInput) -> None:
    if letter.template_name == FAQ_TEMPLATE:
        raise InvalidTransition(
            "The call-centre FAQ is an internal document, not a notice: it is never recorded "
            "as sent (export the approved FAQ for the call centre instead)."
        )
    if incident.exercise and notice.method is NoticeMethod.HHS_PORTAL:
        raise InvalidTransition(
            f"{incident.reference} is a tabletop exercise: it is never filed on the HHS breach "
            "portal (45 CFR 164.408). Nothing was recorded."
        )


def _require_valid_approval(session: Session, letter: Letter) -> None:
    if letter.status not in (LetterStatus.APPROVED, LetterStatus.SENT):
        raise InvalidTransition("Only an approved letter can be marked as sent.")
    if not approval_valid(session, letter):
        raise InvalidTransition(
            "The approval is void: the case data or the template changed after approval, or "
            "the letter was re-rendered. Generate it again and have it approved first."
        )


def _validate(notice: NoticeInput, today: date) -> None:
    if notice.sent_on > today:
        raise ValidationFailed("The sent date is in the future.", field="sent_on")
    if len(notice.notes) > TEXT_MAX:
        raise ValidationFailed(f"Keep notes under {TEXT_MAX} characters.", field="notes")
    method = notice.method
    if method is NoticeMethod.PRESS_RELEASE and not [o for o in notice.outlets if o.strip()]:
        raise ValidationFailed("Name the outlets that received the press release.", field="outlets")
    if method is NoticeMethod.HHS_PORTAL and not re.fullmatch(
        r"[A-Za-z0-9-]{4,64}", notice.transaction_number.strip()
    ):
        raise ValidationFailed(
            "Enter the HHS portal's transaction number (letters, digits, dashes).",
            field="transaction_number",
        )
    if method is NoticeMethod.WEB_POSTING:
        _validate_posting(notice)


def _validate_posting(notice: NoticeInput) -> None:
    start, end = notice.posting_start, notice.posting_end
    if start is None or end is None:
        raise ValidationFailed(
            "Enter the web posting's start and end dates.", field="posting_start"
        )
    if end < start + timedelta(days=WEB_POSTING_DAYS):
        raise ValidationFailed(
            f"A conspicuous web posting must stay up at least {WEB_POSTING_DAYS} days "
            f"(until {start + timedelta(days=WEB_POSTING_DAYS)} or later).",
            field="posting_end",
        )


def _frozen_notice(
    session: Session,
    incident: Incident,
    letter: Letter,
    notice: NoticeInput,
    actor: User,
    now: datetime,
) -> NoticeSent:
    discovery = letter_context.discovery_date(session, incident)
    due = letter.obligation.effective_due_on
    assert letter.approved_version_id is not None  # approval_valid checked it
    web = notice.method is NoticeMethod.WEB_POSTING
    return NoticeSent(
        incident_id=incident.id,
        obligation_id=letter.obligation_id,
        letter_id=letter.id,
        letter_version_id=letter.approved_version_id,
        method=notice.method,
        sent_on=notice.sent_on,
        outlets=[o.strip() for o in notice.outlets if o.strip()],
        transaction_number=notice.transaction_number.strip()[:64],
        posting_start=notice.posting_start if web else None,
        posting_end=notice.posting_end if web else None,
        notes=notice.notes.strip(),
        discovery_on_at_send=discovery,
        due_on_at_send=due,
        days_after_discovery=(notice.sent_on - discovery).days if discovery else None,
        days_late=max(0, (notice.sent_on - due).days) if due else None,
        recorded_by_id=actor.id,
        recorded_at=now,
    )


def _record_sent(
    session: Session, letter: Letter, row: NoticeSent, actor: User, now: datetime
) -> None:
    version = letter.approved_version
    assert version is not None
    letter.status, letter.updated_at = LetterStatus.SENT, now
    record_review_event(
        session,
        letter,
        version,
        ReviewAction.SENT,
        actor,
        now,
        f"{row.method.label} on {row.sent_on.isoformat()}",
    )
    late = "" if not row.days_late else f", {row.days_late} day(s) late"
    details = {
        "notice_id": row.id,
        "method": row.method.value,
        "sent_on": row.sent_on,
        "days_after_discovery": row.days_after_discovery,
        "days_late": row.days_late,
        "transaction_number": row.transaction_number or None,
        "outlets": row.outlets,
        "sha256": version.sha256,
    }
    audit_and_timeline(
        session,
        letter,
        "notice.sent",
        actor,
        now,
        details,
        f"{letter_label(letter)} sent by {row.method.label.lower()} on "
        f"{row.sent_on.isoformat()} ({row.days_after_discovery} days after discovery{late}).",
        kind=EntryKind.NOTICE,
    )


# ---- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentNotice:
    """A recorded notice as other areas (metrics, the HHS log) read it."""

    id: int
    obligation_id: int
    kind: str
    jurisdiction: str
    letter_id: int
    document_id: str
    method: NoticeMethod
    sent_on: date
    outlets: tuple[str, ...]
    transaction_number: str
    posting_start: date | None
    posting_end: date | None
    discovery_on_at_send: date | None  # frozen when recorded
    due_on_at_send: date | None  # frozen when recorded
    days_after_discovery: int | None  # frozen when recorded
    days_late: int | None  # frozen when recorded; 0 = on time
    sha256: str  # of the approved PDF that went out
    recorded_at: datetime
    proof_count: int


def sent_notices(session: Session, incident_id: int) -> list[SentNotice]:
    """Every notice recorded for the incident, oldest first. No access check: callers check
    access to the incident first (as with obligations.obligations_of)."""
    rows = session.scalars(
        sa.select(NoticeSent)
        .where(NoticeSent.incident_id == incident_id)
        .order_by(NoticeSent.sent_on, NoticeSent.id)
    )
    return [_view(row) for row in rows]


def _view(row: NoticeSent) -> SentNotice:
    version = row.letter.approved_version
    return SentNotice(
        id=row.id,
        obligation_id=row.obligation_id,
        kind=row.obligation.kind,
        jurisdiction=row.obligation.jurisdiction,
        letter_id=row.letter_id,
        document_id=row.letter.document_id,
        method=row.method,
        sent_on=row.sent_on,
        outlets=tuple(row.outlets),
        transaction_number=row.transaction_number,
        posting_start=row.posting_start,
        posting_end=row.posting_end,
        discovery_on_at_send=row.discovery_on_at_send,
        due_on_at_send=row.due_on_at_send,
        days_after_discovery=row.days_after_discovery,
        days_late=row.days_late,
        sha256=version.sha256 if version else "",
        recorded_at=row.recorded_at,
        proof_count=len(row.proofs),
    )


@dataclass(frozen=True)
class NoticeRow:
    """A recorded notice on the Letters page: frozen values beside today's recomputation."""

    notice: NoticeSent
    days_after_discovery_now: int | None
    days_late_now: int | None

    @property
    def differs(self) -> bool:
        return (self.days_after_discovery_now, self.days_late_now) != (
            self.notice.days_after_discovery,
            self.notice.days_late,
        )


def notices_of(session: Session, incident: Incident) -> list[NoticeRow]:
    """Recorded notices with the values today's case data would give (call after an access
    check)."""
    discovery = letter_context.discovery_date(session, incident)
    rows = session.scalars(
        sa.select(NoticeSent)
        .where(NoticeSent.incident_id == incident.id)
        .order_by(NoticeSent.sent_on, NoticeSent.id)
    )
    result = []
    for row in rows:
        due = row.obligation.effective_due_on
        result.append(
            NoticeRow(
                row,
                (row.sent_on - discovery).days if discovery else None,
                max(0, (row.sent_on - due).days) if due else None,
            )
        )
    return result
