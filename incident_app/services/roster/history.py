"""One person's story after the letters: their letters (codes, dates), the letters the post
office returned (and whether the re-mail to a new address went out), and their inquiries.

A roster "replace" import makes a new row for every person; the records of the row a person
replaced follow them (services/roster/lineage.py sets `later_person_id` when the import
commits), so the story includes them, each marked `earlier` ("from an earlier roster
version").

Letter codes, dates, categories and statuses only — no PHI, so nothing here is decrypted; the
person page that shows it has already audited the view of the person (people.view_person).
"Re-mail pending" is derived, not stored: a returned letter with a new address puts the person
back to PENDING (returned_letters.py) and they stay so until the next mailing prints their new
letter (chunk_run moves them on), so PENDING + a re-mail return with no later printed letter
is exactly "waiting for the re-mail".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import ReturnedLetter
from incident_app.models.inquiry import ReturnOutcome
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailLetter
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import people as roster_people

REMAIL_PENDING = "Re-mail pending"
SHOWN = 100  # rows of each kind on the person page


@dataclass(frozen=True)
class LetterLine:
    letter_code: str
    route: str
    state: str
    printed_on: date | None
    batch_id: int
    earlier: bool = False  # addressed to the row this person replaced


@dataclass(frozen=True)
class ReturnLine:
    letter_code: str
    returned_on: date
    outcome: str
    remail: str  # "Re-mailed as <code>", "Re-mail pending" or "" (unreachable)
    earlier: bool = False  # addressed to the row this person replaced


@dataclass(frozen=True)
class InquiryLine:
    inquiry_id: int
    received_at: datetime
    channel: str
    category: str
    status: str
    earlier: bool = False  # addressed to the row this person replaced


@dataclass(frozen=True)
class PersonHistory:
    letters: list[LetterLine]
    returns: list[ReturnLine]
    inquiries: list[InquiryLine]
    remail_pending: bool


def person_history(
    session: Session, *, actor: User, incident_id: int, person_id: int
) -> PersonHistory:
    """The person's letters, returns and inquiries (roster readers only: NotFound otherwise).
    No PHI, no audit of its own: shown on the audited person page."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    person = roster_people.person_on_roster(session, incident_id, person_id)
    letters = list(
        session.scalars(
            sa.select(MailLetter)
            .join(MailBatch, MailBatch.id == MailLetter.batch_id)
            .where(MailBatch.incident_id == incident_id, _of(MailLetter, person.id))
            .order_by(MailLetter.id.desc())
            .limit(SHOWN)
        )
    )
    returned = list(
        session.scalars(
            sa.select(ReturnedLetter)
            .where(ReturnedLetter.incident_id == incident_id, _of(ReturnedLetter, person.id))
            .order_by(ReturnedLetter.id.desc())
            .limit(SHOWN)
        )
    )
    inquiries = list(
        session.scalars(
            sa.select(Inquiry)
            .where(Inquiry.incident_id == incident_id, _of(Inquiry, person.id))
            .order_by(Inquiry.received_at.desc(), Inquiry.id.desc())
            .limit(SHOWN)
        )
    )
    done = [row for row in letters if row.state is LetterState.DONE]
    return PersonHistory(
        letters=[
            LetterLine(
                row.letter_code,
                row.route.value,
                row.state.value,
                row.done_at.date() if row.state is LetterState.DONE else None,
                row.batch_id,
                row.person_id != person.id,
            )
            for row in letters
        ],
        returns=[_return_line(row, done, row.person_id != person.id) for row in returned],
        inquiries=[
            InquiryLine(
                row.id,
                row.received_at,
                row.channel.label,
                row.category.label,
                row.status.label,
                row.person_id != person.id,
            )
            for row in inquiries
        ],
        remail_pending=person.id in remail_pending(session, [person]),
    )


def _of(model: type[MailLetter | ReturnedLetter | Inquiry], person_id: int) -> Any:
    """Records of this row, and of the rows it replaced (lineage.py)."""
    return sa.or_(model.person_id == person_id, model.later_person_id == person_id)


def _return_line(row: ReturnedLetter, done: list[MailLetter], earlier: bool) -> ReturnLine:
    remail = ""
    if row.outcome is not ReturnOutcome.UNREACHABLE:
        later = [letter for letter in done if letter.id > row.mail_letter_id]
        remail = f"Re-mailed as {later[-1].letter_code}" if later else REMAIL_PENDING
    return ReturnLine(row.letter_code, row.returned_on, row.outcome.label, remail, earlier)


def remail_pending(session: Session, people: Iterable[RosterPerson]) -> set[int]:
    """Ids of these people whose notice waits for a re-mail to a new address: PENDING, with a
    re-mail return and no printed letter after the returned one. Returns and letters of the rows
    a person replaced count as theirs (`later_person_id`, lineage.py). One query for a page."""
    pending = {p.id for p in people if p.notice_status is NoticeStatus.PENDING}
    if not pending:
        return set()
    # A carried record belongs to the row that replaced its own (later_person_id), else to its row.
    owner = sa.func.coalesce(ReturnedLetter.later_person_id, ReturnedLetter.person_id)
    later = (
        sa.select(MailLetter.id)
        .where(
            sa.or_(MailLetter.person_id == owner, MailLetter.later_person_id == owner),
            MailLetter.id > ReturnedLetter.mail_letter_id,
            MailLetter.state == LetterState.DONE,
        )
        .exists()
    )
    found = session.scalars(
        sa.select(owner)
        .where(
            sa.or_(
                ReturnedLetter.person_id.in_(pending),
                ReturnedLetter.later_person_id.in_(pending),
            ),
            ReturnedLetter.outcome == ReturnOutcome.REMAIL,
            ~later,
        )
        .distinct()
    )
    return {person_id for person_id in found if person_id in pending}
