"""Enrollment-code test helpers: a vendor's CSV of codes, the offer, importing a pool."""

from __future__ import annotations

import io
from datetime import date
from itertools import count

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import app_store
from incident_app.models.enrolment import CodeImport
from incident_app.models.enrolment import CodePool
from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.incident import Incident
from incident_app.models.user import User
from incident_app.services.enrolment import importing
from tests.support.factories import NOW

OFFER = importing.Offer(
    vendor="Experian",
    product="IdentityWorks credit monitoring",
    months=24,
    url="https://www.experianidworks.com/3bcredit",
    phone="1-877-288-8057",
    enrol_by=date(2026, 12, 31),
)
_batch = count(1)


def fresh_codes(n: int) -> list[str]:
    """`n` codes nobody imported yet in this test run (vendor style: 9 characters)."""
    prefix = f"B{next(_batch):03d}"
    return [f"{prefix}{i:05d}" for i in range(n)]


def codes_csv(codes: list[str], header: str = "activation_code") -> bytes:
    return ("\n".join([header, *codes]) + "\n").encode()


def import_codes(
    session: Session,
    actor: User,
    incident: Incident,
    codes: list[str] | bytes,
    *,
    offer: importing.Offer = OFFER,
    filename: str = "codes.csv",
    max_bytes: int = importing.MAX_BYTES,
) -> CodeImport:
    data = codes if isinstance(codes, bytes) else codes_csv(codes)
    return importing.import_codes(
        session,
        actor=actor,
        now=NOW,
        incident_id=incident.id,
        offer=offer,
        upload=io.BytesIO(data),
        filename=filename,
        keyring=app_store.current_keyring(),
        max_bytes=max_bytes,
    )


def pool_counts(session: Session) -> tuple[int, int, int]:
    """(pools, imports, codes) in the database: nothing half-written means unchanged."""
    return tuple(  # type: ignore[return-value]
        session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
        for model in (CodePool, CodeImport, EnrolmentCode)
    )


def assigned(session: Session) -> dict[int, int]:
    """person id → code row id of every assigned code."""
    session.expire_all()
    return {
        row.person_id: row.id
        for row in session.scalars(
            sa.select(EnrolmentCode).where(EnrolmentCode.assigned_at.is_not(None))
        )
        if row.person_id is not None
    }
