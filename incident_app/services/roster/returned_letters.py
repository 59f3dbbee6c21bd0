"""Returned mail by letter code: one letter scanned or typed at a time (optionally with the new
address the post office or the person gave), or a CSV of letter codes.

With a new address the person's address is replaced (encrypted, audited) and their notice goes
back to pending, so the next mailing includes them: its letter gets a new code (the code names
the batch), and the returned `MailLetter` stays as history. Without one the person counts as
unreachable, which feeds the substitute-notice count and re-syncs the obligations (164.404(d)(2):
10 or more → web posting or media notice and a toll-free number), as the external-id CSV of
services/roster/returns.py does. A letter is recorded as returned once; a second record of it,
and an unknown code, are refused with nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.inquiry import ReturnedLetter
from incident_app.models.inquiry import ReturnOutcome
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Route
from incident_app.models.roster import AddressStatus
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.inquiries import lookup
from incident_app.services.organisation import local_today
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import normalise as norm
from incident_app.services.roster import people as roster_people
from incident_app.services.roster.returns import read_rows
from incident_app.services.roster.rows import phi_aad

CODES_MAX_ROWS = 20_000
LINE_MAX = 100


@dataclass(frozen=True)
class NewAddress:
    line1: str
    city: str
    state: str
    zip_code: str
    line2: str = ""


def record_return(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    keyring: KeyRing,
    letter_code: str,
    returned_on: date | None = None,
    new_address: NewAddress | None = None,
) -> ReturnedLetter:
    """Record one returned letter. ValidationFailed (nothing written) for an unknown code, a
    letter already recorded, an email notice, a date in the future or an incomplete address.
    Recounts (obligations re-sync), audits, commits once."""
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    row = stage_return(
        session,
        actor=actor,
        now=now,
        incident=incident,
        keyring=keyring,
        letter_code=letter_code,
        returned_on=returned_on,
        new_address=new_address,
    )
    session.commit()
    return row


def stage_return(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident: Incident,
    keyring: KeyRing,
    letter_code: str,
    returned_on: date | None = None,
    new_address: NewAddress | None = None,
    source: str = "returned_mail",
    reopen_unreachable: bool = False,
) -> ReturnedLetter:
    """record_return without the access check and the commit, for a caller that adds its own
    audit event to the same transaction (an address change told in an inquiry). With
    `reopen_unreachable` and a new address, a letter already recorded as returned UNREACHABLE
    becomes a re-mail (the person called with where they live now); any other second record
    is refused, as are the bad inputs above."""
    on = _returned_on(session, now, returned_on)
    if new_address is not None:
        _checked_address(new_address)  # before anything is written (the caller may commit)
    reopened = (
        _unreachable_return(session, incident.id, letter_code, new_address)
        if reopen_unreachable
        else None
    )
    if reopened is not None:
        row, person = reopened
    else:
        letter, person = _returnable(session, incident.id, letter_code)
        row = _record(session, actor=actor, now=now, letter=letter, person=person, on=on)
    if new_address is not None:
        _readdress(session, keyring, person, new_address, actor=actor, now=now, source=source)
        row.outcome = ReturnOutcome.REMAIL
    roster_counts.recount(session, incident=incident, now=now, actor=actor)
    return row


def _unreachable_return(
    session: Session, incident_id: int, code: str, new_address: NewAddress | None
) -> tuple[ReturnedLetter, RosterPerson] | None:
    """The earlier UNREACHABLE return of this letter when a new address now reaches the
    person, with the person; None otherwise (the caller then records a first return)."""
    if new_address is None:
        return None
    row = session.scalar(
        sa.select(ReturnedLetter).where(
            ReturnedLetter.incident_id == incident_id,
            ReturnedLetter.letter_code.in_(
                {lookup.clean_code(code), lookup.clean_code(code).upper()}
            ),
            ReturnedLetter.outcome == ReturnOutcome.UNREACHABLE,
        )
    )
    if row is None or row.person_id is None:
        return None
    try:
        return row, roster_people.person_on_roster(session, incident_id, row.person_id)
    except NotFound:  # a later import replaced the roster: refused as recorded already
        return None


def _returned_on(session: Session, now: datetime, on: date | None) -> date:
    today = local_today(session, now)
    if on is not None and on > today:
        raise ValidationFailed("The return date is in the future.", field="returned_on")
    return on or today


def _returnable(
    session: Session, incident_id: int, code: str, row: int | None = None
) -> tuple[MailLetter, RosterPerson]:
    where = f"Row {row}: " if row else ""
    try:
        found = lookup.by_letter_code(session, incident_id, code)
    except ValidationFailed as error:
        raise ValidationFailed(where + str(error), field="letter_code") from None
    letter = found.letter
    assert letter is not None  # by_letter_code raises otherwise
    earlier = session.scalar(
        sa.select(ReturnedLetter).where(ReturnedLetter.mail_letter_id == letter.id)
    )
    if earlier is not None:
        raise ValidationFailed(
            f"{where}Letter {letter.letter_code} was already recorded as returned on "
            f"{earlier.returned_on.isoformat()} ({earlier.outcome.label.lower()}). A letter is "
            "recorded once; nothing was changed.",
            field="letter_code",
        )
    if letter.route is not Route.MAIL or letter.state is not LetterState.DONE:
        raise ValidationFailed(
            f"{where}{letter.letter_code} is not a printed letter (an email notice, or one that "
            "was never printed), so it cannot come back by post. Nothing was changed.",
            field="letter_code",
        )
    if found.person is None:
        raise ValidationFailed(
            f"{where}The person letter {letter.letter_code} was addressed to is no longer on the "
            "roster (a later import replaced it). Nothing was changed.",
            field="letter_code",
        )
    return letter, found.person


def _record(
    session: Session,
    *,
    actor: User,
    now: datetime,
    letter: MailLetter,
    person: RosterPerson,
    on: date,
) -> ReturnedLetter:
    """The return row, and the person unreachable until a new address says otherwise."""
    batch_incident = session.scalar(
        sa.select(MailBatch.incident_id).where(MailBatch.id == letter.batch_id)
    )
    row = ReturnedLetter(
        incident_id=batch_incident,
        mail_letter_id=letter.id,
        letter_code=letter.letter_code,
        person_id=person.id,
        outcome=ReturnOutcome.UNREACHABLE,
        returned_on=on,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    session.add(row)
    person.notice_status = NoticeStatus.RETURNED_MAIL
    person.notice_method = None
    person.notice_on = on
    audit.record(
        session,
        actor=actor,
        action="roster.letter_returned",
        at=now,
        subject_type="mail_letter",
        subject_id=letter.id,
        incident_id=batch_incident,
        details={"letter_code": letter.letter_code, "person_id": person.id, "on": on},
    )
    return row


def _readdress(
    session: Session,
    keyring: KeyRing,
    person: RosterPerson,
    address: NewAddress,
    *,
    actor: User,
    now: datetime,
    source: str = "returned_mail",
) -> None:
    """The new address replaces the one the letter went to (the next of kin's for a deceased
    person, the guardian's for a minor written to through them); the notice is pending again."""
    fields = _checked_address(address)
    phi = roster_people.decrypt(keyring, person)
    block = _block(person, phi)
    target: dict[str, Any] = phi if block is None else phi.setdefault(block, {})
    for key in ("a1", "a2", "city", "st", "zip", "ctry"):
        target.pop(key, None)
    target.update({key: value for key, value in fields.items() if value})
    person.phi = keyring.encrypt_json(
        phi, phi_aad(person.incident_id, person.import_id, person.row_number)
    )
    if block is None:
        person.state = fields["st"]
        person.zip3 = fields["zip"][:3]
    if block == "nok":
        person.nok_address = True
    person.address_status = AddressStatus.SUFFICIENT
    person.notice_status = NoticeStatus.PENDING
    person.notice_on = None
    audit.record(
        session,
        actor=actor,
        action="roster.address_changed",
        at=now,
        subject_type="roster_person",
        subject_id=person.id,
        incident_id=person.incident_id,
        details={"address": block or "person", "source": source, "requeued": True},
    )


def _block(person: RosterPerson, phi: dict[str, Any]) -> str | None:
    if person.deceased:
        return "nok"
    if person.minor and (phi.get("guardian") or {}).get("a1"):
        return "guardian"
    return None


def _checked_address(address: NewAddress) -> dict[str, str]:
    values = {
        "a1": norm.clean(address.line1),
        "a2": norm.clean(address.line2),
        "city": norm.clean(address.city),
    }
    if any(len(value) > LINE_MAX for value in values.values()):
        raise ValidationFailed(
            f"Keep each address line under {LINE_MAX} characters.", field="line1"
        )
    try:
        values["zip"] = norm.normalise_zip(address.zip_code)
        values["st"] = norm.state_code(address.state.strip())
    except norm.BadValue as error:
        raise ValidationFailed(f"The new address: {error}.", field="zip_code") from None
    status = norm.address_status(
        line1=values["a1"], city=values["city"], state=values["st"], zip_code=values["zip"]
    )
    if status is not AddressStatus.SUFFICIENT:
        raise ValidationFailed(
            "The new address needs a street line, a city, a state and a ZIP code for first-class "
            "mail (164.404(d)(1)(i)). Nothing was changed.",
            field="line1",
        )
    return values


# ---- a CSV of letter codes --------------------------------------------------------------------


@dataclass
class CodesResult:
    recorded: int
    unreachable_living: int


def import_return_codes(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    upload: BinaryIO,
    max_bytes: int,
) -> CodesResult:
    """Mark every letter in a CSV with a `letter_code` column (optional `returned_on`) as
    returned, the people unreachable. All or nothing: an unknown code, a letter already
    recorded or listed twice, or a bad date refuses the whole file, naming the rows. Recounts,
    audits, commits once."""
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    today = local_today(session, now)
    records = _code_rows(upload, max_bytes, today=today)
    problems, seen = [], set()
    pairs = []
    for row, code, on in records:
        try:
            letter, person = _returnable(session, incident_id, code, row)
        except ValidationFailed as error:
            problems.append(
                str(error).removesuffix(" Nothing was saved.").removesuffix(" Nothing was changed.")
            )
            continue
        if letter.id in seen:
            problems.append(f"Row {row}: {letter.letter_code} is listed twice in the file.")
        seen.add(letter.id)
        pairs.append((letter, person, on or today))
    if problems:
        shown = " ".join(problems[:10]) + (" …" if len(problems) > 10 else "")
        raise ValidationFailed(f"{shown} Nothing was changed.", field="file")
    for letter, person, on in pairs:
        _record(session, actor=actor, now=now, letter=letter, person=person, on=on)
    counts = roster_counts.recount(session, incident=incident, now=now, actor=actor)
    session.commit()
    return CodesResult(len(pairs), counts.insufficient_contact_living)


def _code_rows(
    upload: BinaryIO, max_bytes: int, *, today: date
) -> list[tuple[int, str, date | None]]:
    return read_rows(
        upload,
        max_bytes,
        today=today,
        column="letter_code",
        missing="The file needs a letter_code column (the “Letter ID” printed on each letter).",
        max_rows=CODES_MAX_ROWS,
        clean=lookup.clean_code,
    )


# ---- what became of each return ------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnView:
    row: ReturnedLetter
    status: str
    new_code: str | None


def list_returns(
    session: Session, *, actor: User, incident_id: int
) -> tuple[Incident, list[ReturnView]]:
    """The incident's returned letters, newest first, each with what became of it: re-mailed
    (with the new letter's code), re-mail pending (waiting for the next mailing), or unreachable.
    Letter codes and statuses only: no PHI, no audit."""
    incident = roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    rows = list(
        session.scalars(
            sa.select(ReturnedLetter)
            .where(ReturnedLetter.incident_id == incident_id)
            .order_by(ReturnedLetter.recorded_at.desc(), ReturnedLetter.id.desc())
            .limit(500)
        )
    )
    return incident, [_view(session, row) for row in rows]


def _view(session: Session, row: ReturnedLetter) -> ReturnView:
    if row.outcome is ReturnOutcome.UNREACHABLE:
        return ReturnView(row, "Unreachable (counts toward substitute notice)", None)
    later = session.scalar(
        sa.select(MailLetter.letter_code)
        .where(
            MailLetter.person_id == row.person_id,
            MailLetter.id > row.mail_letter_id,
            MailLetter.state == LetterState.DONE,
        )
        .order_by(MailLetter.id)
        .limit(1)
    )
    if later is None:
        return ReturnView(row, "Re-mail pending (in the next mailing)", None)
    return ReturnView(row, "Re-mailed", later)
