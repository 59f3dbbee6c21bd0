"""Reading the audit trail: filtered pages, CSV export, and a signed JSON export.

Reading the trail is itself audited (who looked, with which filters).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import Incident
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.audit_checkpoints import VERIFIED_ACTION

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    incident_id: int | None = None
    incident_reference: str = ""  # BD-YYYY-NNNN, as people know the case
    date_from: date | None = None
    date_to: date | None = None

    def as_details(self) -> dict[str, str | int]:
        return {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in self.__dict__.items()
            if v not in ("", None)
        }


class ChainSummary(TypedDict):
    ok: bool
    events: int
    head_hash: str
    broken_at: int | None


class ExportBody(TypedDict):
    """What the signature of a signed export covers (canonical JSON of this)."""

    exported_at: str  # ISO 8601
    exported_by: str
    filter: dict[str, str | int]
    chain: ChainSummary
    events: list[dict[str, object]]  # CSV_COLUMNS -> value, one per event


class ExportSignature(TypedDict):
    alg: str  # "HMAC-SHA256"
    value: str  # hex digest


class SignedExport(TypedDict):
    body: ExportBody
    signature: ExportSignature


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    page: int
    pages: int
    total: int
    references: dict[int, str]  # incident id -> BD-YYYY-NNNN for the events shown


def _query(flt: AuditFilter, zone: str) -> sa.Select[AuditEvent]:
    query = sa.select(AuditEvent)
    if flt.actor:
        query = query.where(
            AuditEvent.actor_label.ilike(f"%{_escape_like(flt.actor)}%", escape="\\")
        )
    if flt.action:
        query = query.where(AuditEvent.action.ilike(f"{_escape_like(flt.action)}%", escape="\\"))
    if flt.incident_id is not None:
        query = query.where(AuditEvent.incident_id == flt.incident_id)
    if flt.incident_reference:
        by_reference = sa.select(Incident.id).where(
            sa.func.upper(Incident.reference) == flt.incident_reference.upper()
        )
        query = query.where(AuditEvent.incident_id.in_(by_reference.scalar_subquery()))
    tz = ZoneInfo(zone)
    if flt.date_from:
        query = query.where(AuditEvent.at >= datetime.combine(flt.date_from, time(), tz))
    if flt.date_to:
        end = datetime.combine(flt.date_to + timedelta(days=1), time(), tz)
        query = query.where(AuditEvent.at < end)
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    session: Session, *, actor: User, flt: AuditFilter, page: int, zone: str, now: datetime
) -> AuditPage:
    """One page of matching events, newest first. Audited as `audit.viewed`."""
    require(actor, Capability.VIEW_AUDIT)
    query = _query(flt, zone)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    events = list(
        session.scalars(
            query.order_by(AuditEvent.seq.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        )
    )
    audit.record(
        session,
        actor=actor,
        action="audit.viewed",
        at=now,
        details={"filter": flt.as_details(), "page": page},
    )
    session.commit()
    return AuditPage(events, page, pages, total, _references(session, events))


def _references(session: Session, events: list[AuditEvent]) -> dict[int, str]:
    ids = {e.incident_id for e in events if e.incident_id is not None}
    if not ids:
        return {}
    rows = session.execute(sa.select(Incident.id, Incident.reference).where(Incident.id.in_(ids)))
    return {incident_id: reference for incident_id, reference in rows}


def neutralise(value: object) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "incident_id",
    "details",
    "prev_hash",
    "hash",
)


def _row(event: AuditEvent) -> list[str]:
    values = (
        event.seq,
        event.at.isoformat(),
        event.actor_label,
        event.action,
        event.subject_type,
        event.subject_id,
        event.incident_id,
        json.dumps(event.details, sort_keys=True),
        event.prev_hash,
        event.hash,
    )
    return [neutralise(v) for v in values]


def export_csv(session: Session, *, actor: User, flt: AuditFilter, zone: str, now: datetime) -> str:
    """The matching events as CSV text (formula-injection safe). Audited."""
    require(actor, Capability.VIEW_AUDIT)
    events = list(session.scalars(_query(flt, zone).order_by(AuditEvent.seq).limit(EXPORT_LIMIT)))
    audit.record(
        session,
        actor=actor,
        action="audit.exported",
        at=now,
        details={"format": "csv", "filter": flt.as_details(), "rows": len(events)},
    )
    session.commit()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(_row(event))
    return buffer.getvalue()


def export_signed_json(
    session: Session,
    *,
    actor: User,
    flt: AuditFilter,
    zone: str,
    now: datetime,
    signing_key: bytes,
) -> SignedExport:
    """Events plus the chain head and an HMAC-SHA256 signature over the canonical body.

    A recipient holding the signing key recomputes the HMAC over `body` (canonical JSON,
    sorted keys, no spaces) to prove the export was not edited; the chain head lets them
    compare with a later `audit verify`.
    """
    require(actor, Capability.VIEW_AUDIT)
    report = audit.verify(session)
    events = list(session.scalars(_query(flt, zone).order_by(AuditEvent.seq).limit(EXPORT_LIMIT)))
    body: ExportBody = {
        "exported_at": now.isoformat(),
        "exported_by": actor.email,
        "filter": flt.as_details(),
        "chain": {
            "ok": report.ok,
            "events": report.checked,
            "head_hash": report.head_hash,
            "broken_at": report.broken_seq,
        },
        "events": [dict(zip(CSV_COLUMNS, _raw(e), strict=True)) for e in events],
    }
    audit.record(
        session,
        actor=actor,
        action="audit.exported",
        at=now,
        details={"format": "signed-json", "filter": flt.as_details(), "rows": len(events)},
    )
    session.commit()
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    signature = hmac.new(signing_key, canonical.encode(), hashlib.sha256).hexdigest()
    return {"body": body, "signature": {"alg": "HMAC-SHA256", "value": signature}}


def _raw(event: AuditEvent) -> list[object]:
    return [
        event.seq,
        event.at.isoformat(),
        event.actor_label,
        event.action,
        event.subject_type,
        event.subject_id,
        event.incident_id,
        event.details,
        event.prev_hash,
        event.hash,
    ]


@dataclass(frozen=True)
class LastVerification:
    """The newest `audit.verified` event: when the chain was last verified, by what, and how
    it came out (written by `flask audit verify` and the scheduler's checkpoint job)."""

    at: datetime
    by: str
    ok: bool
    events: int
    broken_seq: int | None
    problem: str
    checkpoints: int


def last_verification(session: Session, *, actor: User) -> LastVerification | None:
    require(actor, Capability.VIEW_AUDIT)
    event = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == VERIFIED_ACTION)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if event is None:
        return None
    details = event.details
    return LastVerification(
        at=event.at,
        by=event.actor_label,
        ok=bool(details.get("ok")),
        events=int(details.get("events") or 0),
        broken_seq=details.get("broken_seq"),
        problem=str(details.get("problem") or ""),
        checkpoints=int(details.get("checkpoints") or 0),
    )


def signing_key(secret_key: str) -> bytes:
    """The export-signing key, derived from SECRET_KEY (never stored)."""
    return hmac.new(secret_key.encode(), b"breachdesk audit export v1", hashlib.sha256).digest()
