"""Recording an inquiry, showing one (decrypted, audited) and closing it with its outcome.

What a category sets off happens in the same transaction as the record: a deceased notice
marks the person deceased (their letter then goes to the next of kin, 164.404(d)(1)(ii), and
they leave the substitute-notice count, 164.404(d)(2)); a media inquiry is assigned to a
privacy officer, who speaks for the covered entity (164.406 media notice is theirs to run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.inquiry import FoundBy
from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import InquiryCategory
from incident_app.models.inquiry import InquiryChannel
from incident_app.models.inquiry import InquiryStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.inquiries import lookup
from incident_app.services.organisation import local_today
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import people as roster_people
from incident_app.services.rotation_batches import rotate_column

SUMMARY_MAX = 5000
NAME_MAX = 200
CLOCK_SKEW = timedelta(minutes=5)  # a caller's "received at" a little ahead of ours is fine


@dataclass(frozen=True)
class InquiryInput:
    found_by: FoundBy
    channel: InquiryChannel
    category: InquiryCategory
    summary: str
    received_at: datetime | None = None  # UTC; None = now
    letter_code: str = ""
    first_name: str = ""
    last_name: str = ""
    birth: date | None = None
    caller_name: str = ""
    caller_contact: str = ""
    follow_up_on: date | None = None
    assignee_id: int | None = None


def inquiry_aad(incident_id: int, inquiry_id: int) -> bytes:
    return f"inquiry:{incident_id}:{inquiry_id}".encode()


def decrypt(keyring: KeyRing, inquiry: Inquiry) -> dict[str, Any]:
    phi: dict[str, Any] = keyring.decrypt_json(
        inquiry.phi, inquiry_aad(inquiry.incident_id, inquiry.id)
    )
    return phi


def _seal(keyring: KeyRing, inquiry: Inquiry, phi: dict[str, Any]) -> None:
    inquiry.phi = keyring.encrypt_json(phi, inquiry_aad(inquiry.incident_id, inquiry.id))


def initials(name: str) -> str:
    """ "Ana María García" → "A.M.G." (what the list shows instead of a name)."""
    return "".join(f"{part[0].upper()}." for part in name.split() if part[0].isalnum())[:12]


def record_inquiry(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    keyring: KeyRing,
    entry: InquiryInput,
) -> Inquiry:
    """Record one inquiry. Raises NotFound/NotAllowed (roster access), ValidationFailed for an
    unknown letter code, a name + date of birth matching nobody, a date in the future or a
    follow-up in the past; nothing is written then. Audits, commits once."""
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    received_at = _check(session, entry, now)
    person, letter_code = _find(session, keyring, incident_id, entry)
    phi = _phi(keyring, entry, person)
    inquiry = Inquiry(
        incident_id=incident_id,
        person_id=person.id if person is not None else None,
        found_by=entry.found_by,
        letter_code=letter_code,
        channel=entry.channel,
        category=entry.category,
        phi=b"",
        status=InquiryStatus.OPEN,
        follow_up_on=entry.follow_up_on,
        assignee_id=_assignee(session, actor, incident, entry),
        received_at=received_at,
        recorded_by_id=actor.id,
        created_at=now,
    )
    session.add(inquiry)
    session.flush()  # the id is part of the blob's associated data
    _seal(keyring, inquiry, phi)
    if person is not None:
        set_off_for_person(
            session, actor=actor, now=now, incident=incident, inquiry=inquiry, person=person
        )
    audit.record(
        session,
        actor=actor,
        action="inquiry.recorded",
        at=now,
        subject_type="inquiry",
        subject_id=inquiry.id,
        incident_id=incident_id,
        details={
            "found_by": entry.found_by.value,
            "letter_code": letter_code,
            "person_id": inquiry.person_id,
            "channel": entry.channel.value,
            "category": entry.category.value,
            "follow_up_on": entry.follow_up_on,
            "assignee_id": inquiry.assignee_id,
        },
    )
    session.commit()
    return inquiry


def _check(session: Session, entry: InquiryInput, now: datetime) -> datetime:
    summary = entry.summary.strip()
    if not summary:
        raise ValidationFailed(
            "Say in a line or two what the person asked or said.", field="summary"
        )
    if len(summary) > SUMMARY_MAX:
        raise ValidationFailed(
            f"Keep the summary under {SUMMARY_MAX:,} characters.", field="summary"
        )
    received_at = entry.received_at or now
    if received_at > now + CLOCK_SKEW:
        raise ValidationFailed(
            "The inquiry cannot have been received in the future.", field="received_at"
        )
    today = local_today(session, now)
    if entry.follow_up_on is not None and entry.follow_up_on < today:
        raise ValidationFailed(
            f"The follow-up date {entry.follow_up_on.isoformat()} is in the past; choose today "
            "or a later day. Nothing was saved.",
            field="follow_up_on",
        )
    if entry.birth is not None and entry.birth > today:
        raise ValidationFailed("The date of birth is in the future.", field="date_of_birth")
    if len(entry.caller_name) > NAME_MAX or len(entry.caller_contact) > NAME_MAX:
        raise ValidationFailed(
            f"Keep the caller's details under {NAME_MAX} characters.", field="caller_name"
        )
    return received_at


def _find(
    session: Session, keyring: KeyRing, incident_id: int, entry: InquiryInput
) -> tuple[RosterPerson | None, str | None]:
    if entry.found_by is FoundBy.LETTER_CODE:
        found = lookup.by_letter_code(session, incident_id, entry.letter_code)
        assert found.letter is not None  # by_letter_code raises otherwise
        return found.person, found.letter.letter_code
    if entry.found_by is FoundBy.NAME_DOB:
        person = lookup.by_name_and_birth(
            session,
            keyring,
            incident_id,
            first_name=entry.first_name,
            last_name=entry.last_name,
            birth=entry.birth,
        )
        printed = roster_people.latest_letter_of(session, incident_id, person.id)
        return person, printed.letter_code if printed else None
    if not entry.caller_name.strip():
        raise ValidationFailed(
            "Someone not found on the roster: enter the caller's name (and how to reach them).",
            field="caller_name",
        )
    return None, None


def _phi(keyring: KeyRing, entry: InquiryInput, person: RosterPerson | None) -> dict[str, Any]:
    name = entry.caller_name.strip()
    if person is not None:
        name = " ".join(
            p
            for p in (roster_people.decrypt(keyring, person).get(k, "") for k in ("fn", "ln"))
            if p
        )
    return {
        "summary": entry.summary.strip(),
        "outcome": "",
        "name": name,
        "initials": initials(name),
        "caller": {"name": entry.caller_name.strip(), "contact": entry.caller_contact.strip()},
    }


def _assignee(session: Session, actor: User, incident: Incident, entry: InquiryInput) -> int | None:
    if entry.category is InquiryCategory.MEDIA:
        return _privacy_officer(session, actor)
    if entry.assignee_id is None:
        return None
    member = session.scalar(
        sa.select(IncidentMember.user_id).where(
            IncidentMember.incident_id == incident.id,
            IncidentMember.user_id == entry.assignee_id,
        )
    )
    officer = session.scalar(
        sa.select(User.id).where(
            User.id == entry.assignee_id, User.role == Role.PRIVACY_OFFICER, User.active
        )
    )
    if member is None and officer is None:
        raise ValidationFailed(
            "Assign the follow-up to someone on this incident's team or a privacy officer.",
            field="assignee_id",
        )
    return entry.assignee_id


def _privacy_officer(session: Session, actor: User) -> int | None:
    """Media inquiries go to a privacy officer: the actor when they are one, else the first."""
    if actor.role is Role.PRIVACY_OFFICER:
        return actor.id
    return session.scalar(
        sa.select(User.id)
        .where(User.role == Role.PRIVACY_OFFICER, User.active)
        .order_by(User.id)
        .limit(1)
    )


def set_off_for_person(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident: Incident,
    inquiry: Inquiry,
    person: RosterPerson,
) -> bool:
    """What the inquiry's category sets off once it is known whom it is about, whether that is
    known when it is recorded or when it is linked later (followups.link_person): a deceased
    notice marks the person deceased, recounts the roster and audits
    `roster.person_marked_deceased` naming the inquiry. True when the person was marked now.
    Does not commit: runs in the caller's transaction."""
    if inquiry.category is not InquiryCategory.DECEASED_NOTICE or person.deceased:
        return False
    person.deceased = True
    roster_counts.recount(session, incident=incident, now=now, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="roster.person_marked_deceased",
        at=now,
        subject_type="roster_person",
        subject_id=person.id,
        incident_id=incident.id,
        details={"source": "inquiry", "inquiry_id": inquiry.id},
    )
    return True


