"""The roster of an incident: who may see it, its counts (which feed the rules engine), people,
per-person notice tracking, the returned-mail import, exports and key rotation.

The roster is the rows of the incident's COMMITTED imports (see models/roster.py). Counts are
recomputed in the transaction of every change (`recount`) and replace the typed-in estimate:
Incident.roster_total, Incident.insufficient_contact_living and StateCount(source=roster).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from typing import Any
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import StateCount
from incident_app.models.roster import AddressStatus
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import NoticeMethod
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import obligations
from incident_app.services.incidents import access as incident_access
from incident_app.services.roster import normalise as norm
from incident_app.services.roster.columns import guess_mapping
from incident_app.services.roster.columns import header_key
from incident_app.services.roster.columns import sniff_delimiter
from incident_app.services.roster.rows import external_index
from incident_app.services.roster.rows import phi_aad
from incident_app.storage import FileStore

MEDIA_THRESHOLD = 500  # 164.406: media notice for MORE than 500 residents of a State
PER_PAGE = 50
RETURNS_MAX_ROWS = 100_000
EXPORT_BATCH = 2000
UNREACHABLE = (NoticeStatus.RETURNED_MAIL, NoticeStatus.UNREACHABLE)


# -- access --------------------------------------------------------------------------------


def get_readable(session: Session, *, actor: User, incident_id: int) -> Incident:
    """The incident if `actor` may see its roster (PHI): its team, privacy officers and
    auditors. Admins see incidents but not PHI. NotFound for non-members (incident_access)."""
    incident = incident_access.get_visible(session, actor=actor, incident_id=incident_id)
    if actor.role in (Role.PRIVACY_OFFICER, Role.AUDITOR):
        return incident
    if incident_access.case_role(session, incident_id=incident_id, user_id=actor.id) is None:
        raise NotAllowed(
            "The roster holds PHI: only the incident's team, privacy officers "
            "and auditors can see it."
        )
    return incident


def get_workable(session: Session, *, actor: User, incident_id: int) -> Incident:
    get_readable(session, actor=actor, incident_id=incident_id)
    return incident_access.get_workable(session, actor=actor, incident_id=incident_id)


def can_change(session: Session, *, actor: User, incident: Incident) -> bool:
    return incident_access.can_work_on(session, actor=actor, incident=incident)


def committed_import_ids(session: Session, incident_id: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(RosterImport.id).where(
                RosterImport.incident_id == incident_id,
                RosterImport.status == ImportStatus.COMMITTED,
            )
        )
    )


def _visible(incident_id: int) -> sa.ColumnElement[bool]:
    """Rows of the roster: those of the incident's committed imports."""
    committed = sa.select(RosterImport.id).where(
        RosterImport.incident_id == incident_id, RosterImport.status == ImportStatus.COMMITTED
    )
    return RosterPerson.import_id.in_(committed.scalar_subquery())


# -- counts --------------------------------------------------------------------------------


@dataclass
class RosterCounts:
    total: int = 0
    unknown_state: int = 0
    insufficient_contact_living: int = 0
    deceased_with_nok_address: int = 0
    deceased_without_nok_address: int = 0
    minors: int = 0
    merged_duplicates: int = 0
    by_state: dict[str, int] = field(default_factory=dict)

    def states_over_threshold(self) -> list[str]:
        return [s for s, n in self.by_state.items() if n > MEDIA_THRESHOLD]


def _insufficient_contact() -> sa.ColumnElement[bool]:
    # 164.404(d)(2): a LIVING person whose contact information precludes written notice —
    # no sufficient postal address (and no agreed email), or mail came back / unreachable.
    no_written_route = sa.and_(
        RosterPerson.address_status != AddressStatus.SUFFICIENT, sa.not_(RosterPerson.email_consent)
    )
    return sa.and_(
        sa.not_(RosterPerson.deceased),
        sa.or_(no_written_route, RosterPerson.notice_status.in_(UNREACHABLE)),
    )


