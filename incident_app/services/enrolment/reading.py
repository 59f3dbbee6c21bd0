"""Reading an incident's enrollment codes: the pool's status page, one person's code on their
record (audited), and the export of assigned codes for the vendor (audited)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.models.enrolment import CodeImport
from incident_app.models.enrolment import CodePool
from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.incident import Incident
from incident_app.models.user import User
from incident_app.rules.identity_protection import OfferRequirement
from incident_app.services import audit
from incident_app.services.enrolment import access
from incident_app.services.enrolment import codes
from incident_app.services.enrolment import offer
from incident_app.services.enrolment.assignment import Supply
from incident_app.services.enrolment.assignment import free_codes
from incident_app.services.enrolment.assignment import pool_of
from incident_app.services.enrolment.assignment import supply
from incident_app.services.mail_merge import planning
from incident_app.services.organisation import get_organisation
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import people as roster_people

# The vendor activates and bills the codes that went out; it needs the code, when it was
# given, and the letter it was printed on (so a caller's letter ID can be matched to a code
# by the vendor's call centre and ours). No name, address or date of birth: the vendor
# collects those from the person at enrollment, with their consent (minimum necessary,
# 45 CFR 164.502(b)).
EXPORT_HEADER = ("code", "assigned_on", "letter_code")


@dataclass
class PoolStatus:
    incident: Incident
    pool: CodePool | None
    total: int
    assigned: int
    free: int
    waiting: Supply | None  # recipients of the next mailing still needing a code, vs free
    imports: list[CodeImport]
    requirements: list[OfferRequirement]
    may_manage: bool

    @property
    def short_requirements(self) -> list[OfferRequirement]:
        return [r for r in self.requirements if r.short]


def pool_status(session: Session, *, actor: User, incident_id: int) -> PoolStatus:
    """The pool's counts, offer and imports, and the state offer lengths (no code shown)."""
    incident = access.get_viewable(session, actor=actor, incident_id=incident_id)
    pool = pool_of(session, incident_id)
    total = assigned = free = 0
    imports: list[CodeImport] = []
    waiting = None
    if pool is not None:
        total = (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(EnrolmentCode)
                .where(EnrolmentCode.pool_id == pool.id)
            )
            or 0
        )
        free = free_codes(session, pool.id)
        assigned = total - free
        imports = list(
            session.scalars(
                sa.select(CodeImport)
                .where(CodeImport.pool_id == pool.id)
                .order_by(CodeImport.id.desc())
            )
        )
        waiting = waiting_supply(session, incident_id)
    return PoolStatus(
        incident,
        pool,
        total,
        assigned,
        free,
        waiting,
        imports,
        offer.requirements(session, incident),
        access.may_manage(actor),
    )


def waiting_supply(session: Session, incident_id: int) -> Supply | None:
    """Codes the people waiting for a notice would need now, against free codes (None
    without a pool). From the roster's clear flags: no PHI is decrypted."""
    planned = planning.plan(
        session, incident_id, email_enabled=get_organisation(session).email_notice_enabled
    )
    return supply(session, incident_id, [r.person_id for r in planned.routed])


@dataclass(frozen=True)
class AssignedCode:
    code: str
    assigned_at: datetime
    letter_code: str


def person_code(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    person_id: int,
    keyring: KeyRing,
) -> AssignedCode | None:
    """The person's enrollment code, for whoever may read the roster's PHI; the read is
    audited (commits) when there is a code to show."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    person = roster_people.person_on_roster(session, incident_id, person_id)
    row = session.scalar(sa.select(EnrolmentCode).where(EnrolmentCode.person_id == person.id))
    if row is None or row.assigned_at is None:
        return None
    shown = AssignedCode(codes.reveal(keyring, row), row.assigned_at, row.letter_code)
    audit.record(
        session,
        actor=actor,
        action="enrolment.code_viewed",
        at=now,
        subject_type="roster_person",
        subject_id=person.id,
        incident_id=incident_id,
    )
    session.commit()
    return shown


def export_assigned(
    session: Session, *, actor: User, now: datetime, incident_id: int, keyring: KeyRing
) -> Iterator[str]:
    """CSV lines of every assigned code (EXPORT_HEADER), read and decrypted batch by batch.
    The export is audited (committed) before the first line; privacy officers only."""
    access.get_manageable(session, actor=actor, incident_id=incident_id)
    pool = pool_of(session, incident_id)
    count = 0
    if pool is not None:
        count = (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(EnrolmentCode)
                .where(EnrolmentCode.pool_id == pool.id, EnrolmentCode.assigned_at.is_not(None))
            )
            or 0
        )
    audit.record(
        session,
        actor=actor,
        action="enrolment.codes_exported",
        at=now,
        subject_type="code_pool",
        subject_id=pool.id if pool else 0,
        incident_id=incident_id,
        details={"codes": count},
    )
    session.commit()
    return _lines(session, pool.id if pool else None, keyring)


def _lines(session: Session, pool_id: int | None, keyring: KeyRing) -> Iterator[str]:
    yield _line(EXPORT_HEADER)
    if pool_id is None:
        return
    last_id = 0
    while True:
        rows = list(
            session.scalars(
                sa.select(EnrolmentCode)
                .where(
                    EnrolmentCode.pool_id == pool_id,
                    EnrolmentCode.assigned_at.is_not(None),
                    EnrolmentCode.id > last_id,
                )
                .order_by(EnrolmentCode.id)
                .limit(1000)
            )
        )
        if not rows:
            return
        for row in rows:
            assigned = row.assigned_at.date().isoformat() if row.assigned_at else ""
            yield _line((codes.reveal(keyring, row), assigned, row.letter_code))
        last_id = rows[-1].id


def _line(cells: tuple[str, ...]) -> str:
    # Codes are [A-Z0-9-] and letter codes too: nothing a spreadsheet would run as a formula.
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()
