"""The identities a client notice carries (45 CFR 164.410(c)(1)): the client's people on the
current roster that no earlier notice to the client named, as the CSV kept (encrypted) in the
file store — name, date of birth, address … as the roster has them, nothing of other clients.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import storage
from incident_app.models.client import ClientNotice
from incident_app.models.client import ClientNoticePerson
from incident_app.models.roster import RosterPerson
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import exports
from incident_app.services.roster import normalise as norm
from incident_app.services.roster import people

# The roster's own export columns, from the record id to the minor flag: names, date of
# birth, address, email and phone as the roster has them; no row ids or notice bookkeeping.
_IDENTITY_COLUMNS = slice(1, 15)
IDENTITY_HEADER = exports.EXPORT_HEADER[_IDENTITY_COLUMNS]


def new_identities(
    session: Session,
    store: storage.FileStore,
    incident_id: int,
    client_id: int,
    earlier: list[ClientNotice],
) -> tuple[list[str], list[list[object]]]:
    """The client's people (current roster, merged duplicates left out) that no earlier
    notice named, as (keys, CSV rows)."""
    given = set(
        session.scalars(
            sa.select(ClientNoticePerson.person_key).where(
                ClientNoticePerson.notice_id.in_([notice.id for notice in earlier])
            )
        )
    )
    keys: list[str] = []
    rows: list[list[object]] = []
    for person in client_people(session, incident_id, client_id):
        key = person_key(person)
        if key in given:
            continue
        given.add(key)
        keys.append(key)
        row = exports.export_row(person, people.decrypt(store.keyring, person))
        rows.append(row[_IDENTITY_COLUMNS])
    return keys, rows


def client_people(session: Session, incident_id: int, client_id: int) -> Iterable[RosterPerson]:
    return session.scalars(
        sa.select(RosterPerson)
        .where(
            roster_access.visible(incident_id),
            RosterPerson.client_id == client_id,
            RosterPerson.duplicate_of_id.is_(None),
        )
        .order_by(RosterPerson.id)
    )


def as_csv(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(IDENTITY_HEADER)
    for row in rows:
        writer.writerow([norm.neutralise_cell(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def person_key(person: RosterPerson) -> str:
    """Who the person is across re-imports: the blind index of the record id, else of
    name + date of birth + address, else (neither known) the row itself."""
    if person.external_index:
        return f"x:{person.external_index}"
    if person.identity_index:
        return f"i:{person.identity_index}"
    return f"r:{person.id}"
