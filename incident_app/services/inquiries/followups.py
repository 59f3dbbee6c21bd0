"""What an inquiry can still change after it was recorded: linking an inquiry recorded as "not
found on the roster" to the roster person it turned out to be about, and recording the new
address an "address change" inquiry gave, which re-queues the person's letter exactly as a
returned letter with a new address does (services/roster/returned_letters.py).

Both find people as recording does (letter code, or name + date of birth through the blind
index: services/inquiries/lookup.py), check roster access in here, audit, and commit once;
a refusal writes nothing.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import ValidationFailed
from incident_app.models.inquiry import FoundBy
from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import InquiryCategory
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.inquiries import lookup
from incident_app.services.inquiries import recording
from incident_app.services.inquiries.recording import inquiry_on_incident as inquiry_of
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import people as roster_people
from incident_app.services.roster import returned_letters


def link_person(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    inquiry_id: int,
    keyring: KeyRing,
    letter_code: str = "",
    first_name: str = "",
    last_name: str = "",
    birth: date | None = None,
) -> Inquiry:
    """Link an inquiry recorded as not on the roster to the person found by the letter code
    (when given) or by name + date of birth, then set off what its category sets off for that
    person exactly as recording does (a deceased notice marks them deceased:
    recording.set_off_for_person). ValidationFailed, nothing written, when the inquiry is
    already linked, the code is unknown (a code of another incident is unknown here) or nobody
    (or several) on this incident's roster match. Audits, commits once."""
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    inquiry = inquiry_of(session, incident_id, inquiry_id)
    if inquiry.person_id is not None or inquiry.found_by is not FoundBy.NOT_ON_ROSTER:
        raise ValidationFailed(
            "This inquiry is already linked to a roster person. Nothing was changed.",
            field="letter_code",
        )
    if lookup.clean_code(letter_code):
        found = lookup.by_letter_code(session, incident_id, letter_code)
        assert found.letter is not None  # by_letter_code raises otherwise
        if found.person is None:
            raise ValidationFailed(
                f"The person letter {found.letter.letter_code} was addressed to is no longer "
                "on the roster (a later import replaced it). Nothing was changed.",
                field="letter_code",
            )
        person, by = found.person, FoundBy.LETTER_CODE
        code: str | None = found.letter.letter_code
    else:
        person = lookup.by_name_and_birth(
            session,
            keyring,
            incident_id,
            first_name=first_name,
            last_name=last_name,
            birth=birth,
        )
        printed = roster_people.latest_letter_of(session, incident_id, person.id)
        code, by = (printed.letter_code if printed else None), FoundBy.NAME_DOB
    inquiry.person_id, inquiry.letter_code, inquiry.found_by = person.id, code, by
    marked = recording.set_off_for_person(
        session, actor=actor, now=now, incident=incident, inquiry=inquiry, person=person
    )
    audit.record(
        session,
        actor=actor,
        action="inquiry.person_linked",
        at=now,
        subject_type="inquiry",
        subject_id=inquiry.id,
        incident_id=incident_id,
        details={
            "person_id": person.id,
            "found_by": by.value,
            "letter_code": code,
            "marked_deceased": marked,
        },
    )
    session.commit()
    return inquiry


def record_new_address(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    inquiry_id: int,
    keyring: KeyRing,
    new_address: returned_letters.NewAddress,
) -> str:
    """The new address an address-change inquiry gave: the person's latest mailed letter is
    recorded as returned with it and re-queued for the next mailing (returned_letters), the
    inquiry's audit event naming the letter. Returns that letter's code. ValidationFailed,
    nothing written, when the inquiry is not an address change, names nobody on the roster,
    the person has no mailed letter yet, or the address is incomplete."""
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    inquiry = inquiry_of(session, incident_id, inquiry_id)
    if inquiry.category is not InquiryCategory.ADDRESS_CHANGE:
        raise ValidationFailed(
            "Only an address-change inquiry records a new address. Nothing was changed.",
            field="line1",
        )
    if inquiry.person_id is None:
        raise ValidationFailed(
            "Link this inquiry to the roster person first (by letter code or name and date of "
            "birth). Nothing was changed.",
            field="line1",
        )
    person = roster_people.person_on_roster(session, incident_id, inquiry.person_id)
    letter = roster_people.latest_letter_of(session, incident_id, person.id, mailed_only=True)
    if letter is None:
        raise ValidationFailed(
            "This person has no mailed letter yet, so there is nothing to re-mail: correct the "
            "address on the roster (import) before the first mailing. Nothing was changed.",
            field="line1",
        )
    returned_letters.stage_return(
        session,
        actor=actor,
        now=now,
        incident=incident,
        keyring=keyring,
        letter_code=letter.letter_code,
        new_address=new_address,
        source="inquiry",
        reopen_unreachable=True,
    )
    audit.record(
        session,
        actor=actor,
        action="inquiry.address_recorded",
        at=now,
        subject_type="inquiry",
        subject_id=inquiry.id,
        incident_id=incident_id,
        details={"person_id": person.id, "letter_code": letter.letter_code, "requeued": True},
    )
    session.commit()
    return letter.letter_code
