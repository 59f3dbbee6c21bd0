"""Recording a finished mailing as mailed: the people in it are notified on the mailing date,
and once nobody on the roster is still waiting, the notice to individuals is recorded as sent
(proof of notice), which feeds the dependent deadlines.

45 CFR 164.404(a): the notice to individuals is given when every affected person is notified
(or reached by substitute notice, 164.404(d)(2)); a batch covering only some letter variants
therefore records its people as mailed but leaves the obligation open until the last batch.
Each variant letter gets its own recorded notice, dated the latest mailing that carried it and
bound to the approved version (its SHA-256) that mailing printed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import LetterVersion
from incident_app.models.letter import NoticeMethod
from incident_app.models.letter import NoticeSent
from incident_app.models.letter import ReviewAction
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailLetter
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.letters import case_data
from incident_app.services.letters.trail import audit_and_timeline
from incident_app.services.letters.trail import letter_label
from incident_app.services.letters.trail import record_review_event
from incident_app.services.mail_merge.batches import get_batch
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.organisation import get_organisation
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import counts as roster_counts

WAITING = (NoticeStatus.PENDING, NoticeStatus.LETTER_GENERATED)


@dataclass(frozen=True)
class Mailed:
    """What recording a mailing did."""

    people: int  # marked mailed on the date
    still_waiting: int  # people on the roster not yet notified nor unreachable
    notices: list[NoticeSent]  # recorded when nobody is waiting any more


def record_mailed(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    batch_id: int,
    mailed_on: date,
) -> Mailed:
    """Record a completed mailing as mailed on `mailed_on`; its letters' people become
    "mailed" on that date. When nobody on the roster is waiting any more, record the notice
    to individuals as sent (one NoticeSent per variant letter) and re-sync the obligations.

    Raises NotFound, NotAllowed, InvalidTransition (not completed, already recorded),
    ValidationFailed (date in the future, before the mailing started, or before the
    discovery). Commits once; nothing is written on an error.
    """
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    batch = get_batch(session, incident_id, batch_id)
    _check(session, batch, mailed_on, now)
    people = _mark_people(session, batch, mailed_on)
    batch.mailed_on, batch.mailed_recorded_by_id, batch.mailed_recorded_at = (
        mailed_on,
        actor.id,
        now,
    )
    roster_counts.recount(session, incident=incident, now=now, actor=actor)
    waiting = still_waiting(session, incident_id)
    audit.record(
        session,
        actor=actor,
        action="mail_batch.mailed",
        at=now,
        subject_type="mail_batch",
        subject_id=batch.id,
        incident_id=incident_id,
        details={"mailed_on": mailed_on, "people": people, "still_waiting": waiting},
    )
    notices = [] if waiting else _record_notices(session, incident, actor, now)
    if notices:
        obligation_sync.sync_or_roll_back(
            session, incident=incident, now=now, actor=actor, notice_field="mailed_on"
        )
    session.commit()
    return Mailed(people, waiting, notices)


def _check(session: Session, batch: MailBatch, mailed_on: date, now: datetime) -> None:
    if batch.status is not BatchStatus.COMPLETED:
        raise InvalidTransition(
            f"Only a completed mailing can be recorded as mailed; this one is "
            f"{batch.status.label.lower()}."
        )
    if batch.mailed_on is not None:
        raise InvalidTransition(
            f"This mailing was already recorded as mailed on {batch.mailed_on.isoformat()}."
        )
    zone = get_organisation(session).timezone
    if mailed_on > case_data.local_date(now, zone):
        raise ValidationFailed("The mailing date is in the future.", field="mailed_on")
    if mailed_on < case_data.local_date(batch.created_at, zone):
        raise ValidationFailed(
            "The mailing date is before the letters were printed "
            f"({case_data.local_date(batch.created_at, zone).isoformat()}).",
            field="mailed_on",
        )


def _mark_people(session: Session, batch: MailBatch, mailed_on: date) -> int:
    # Email notices (route "email") were sent by the worker; the date recorded for them is the
    # mailing's, the day the whole batch went out.
    in_batch = sa.select(MailLetter.person_id).where(
        MailLetter.batch_id == batch.id, MailLetter.state == LetterState.DONE
    )
    result = session.execute(
        sa.update(RosterPerson)
        .where(
            RosterPerson.id.in_(in_batch.scalar_subquery()),
            RosterPerson.notice_status == NoticeStatus.LETTER_GENERATED,
        )
        .values(notice_status=NoticeStatus.MAILED, notice_on=mailed_on)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def still_waiting(session: Session, incident_id: int) -> int:
    """People on the roster not yet notified and not marked unreachable (merged duplicates
    excluded): while any remain, the notice to individuals is not complete."""
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                RosterPerson.import_id.in_(
                    roster_access.committed_import_ids(session, incident_id)
                ),
                RosterPerson.duplicate_of_id.is_(None),
                RosterPerson.notice_status.in_(WAITING),
            )
        )
        or 0
    )


def _record_notices(
    session: Session, incident: Incident, actor: User, now: datetime
) -> list[NoticeSent]:
    """One NoticeSent per variant letter carried by a recorded mailing and not yet recorded."""
    latest: dict[int, tuple[date, int]] = {}  # letter id -> (latest mailing date, version id)
    for batch in session.scalars(
        sa.select(MailBatch).where(
            MailBatch.incident_id == incident.id, MailBatch.mailed_on.is_not(None)
        )
    ):
        assert batch.mailed_on is not None
        for approved in batch.variants.values():
            seen = latest.get(approved["letter_id"])
            if seen is None or batch.mailed_on >= seen[0]:
                latest[approved["letter_id"]] = (batch.mailed_on, approved["version_id"])
    recorded = set(
        session.scalars(
            sa.select(NoticeSent.letter_id).where(NoticeSent.incident_id == incident.id)
        )
    )
    discovery = case_data.discovery_date(session, incident)
    return [
        _notice(
            session,
            incident,
            session.get_one(Letter, letter_id),
            version_id,
            sent_on,
            discovery,
            actor,
            now,
        )
        for letter_id, (sent_on, version_id) in sorted(latest.items())
        if letter_id not in recorded
    ]


def _notice(
    session: Session,
    incident: Incident,
    letter: Letter,
    version_id: int,
    sent_on: date,
    discovery: date | None,
    actor: User,
    now: datetime,
) -> NoticeSent:
    due = letter.obligation.effective_due_on
    row = NoticeSent(
        incident_id=incident.id,
        obligation_id=letter.obligation_id,
        letter_id=letter.id,
        letter_version_id=version_id,
        method=NoticeMethod.FIRST_CLASS_MAIL,
        sent_on=sent_on,
        notes="Recorded from the mail merge: every person on the roster is notified or "
        "marked unreachable.",
        discovery_on_at_send=discovery,
        due_on_at_send=due,
        days_after_discovery=(sent_on - discovery).days if discovery else None,
        days_late=max(0, (sent_on - due).days) if due else None,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    version = session.get_one(LetterVersion, version_id)
    if letter.status is LetterStatus.APPROVED:  # not when a newer version is in review
        letter.status, letter.updated_at = LetterStatus.SENT, now
    record_review_event(
        session, letter, version, ReviewAction.SENT, actor, now, f"Mail merge, {sent_on}"
    )
    audit_and_timeline(
        session,
        letter,
        "notice.sent",
        actor,
        now,
        {
            "notice_id": row.id,
            "method": row.method.value,
            "sent_on": sent_on,
            "days_after_discovery": row.days_after_discovery,
            "days_late": row.days_late,
            "sha256": version.sha256,
            "source": "mail_merge",
        },
        f"{letter_label(letter)} mailed to every person waiting for it, last mailing on "
        f"{sent_on.isoformat()} ({row.days_after_discovery} days after discovery).",
        kind=EntryKind.NOTICE,
    )
    return row
