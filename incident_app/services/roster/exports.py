"""What leaves the roster as a file: the whole roster decrypted as CSV, and an import's report.

Both are audited before the first byte goes out, and every cell is neutralised against
formula injection (a spreadsheet must not run a cell that starts with "=").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import NotFound
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.csv_export import csv_lines
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import people
from incident_app.storage import FileStore

EXPORT_BATCH = 2000
EXPORT_HEADER = (
    "row_id",
    "external_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "country",
    "email",
    "phone",
    "deceased",
    "minor",
    "address_status",
    "notice_status",
    "notice_method",
    "notice_on",
    "duplicate_of",
)


def export_roster(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    keyring: KeyRing,
) -> Iterator[str]:
    """The whole roster decrypted, as CSV text lines with every cell neutralised against
    formula injection. Audited (commits) before the first line is produced."""
    roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    audit.record(
        session,
        actor=actor,
        action="roster.exported",
        at=now,
        subject_type="incident",
        subject_id=incident_id,
        incident_id=incident_id,
    )
    session.commit()
    return _export_lines(session, incident_id, keyring)


def _export_lines(session: Session, incident_id: int, keyring: KeyRing) -> Iterator[str]:
    return csv_lines(
        session,
        header=EXPORT_HEADER,
        query=sa.select(RosterPerson).where(roster_access.visible(incident_id)),
        key=RosterPerson.id,
        cells=lambda person: export_row(person, people.decrypt(keyring, person)),
        batch_size=EXPORT_BATCH,
    )


def export_row(person: RosterPerson, phi: dict[str, Any]) -> list[object]:
    return [
        person.id,
        phi.get("ext", ""),
        phi.get("fn", ""),
        phi.get("ln", ""),
        phi.get("dob", ""),
        phi.get("a1", ""),
        phi.get("a2", ""),
        phi.get("city", ""),
        person.state or "",
        phi.get("zip", ""),
        phi.get("ctry", ""),
        phi.get("email", ""),
        phi.get("phone", ""),
        "Y" if person.deceased else "N",
        "Y" if person.minor else "N",
        person.address_status.value,
        person.notice_status.value,
        person.notice_method.value if person.notice_method else "",
        person.notice_on or "",
        person.duplicate_of_id or "",
    ]


def import_report(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    import_id: int,
    store: FileStore,
) -> Iterator[bytes]:
    """The import's report (rejected rows, warnings, merges; cells already neutralised when
    written). Audited (commits); the bytes are verified against their SHA-256 as they stream."""
    record = roster_access.get_import(
        session, actor=actor, incident_id=incident_id, import_id=import_id
    )
    if record.report_sha256 is None:
        raise NotFound("This import has no report (it did not finish).")
    audit.record(
        session,
        actor=actor,
        action="roster.report_downloaded",
        at=now,
        subject_type="roster_import",
        subject_id=import_id,
        incident_id=incident_id,
    )
    session.commit()
    return store.open_verified(record.report_sha256)
