"""Giving each mail-merge recipient exactly one enrollment code.

Assignment is per person and idempotent: `EnrolmentCode.person_id` is unique, so a person
keeps the code they got first through a resume, a retry, a killed worker or a later
re-mailing, and a code never goes to two people (`code_index` is unique too, across pools).
The chunk run calls `codes_for` inside its own transaction, after re-checking its claim and
before rendering, so the code printed is the code recorded; the claim of free codes is
`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL (two workers never take the same code and
never wait on each other) and runs under the write lock (BEGIN IMMEDIATE) on SQLite.

`check_supply` refuses a mailing before it starts when its recipients who still need a code
outnumber the free codes, naming the shortfall.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from typing import cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.errors import InvalidTransition
from incident_app.models.enrolment import CodePool
from incident_app.models.enrolment import EnrolmentCode
from incident_app.services.enrolment import codes

LOW_MARGIN = 0.10  # warn while free codes are fewer than the people waiting plus 10 %


class PoolEmpty(Exception):
    """The pool ran out mid-mailing (codes were needed beyond the start's check)."""


class Wanted(NamedTuple):
    person_id: int
    letter_code: str  # the letter the code is first printed on (the vendor export shows it)


def pool_of(session: Session, incident_id: int) -> CodePool | None:
    return session.scalar(sa.select(CodePool).where(CodePool.incident_id == incident_id))


def free_codes(session: Session, pool_id: int) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(EnrolmentCode)
            .where(EnrolmentCode.pool_id == pool_id, EnrolmentCode.assigned_at.is_(None))
        )
        or 0
    )


def still_needing(session: Session, person_ids: Sequence[int]) -> int:
    """How many of these people have no code yet."""
    have = 0
    for start in range(0, len(person_ids), 1000):
        have += (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(EnrolmentCode)
                .where(EnrolmentCode.person_id.in_(person_ids[start : start + 1000]))
            )
            or 0
        )
    return len(person_ids) - have


class Supply(NamedTuple):
    needed: int
    free: int

    @property
    def short_by(self) -> int:
        return max(0, self.needed - self.free)

    @property
    def low(self) -> bool:
        return self.free < self.needed * (1 + LOW_MARGIN)

    def shortfall(self) -> str:
        return (
            f"This mailing needs {self.needed:,} enrollment code"
            f"{'s' if self.needed != 1 else ''} and the pool has {self.free:,} free: import "
            f"{self.short_by:,} more (Enrollment codes tab) before starting it."
        )


def supply(session: Session, incident_id: int, person_ids: Sequence[int]) -> Supply | None:
    """Codes needed by these recipients against free codes; None when the incident makes
    no identity-protection offer (no pool)."""
    pool = pool_of(session, incident_id)
    if pool is None:
        return None
    return Supply(still_needing(session, person_ids), free_codes(session, pool.id))


def check_supply(session: Session, incident_id: int, person_ids: Sequence[int]) -> None:
    """InvalidTransition naming the shortfall when the pool cannot cover these recipients."""
    found = supply(session, incident_id, person_ids)
    if found is not None and found.short_by:
        raise InvalidTransition(found.shortfall())


def codes_for(
    session: Session,
    *,
    incident_id: int,
    wanted: Sequence[Wanted],
    keyring: KeyRing,
    now: datetime,
) -> dict[int, str]:
    """Each wanted person's code (plaintext), assigning free codes to those without one.

    Writes in the caller's transaction and does not commit (the chunk run commits). Raises
    PoolEmpty when the pool has too few free codes. A person assigned concurrently by
    another worker (a chunk taken over) keeps that worker's code: the unique person_id
    refuses ours, and the assignment is read again.
    """
    pool = pool_of(session, incident_id)
    if pool is None or not wanted:
        return {}
    try:
        with session.begin_nested():
            _assign(session, pool.id, wanted, now)
    except IntegrityError:
        pass  # someone else assigned one of them first: read what is there
    rows = session.scalars(
        sa.select(EnrolmentCode).where(EnrolmentCode.person_id.in_([w.person_id for w in wanted]))
    )
    found = {row.person_id: codes.reveal(keyring, row) for row in rows}
    missing = [w.person_id for w in wanted if w.person_id not in found]
    if missing:
        raise PoolEmpty(
            f"The enrollment-code pool ran out: {len(missing):,} more code"
            f"{'s are' if len(missing) != 1 else ' is'} needed. Import more codes "
            "(Enrollment codes tab) and resume the mailing."
        )
    return {pid: code for pid, code in found.items() if pid is not None}


def _assign(session: Session, pool_id: int, wanted: Sequence[Wanted], now: datetime) -> None:
    have = set(
        session.scalars(
            sa.select(EnrolmentCode.person_id).where(
                EnrolmentCode.person_id.in_([w.person_id for w in wanted])
            )
        )
    )
    todo = [w for w in wanted if w.person_id not in have]
    if not todo:
        return
    # FOR UPDATE SKIP LOCKED: a concurrent worker's claimed codes are skipped, not waited
    # for (PostgreSQL); on SQLite the FOR UPDATE takes the write lock first (db.py).
    free = list(
        session.scalars(
            sa.select(EnrolmentCode.id)
            .where(EnrolmentCode.pool_id == pool_id, EnrolmentCode.assigned_at.is_(None))
            .order_by(EnrolmentCode.id)
            .limit(len(todo))
            .with_for_update(skip_locked=True)
        )
    )
    table = cast(sa.Table, EnrolmentCode.__table__)
    pairs = [
        {"b_id": code_id, "b_person": w.person_id, "b_letter": w.letter_code}
        for code_id, w in zip(free, todo, strict=False)
    ]
    if pairs:
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"), table.c.assigned_at.is_(None))
            .values(
                person_id=sa.bindparam("b_person"),
                letter_code=sa.bindparam("b_letter"),
                assigned_at=now,
            ),
            pairs,
        )