@dataclass
class InquiryRecord:
    inquiry: Inquiry
    phi: dict[str, Any]
    assignee: User | None
    recorded_by: User | None


def _inquiry(session: Session, incident_id: int, inquiry_id: int) -> Inquiry:
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None or inquiry.incident_id != incident_id:
        raise NotFound("No such inquiry on this incident.")
    return inquiry


def inquiry_on_incident(session: Session, incident_id: int, inquiry_id: int) -> Inquiry:
    """The inquiry of this incident; NotFound otherwise. No access check: the caller's."""
    return _inquiry(session, incident_id, inquiry_id)


def view_inquiry(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    inquiry_id: int,
    keyring: KeyRing,
) -> InquiryRecord:
    """One inquiry, decrypted. Every view is audited (commits)."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    inquiry = _inquiry(session, incident_id, inquiry_id)
    phi = decrypt(keyring, inquiry)
    audit.record(
        session,
        actor=actor,
        action="inquiry.viewed",
        at=now,
        subject_type="inquiry",
        subject_id=inquiry.id,
        incident_id=incident_id,
    )
    session.commit()
    assignee = session.get(User, inquiry.assignee_id) if inquiry.assignee_id else None
    return InquiryRecord(inquiry, phi, assignee, session.get(User, inquiry.recorded_by_id))


def close_inquiry(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    inquiry_id: int,
    keyring: KeyRing,
    outcome: str,
) -> Inquiry:
    """Close with what was done (encrypted: it may name the person). Its follow-up reminders
    stop. InvalidTransition when already closed. Audits, commits once."""
    roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    inquiry = _inquiry(session, incident_id, inquiry_id)
    if inquiry.status is InquiryStatus.CLOSED:
        raise InvalidTransition("This inquiry is already closed.")
    text = outcome.strip()
    if not text:
        raise ValidationFailed("Say what the outcome was before closing.", field="outcome")
    if len(text) > SUMMARY_MAX:
        raise ValidationFailed(
            f"Keep the outcome under {SUMMARY_MAX:,} characters.", field="outcome"
        )
    phi = decrypt(keyring, inquiry)
    phi["outcome"] = text
    _seal(keyring, inquiry, phi)
    inquiry.status = InquiryStatus.CLOSED
    inquiry.closed_at = now
    inquiry.closed_by_id = actor.id
    audit.record(
        session,
        actor=actor,
        action="inquiry.closed",
        at=now,
        subject_type="inquiry",
        subject_id=inquiry.id,
        incident_id=incident_id,
    )
    session.commit()
    return inquiry


def rotate_inquiries(session: Session, keyring: KeyRing, batch_size: int) -> int:
    """Re-encrypt inquiry blobs not under the primary key, batch by batch (commits each)."""

    def reencrypt(row: tuple[Any, ...]) -> bytes | None:
        inquiry_id, blob, incident_id = row
        if not keyring.needs_rotation(blob):
            return None
        return keyring.reencrypt(blob, inquiry_aad(incident_id, inquiry_id))

    return rotate_column(
        session,
        table=cast(sa.Table, Inquiry.__table__),
        column="phi",
        extra=("incident_id",),
        reencrypt=reencrypt,
        batch_size=batch_size,
    )


def assignees(session: Session, *, incident_id: int) -> list[tuple[int, str]]:
    """Who a follow-up can be assigned to: the incident's team and the privacy officers."""
    team = sa.select(IncidentMember.user_id).where(IncidentMember.incident_id == incident_id)
    rows = session.execute(
        sa.select(User.id, User.name)
        .where(User.active, sa.or_(User.id.in_(team), User.role == Role.PRIVACY_OFFICER))
        .order_by(User.name, User.id)
    )
    return [(user_id, name) for user_id, name in rows]
