"""What the mail house gets for each finished chunk: one print-ready PDF of its letters in order
(`combine`) and a manifest CSV saying who each letter goes to and nothing more, with every cell
neutralised against formula injection.

The enrollment code (issue 23) is printed in full on the letter, so the print file already
carries it; the manifest lists only its last four characters. A manifest is a mailing list that
travels (QC sheets, spoilage and exception reports, the mail house's own systems); the last
four let an operator confirm that the insert in hand matches its row, as card issuers print
the last digits, without putting a second copy of every bearer code in another file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.crypto import KeyRing
from incident_app.models.mail_batch import MailLetter
from incident_app.models.roster import RosterPerson
from incident_app.services.enrolment import codes as enrolment_codes
from incident_app.services.mail_merge.recipients import Unprintable
from incident_app.services.mail_merge.recipients import recipient_for
from incident_app.services.roster import normalise as norm
from incident_app.services.roster import people as roster_people

MANIFEST_HEADER = (
    "letter_id",
    "chunk",
    "sequence",
    "variant",
    "recipient_name",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "page_count",
    "sha256",
    "enrollment_code_last4",
)


def combine(pdfs: Iterable[bytes | letters.LetterParts], *, title: str) -> tuple[bytes, int]:
    """One PDF of all `pdfs` in order (the mail house's print file) and its page count; fonts
    and other common objects are written once (letters.print_file). A letter just rendered
    may be given as the parts it was written from (no parsing)."""
    return letters.combine_print_file(pdfs, title=title)


def manifest_csv(
    session: Session, number: int, rows: Sequence[MailLetter], keyring: KeyRing
) -> bytes:
    """The mail house's list for one chunk: who each letter goes to, nothing more. Cells are
    neutralised against formula injection."""
    people = {
        p.id: p
        for p in session.scalars(
            sa.select(RosterPerson).where(RosterPerson.id.in_([row.person_id for row in rows]))
        )
    }
    last4 = enrolment_codes.last4_by_person(session, list(people), keyring)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MANIFEST_HEADER)
    for row in rows:
        name, lines = _printed_address(people.get(row.person_id or 0), row, keyring)
        cells = [
            row.letter_code,
            number,
            row.sequence,
            row.variant.value if row.variant else "",
            name,
            *(lines + ["", "", ""])[:3],
            row.page_count,
            row.sha256,
            last4.get(row.person_id or 0, ""),
        ]
        writer.writerow([norm.neutralise_cell(cell) for cell in cells])
    return buffer.getvalue().encode("utf-8")


def _printed_address(
    person: RosterPerson | None, row: MailLetter, keyring: KeyRing
) -> tuple[str, list[str]]:
    if person is None or row.variant is None:
        return "(no longer on the roster)", []
    try:
        recipient = recipient_for(
            person, roster_people.decrypt(keyring, person), row.variant, row.letter_code
        )
    except Unprintable:
        return "(address changed since the letter was made)", []
    return recipient.addressee, recipient.context["address_lines"]
