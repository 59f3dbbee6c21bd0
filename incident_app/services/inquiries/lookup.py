"""Who an inquiry is about: the person behind a letter code, or behind a name and date of birth.

Both searches are equality lookups on values that are not PHI (the printed letter code) or are
keyed blind indexes (HMAC of name + date of birth, services/roster/rows.py); nothing is decrypted
to search. No access check and no audit here: the callers do both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import ValidationFailed
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailLetter
from incident_app.models.roster import RosterPerson
from incident_app.services.roster import access as roster_access
from incident_app.services.roster.rows import lookup_index

CODE_MAX = 40  # MailLetter.letter_code


@dataclass(frozen=True)
class Found:
    letter: MailLetter | None
    person: RosterPerson | None


def clean_code(text: str) -> str:
    """A letter code as typed or scanned: blanks gone."""
    return "".join(text.split())


def by_letter_code(session: Session, incident_id: int, code: str) -> Found:
    """The letter with this code on this incident and its person (None once the roster it
    came from was replaced). ValidationFailed, field "letter_code", for an unknown code."""
    cleaned = clean_code(code)
    if not cleaned:
        raise ValidationFailed("Enter the letter code printed on the letter.", field="letter_code")
    letter = None
    if len(cleaned) <= CODE_MAX:
        letter = session.scalar(
            sa.select(MailLetter)
            .join(MailBatch, MailBatch.id == MailLetter.batch_id)
            .where(
                MailBatch.incident_id == incident_id,
                # Codes print in capitals; a code typed in lower case finds them too.
                MailLetter.letter_code.in_({cleaned, cleaned.upper()}),
            )
        )
    if letter is None:
        raise ValidationFailed(
            f"No letter of this incident has the code {cleaned[:CODE_MAX]!r}. Check it against "
            "the “Letter ID” printed on the letter. Nothing was saved.",
            field="letter_code",
        )
    person = None
    if letter.person_id is not None:
        person = session.scalar(
            sa.select(RosterPerson).where(
                RosterPerson.id == letter.person_id, roster_access.visible(incident_id)
            )
        )
    return Found(letter, person)


def by_name_and_birth(
    session: Session,
    keyring: KeyRing,
    incident_id: int,
    *,
    first_name: str,
    last_name: str,
    birth: date | None,
) -> RosterPerson:
    """The one person on the roster with this name and date of birth (case and spacing do
    not matter). ValidationFailed when a part is missing, nobody matches, or several do."""
    if not first_name.strip() or not last_name.strip():
        raise ValidationFailed("Enter the caller's first and last name.", field="last_name")
    if birth is None:
        raise ValidationFailed("Enter the caller's date of birth.", field="date_of_birth")
    token = lookup_index(keyring, first_name, last_name, birth.isoformat())
    people = list(
        session.scalars(
            sa.select(RosterPerson)
            .where(
                roster_access.visible(incident_id),
                RosterPerson.lookup_index == token,
                RosterPerson.duplicate_of_id.is_(None),
            )
            .order_by(RosterPerson.id)
            .limit(2)
        )
    )
    if not people:
        raise ValidationFailed(
            "Nobody on this incident's roster has that name and date of birth. Check the "
            "spelling and the date, ask for the letter code, or record the inquiry as “not "
            "found on the roster”. Nothing was saved.",
            field="last_name",
        )
    if len(people) > 1:
        raise ValidationFailed(
            "More than one person on the roster has that name and date of birth: ask for the "
            "letter code printed on their letter. Nothing was saved.",
            field="last_name",
        )
    return people[0]