def _sum(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def count(session: Session, incident_id: int) -> RosterCounts:
    """The roster's counts (merged duplicates excluded from everything but their own count)."""
    counted = sa.and_(_visible(incident_id), RosterPerson.duplicate_of_id.is_(None))
    row = session.execute(
        sa.select(
            sa.func.count(),
            _sum(RosterPerson.state.is_(None)),
            _sum(_insufficient_contact()),
            _sum(sa.and_(RosterPerson.deceased, RosterPerson.nok_address)),
            _sum(sa.and_(RosterPerson.deceased, sa.not_(RosterPerson.nok_address))),
            _sum(RosterPerson.minor),
        ).where(counted)
    ).one()
    by_state: dict[str, int] = dict(
        session.execute(  # type: ignore[arg-type]
            sa.select(RosterPerson.state, sa.func.count())
            .where(counted, RosterPerson.state.is_not(None))
            .group_by(RosterPerson.state)
            .order_by(RosterPerson.state)
        ).all()
    )
    merged = (
        session.scalar(
            sa.select(sa.func.count()).where(
                _visible(incident_id), RosterPerson.duplicate_of_id.is_not(None)
            )
        )
        or 0
    )
    return RosterCounts(*(int(v) for v in row), merged_duplicates=merged, by_state=by_state)


def recount(
    session: Session, *, incident: Incident, now: datetime, actor: User | None
) -> RosterCounts:
    """Store the roster's counts on the incident and re-sync its obligations (no commit).

    With no committed import left the roster figures are cleared and the estimate applies
    again. A rules-engine refusal (ValidationFailed, e.g. no discovery date yet) does not
    undo the roster: the obligations are re-synced when that fact is entered.
    """
    has_roster = bool(committed_import_ids(session, incident.id))
    counts = count(session, incident.id) if has_roster else RosterCounts()
    session.execute(
        sa.delete(StateCount).where(
            StateCount.incident_id == incident.id, StateCount.source == CountSource.ROSTER
        )
    )
    for state, residents in counts.by_state.items():
        session.add(
            StateCount(
                incident_id=incident.id, source=CountSource.ROSTER, state=state, residents=residents
            )
        )
    incident.roster_total = counts.total if has_roster else None
    incident.insufficient_contact_living = (
        counts.insufficient_contact_living if has_roster else None
    )
    incident.updated_at = now
    try:
        obligations.sync(session, incident=incident, now=now, actor=actor)
    except ValidationFailed:
        pass
    return counts


@dataclass
class Overview:
    incident: Incident
    counts: RosterCounts
    has_roster: bool
    estimates: dict[str, int]
    imports: list[RosterImport]
    can_change: bool


def overview(session: Session, *, actor: User, incident_id: int) -> Overview:
    """What the roster tab shows: counts, per-state table, estimates (history), imports."""
    incident = get_readable(session, actor=actor, incident_id=incident_id)
    estimates = {
        row.state: row.residents
        for row in incident.state_counts
        if row.source == CountSource.ESTIMATE
    }
    imports = list(
        session.scalars(
            sa.select(RosterImport)
            .where(RosterImport.incident_id == incident_id)
            .order_by(RosterImport.id.desc())
            .limit(20)
        )
    )
    return Overview(
        incident,
        count(session, incident_id),
        bool(committed_import_ids(session, incident_id)),
        estimates,
        imports,
        can_change(session, actor=actor, incident=incident),
    )


def progress(session: Session, *, actor: User, incident_id: int, import_id: int) -> dict[str, Any]:
    """Progress of an import for the polling page: rows, rate, ETA (from bytes read)."""
    record = get_import(session, actor=actor, incident_id=incident_id, import_id=import_id)
    seconds = 0.0
    if record.started_at and record.heartbeat_at:
        seconds = (record.heartbeat_at - record.started_at).total_seconds()
    rate = record.rows_read / seconds if seconds > 0 else 0.0
    fraction = min(record.bytes_read / record.size_bytes, 1.0) if record.size_bytes else 0.0
    eta = seconds * (1 - fraction) / fraction if 0 < fraction < 1 else None
    if record.status is ImportStatus.COMMITTED:
        fraction = 1.0
    return {
        "status": record.status.value,
        "status_label": record.status.label,
        "rows_read": record.rows_read,
        "accepted": record.rows_accepted,
        "rejected": record.rows_rejected,
        "merged": record.rows_merged,
        "warnings": record.warnings,
        "percent": round(fraction * 100, 1),
        "rows_per_second": round(rate),
        "eta_seconds": None if eta is None else round(eta),
        "message": record.message,
        "done": not record.status.is_active and record.status is not ImportStatus.NEEDS_MAPPING,
    }


def get_import(session: Session, *, actor: User, incident_id: int, import_id: int) -> RosterImport:
    get_readable(session, actor=actor, incident_id=incident_id)
    record = session.get(RosterImport, import_id)
    if record is None or record.incident_id != incident_id:
        raise NotFound("No such roster import for this incident.")
    return record


# -- people --------------------------------------------------------------------------------


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
    get_readable(session, actor=actor, incident_id=incident_id)
    where = [_visible(incident_id)]
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


def _person(session: Session, incident_id: int, person_id: int) -> RosterPerson:
    person = session.scalar(
        sa.select(RosterPerson).where(
            RosterPerson.id == person_id,
            RosterPerson.incident_id == incident_id,
            _visible(incident_id),
        )
    )
    if person is None:
        raise NotFound("No such person on this incident's roster.")
    return person


def decrypt(keyring: KeyRing, person: RosterPerson) -> dict[str, Any]:
    return keyring.decrypt_json(
        person.phi, phi_aad(person.incident_id, person.import_id, person.row_number)
    )


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
    get_readable(session, actor=actor, incident_id=incident_id)
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
    return PersonRecord(person, phi)


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
    incident = get_workable(session, actor=actor, incident_id=incident_id)
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
    recount(session, incident=incident, now=now, actor=actor)
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
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    rows = _returns_rows(upload, max_bytes, today=now.date())
    matched, not_found = 0, []
    for row, external_id, returned_on in rows:
        index = external_index(keyring, external_id)
        people = session.scalars(
            sa.select(RosterPerson).where(
                _visible(incident_id), RosterPerson.external_index == index
            )
        ).all()
        if not people:
            not_found.append(row)
        for person in people:
            person.notice_status = NoticeStatus.RETURNED_MAIL
            person.notice_on, person.notice_method = returned_on or person.notice_on, None
            matched += 1
    recount(session, incident=incident, now=now, actor=actor)
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
    if "external_id" not in fields:
        raise ValidationFailed(
            "The returns file needs an external_id column (MRN or member id). Nothing was changed.",
            field="file",
        )
    rows = []
    for row, record in enumerate(reader, start=2):
        external_id = norm.clean(record.get(fields["external_id"]) or "")
        when = norm.clean(record.get(fields.get("returned_on", ""), "") or "")
        if not external_id:
            continue
        try:
            day = norm.parse_date(when, today=today, what="returned_on") if when else None
        except norm.BadValue as error:
            raise ValidationFailed(
                f"Row {row}: {error}. Nothing was changed.", field="file"
            ) from error
        rows.append((row, external_id, day))
        if len(rows) > RETURNS_MAX_ROWS:
            raise ValidationFailed(
                f"A returns file may have at most {RETURNS_MAX_ROWS:,} rows.", field="file"
            )
    if not rows:
        raise ValidationFailed("The returns file lists nobody. Nothing was changed.", field="file")
    return rows


# -- exports ---------------------------------------------------------------------------------

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
    get_workable(session, actor=actor, incident_id=incident_id)
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
    yield _csv_line(EXPORT_HEADER)
    last_id = 0
    while True:
        batch = session.scalars(
            sa.select(RosterPerson)
            .where(_visible(incident_id), RosterPerson.id > last_id)
            .order_by(RosterPerson.id)
            .limit(EXPORT_BATCH)
        ).all()
        if not batch:
            return
        for person in batch:
            yield _csv_line(_export_row(person, decrypt(keyring, person)))
        last_id = batch[-1].id
        session.expunge_all()


def _export_row(person: RosterPerson, phi: dict[str, Any]) -> list[object]:
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


def _csv_line(cells: Any) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([norm.neutralise_cell(cell) for cell in cells])
    return buffer.getvalue()


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
    record = get_import(session, actor=actor, incident_id=incident_id, import_id=import_id)
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


# -- key rotation ----------------------------------------------------------------------------


def rotate_roster(session: Session, keyring: KeyRing, batch_size: int) -> int:
    """Re-encrypt roster blobs not under the primary key, batch by batch (commits each).

    Killed half-way, every blob is still readable (old keys stay in the ring); a second call
    picks up where this one stopped."""
    rotated, last_id = 0, 0
    while True:
        batch = session.execute(
            sa.select(
                RosterPerson.id,
                RosterPerson.incident_id,
                RosterPerson.import_id,
                RosterPerson.row_number,
                RosterPerson.phi,
            )
            .where(RosterPerson.id > last_id)
            .order_by(RosterPerson.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return rotated
        updates = [
            {"b_id": pid, "b_phi": keyring.reencrypt(blob, phi_aad(incident, imp, row))}
            for pid, incident, imp, row, blob in batch
            if keyring.needs_rotation(blob)
        ]
        if updates:
            session.execute(
                sa.update(RosterPerson.__table__)
                .where(RosterPerson.__table__.c.id == sa.bindparam("b_id"))
                .values(phi=sa.bindparam("b_phi")),
                updates,
            )
        session.commit()
        rotated += len(updates)
        last_id = batch[-1][0]
