"""The people on an incident's roster: a page of them, one person's record (decrypted and
audited), where each person's notice stands, and re-encrypting their PHI for key rotation.

PHI is one AES-GCM blob per person (services/roster/rows.py); it is decrypted only to show one
person, to export, or to re-encrypt it under the primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Route
from incident_app.models.roster import NoticeMethod
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster.rows import external_index
from incident_app.services.roster.rows import lookup_index
from incident_app.services.roster.rows import phi_aad
from incident_app.services.rotation_batches import rotate_column

PER_PAGE = 50


@dataclass
class PeoplePage:
    people: list[RosterPerson]
    page: int
    pages: int
    total: int
    searched: bool


def list_people(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    keyring: KeyRing,
    page: int = 1,
    external_id: str = "",
    per_page: int = PER_PAGE,
) -> PeoplePage:
    """A page of the roster (clear columns only, no PHI decrypted). Searching by external id
    goes through its blind index and is audited (commits only then)."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    where = [roster_access.visible(incident_id)]
    searched = bool(external_id.strip())
    if searched:
        where.append(RosterPerson.external_index == external_index(keyring, external_id))
        audit.record(
            session,
            actor=actor,
            action="roster.searched",
            at=now,
            subject_type="incident",
            subject_id=incident_id,
            incident_id=incident_id,
            details={"by": "external_id"},
        )
        session.commit()
    total = session.scalar(sa.select(sa.func.count()).select_from(RosterPerson).where(*where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    people = list(
        session.scalars(
            sa.select(RosterPerson)
            .where(*where)
            .order_by(RosterPerson.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return PeoplePage(people, page, pages, total, searched)


@dataclass
class PersonRecord:
    person: RosterPerson
    phi: dict[str, Any]
    letter_code: str | None = None  # their latest printed letter (downloadable), if any


def _person(session: Session, incident_id: int, person_id: int) -> RosterPerson:
    person = session.scalar(
        sa.select(RosterPerson).where(
            RosterPerson.id == person_id,
            RosterPerson.incident_id == incident_id,
            roster_access.visible(incident_id),
        )
    )
    if person is None:
        raise NotFound("No such person on this incident's roster.")
    return person


def decrypt(keyring: KeyRing, person: RosterPerson) -> dict[str, Any]:
    phi: dict[str, Any] = keyring.decrypt_json(
        person.phi, phi_aad(person.incident_id, person.import_id, person.row_number)
    )
    return phi


def view_person(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    person_id: int,
    keyring: KeyRing,
) -> PersonRecord:
    """One person's record, decrypted. Every view is audited (commits)."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    person = _person(session, incident_id, person_id)
    phi = decrypt(keyring, person)
    audit.record(
        session,
        actor=actor,
        action="roster.person_viewed",
        at=now,
        subject_type="roster_person",
        subject_id=person.id,
        incident_id=incident_id,
    )
    session.commit()
    printed = latest_letter_of(session, incident_id, person.id)
    return PersonRecord(person, phi, printed.letter_code if printed else None)


def set_notice_status(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    person_id: int,
    status: NoticeStatus,
    method: NoticeMethod | None = None,
    on: date | None = None,
) -> RosterPerson:
    """Record where a person's notice stands; recounts and re-syncs obligations. Commits.

    Raises ValidationFailed when 'mailed' has no date or method, or a date is in the future.
    """
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    person = _person(session, incident_id, person_id)
    if status is NoticeStatus.MAILED and (method is None or on is None):
        raise ValidationFailed(
            "Say when and how the notice was sent (mail or email).",
            field="notice_on" if on is None else "method",
        )
    if on is not None and on > now.date():
        raise ValidationFailed("That date is in the future.", field="notice_on")
    before = person.notice_status
    person.notice_status, person.notice_on = status, on
    person.notice_method = method if status is NoticeStatus.MAILED else None
    roster_counts.recount(session, incident=incident, now=now, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="roster.notice_status_set",
        at=now,
        subject_type="roster_person",
        subject_id=person.id,
        incident_id=incident_id,
        details={
            "from": before.value,
            "to": status.value,
            "method": method.value if method else None,
            "on": on,
        },
    )
    session.commit()
    return person


def rotate_roster(session: Session, keyring: KeyRing, batch_size: int) -> int:
    """Re-encrypt roster blobs not under the primary key, batch by batch (commits each).

    Killed half-way, every blob is still readable (old keys stay in the ring); a second call
    picks up where this one stopped."""

    def reencrypt(row: tuple[Any, ...]) -> bytes | None:
        _pid, blob, incident, imp, number = row
        if not keyring.needs_rotation(blob):
            return None
        return keyring.reencrypt(blob, phi_aad(incident, imp, number))

    return rotate_column(
        session,
        table=cast(sa.Table, RosterPerson.__table__),
        column="phi",
        extra=("incident_id", "import_id", "row_number"),
        reencrypt=reencrypt,
        batch_size=batch_size,
    )


def index_lookups(session: Session, keyring: KeyRing, batch_size: int) -> int:
    """Fill the name + date-of-birth blind index of rows imported before it existed (decrypting
    each once), batch by batch (commits each). Returns how many rows got one; safe to re-run."""
    indexed, last_id = 0, 0
    while True:
        batch = list(
            session.scalars(
                sa.select(RosterPerson)
                .where(RosterPerson.id > last_id, RosterPerson.lookup_index.is_(None))
                .order_by(RosterPerson.id)
                .limit(batch_size)
            )
        )
        if not batch:
            return indexed
        for person in batch:
            phi = decrypt(keyring, person)
            token = lookup_index(keyring, phi.get("fn", ""), phi.get("ln", ""), phi.get("dob", ""))
            if token is not None:
                person.lookup_index = token
                indexed += 1
        session.commit()
        last_id = batch[-1].id


def person_on_roster(session: Session, incident_id: int, person_id: int) -> RosterPerson:
    """The person on this incident's visible roster; NotFound otherwise (another incident's
    person id answers 404). No access check, no audit: the caller does both."""
    return _person(session, incident_id, person_id)


def latest_letter_of(
    session: Session, incident_id: int, person_id: int, *, mailed_only: bool = False
) -> MailLetter | None:
    """The person's most recent printed letter on this incident (`mailed_only`: sent by post,
    not an email notice). No access check, no audit: the caller has checked both (the letter
    code is not PHI)."""
    where = [
        MailBatch.incident_id == incident_id,
        MailLetter.person_id == person_id,
        MailLetter.state == LetterState.DONE,
        MailLetter.sha256.is_not(None),
    ]
    if mailed_only:
        where.append(MailLetter.route == Route.MAIL)
    return session.scalar(
        sa.select(MailLetter)
        .join(MailBatch, MailBatch.id == MailLetter.batch_id)
        .where(*where)
        .order_by(MailLetter.done_at.desc(), MailLetter.id.desc())
    )
