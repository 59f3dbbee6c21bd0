"""Returned mail: a CSV of external ids (and optional dates) marks those people's notices as
returned, which can make them count as unreachable (164.404(d)(2)) and change the obligations.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import ValidationFailed
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import normalise as norm
from incident_app.services.roster.columns import guess_mapping
from incident_app.services.roster.columns import header_key
from incident_app.services.roster.columns import sniff_delimiter
from incident_app.services.roster.rows import external_index

RETURNS_MAX_ROWS = 100_000


@dataclass
class ReturnsResult:
    matched: int
    not_found: list[int]


def import_returns(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    upload: BinaryIO,
    keyring: KeyRing,
    max_bytes: int,
) -> ReturnsResult:
    """Mark returned mail from a CSV with an `external_id` column (optional `returned_on`).

    All rows or none: an unreadable file or a bad date rejects the whole file. Ids not on the
    roster are listed by row and skipped. Recounts, audits, commits once.
    """
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    rows = _returns_rows(upload, max_bytes, today=now.date())
    matched, not_found = 0, []
    for row, external_id, returned_on in rows:
        index = external_index(keyring, external_id)
        people = session.scalars(
            sa.select(RosterPerson).where(
                roster_access.visible(incident_id), RosterPerson.external_index == index
            )
        ).all()
        if not people:
            not_found.append(row)
        for person in people:
            person.notice_status = NoticeStatus.RETURNED_MAIL
            person.notice_on, person.notice_method = returned_on or person.notice_on, None
            matched += 1
    roster_counts.recount(session, incident=incident, now=now, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="roster.returns_imported",
        at=now,
        subject_type="incident",
        subject_id=incident_id,
        incident_id=incident_id,
        details={"rows": len(rows), "matched": matched, "not_found": len(not_found)},
    )
    session.commit()
    return ReturnsResult(matched, not_found)


def returns_message(result: ReturnsResult) -> str:
    text = f"Returned mail recorded for {result.matched} people; counts updated."
    if result.not_found:
        rows = ", ".join(str(row) for row in result.not_found[:20])
        more = " …" if len(result.not_found) > 20 else ""
        text += f" {len(result.not_found)} row(s) matched nobody on the roster (rows {rows}{more})."
    return text


def _returns_rows(
    upload: BinaryIO, max_bytes: int, *, today: date
) -> list[tuple[int, str, date | None]]:
    return read_rows(
        upload,
        max_bytes,
        today=today,
        column="external_id",
        missing="The returns file needs an external_id column (MRN or member id).",
        max_rows=RETURNS_MAX_ROWS,
    )


def read_rows(
    upload: BinaryIO,
    max_bytes: int,
    *,
    today: date,
    column: str,
    missing: str,
    max_rows: int,
    clean: Callable[[str], str] = norm.clean,
) -> list[tuple[int, str, date | None]]:
    """(row, `column`'s cleaned value, optional `returned_on`) of a returned-mail CSV; blank
    values skipped. ValidationFailed for a file too large or not UTF-8, without `column`
    (`missing` says what it is), with a bad date, too many rows or none."""
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationFailed(
            f"A returns file may be at most {max_bytes // 1_048_576} MB.", field="file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationFailed(
            "The file is not UTF-8 text; save it as “CSV UTF-8”. Nothing was changed.", field="file"
        ) from error
    reader = csv.DictReader(io.StringIO(text), delimiter=sniff_delimiter(text.split("\n")[0]))
    headers = reader.fieldnames or []
    fields = {header_key(name): name for name in headers}
    fields.update(guess_mapping(headers))  # MRN, member_id … name the external id too
    if column not in fields:
        raise ValidationFailed(f"{missing} Nothing was changed.", field="file")
    rows = []
    for row, record in enumerate(reader, start=2):
        value = clean(record.get(fields[column]) or "")
        when = norm.clean(record.get(fields.get("returned_on", ""), "") or "")
        if not value:
            continue
        try:
            day = norm.parse_date(when, today=today, what="returned_on") if when else None
        except norm.BadValue as error:
            raise ValidationFailed(
                f"Row {row}: {error}. Nothing was changed.", field="file"
            ) from error
        rows.append((row, value, day))
        if len(rows) > max_rows:
            raise ValidationFailed(
                f"A returns file may have at most {max_rows:,} rows.", field="file"
            )
    if not rows:
        raise ValidationFailed("The returns file lists nobody. Nothing was changed.", field="file")
    return rows
