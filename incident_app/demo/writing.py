"""Bulk inserts for the seeded history: rows buffered per table with ids handed out here, the
audit events chained in time order at the end, PostgreSQL's sequences moved past the ids."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Determination
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.incident import LawEnforcementStatement
from incident_app.models.incident import StateCount
from incident_app.models.obligation import Obligation
from incident_app.models.task import Task
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import User
from incident_app.services import audit

# Parents before children: the order the buffered rows are inserted in.
TABLES = (
    Incident,
    LawEnforcementStatement,
    IncidentMember,
    StateCount,
    Task,
    AssessmentVersion,
    Obligation,
    Determination,
    TimelineEntry,
)


class Writer:
    """Buffers rows per table with ids handed out here (so audit events can name them), and
    collects audit events to chain in time order at the end."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.next_id: dict[type[Any], int] = {
            model: (session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
            for model in (*TABLES, AuditEvent)
        }
        self.rows: dict[type[Any], list[dict[str, Any]]] = {model: [] for model in TABLES}
        self.events: list[tuple[datetime, int, int, dict[str, Any]]] = []

    def add(self, model: type[Any], **values: Any) -> int:
        """Buffer one row of `model`; returns the id handed out for it."""
        row_id = values["id"] = self.next_id[model]
        self.next_id[model] += 1
        self.rows[model].append(values)
        return row_id

    def timeline(
        self,
        incident_id: int,
        kind: EntryKind,
        at: datetime,
        actor: User,
        text: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        # As services.timeline.add stores it.
        self.add(
            TimelineEntry,
            incident_id=incident_id,
            kind=kind,
            category=None,
            text=text,
            occurred_at=at,
            recorded_at=at,
            actor_id=actor.id,
            corrects_id=None,
            details=json.loads(json.dumps(details or {}, default=str)),
        )

    def audit(
        self,
        at: datetime,
        actor: User,
        action: str,
        *,
        subject_type: str,
        subject_id: int,
        incident_id: int,
        details: Mapping[str, Any],
    ) -> None:
        self.events.append(
            (
                at,
                incident_id,
                len(self.events),
                {
                    "at": at.astimezone(UTC),
                    "actor_id": actor.id,
                    "actor_label": actor.email,
                    "action": action,
                    "subject_type": subject_type,
                    "subject_id": str(subject_id),
                    "incident_id": incident_id,
                    "details": json.loads(json.dumps(details, default=str, sort_keys=True)),
                },
            )
        )

    def flush(self) -> None:
        for model in TABLES:
            if self.rows[model]:
                self.session.execute(sa.insert(model), self.rows[model])
                self.rows[model] = []

    def chain_audit(self) -> int:
        """Append the collected events to the audit chain in time order (audit.record's
        hashing), under the chain head's lock; returns how many."""
        keys = audit.keys_of(self.session)
        head = audit.locked_head(self.session, keys)
        batch: list[dict[str, Any]] = []
        for _, _, _, values in sorted(self.events, key=lambda e: e[:3]):
            event = AuditEvent(seq=head.seq + 1, prev_hash=head.last_hash, **values)
            audit.seal(event, keys)
            audit.advance_head(head, event, keys)
            batch.append(
                {
                    **values,
                    "id": self.next_id[AuditEvent],
                    "seq": event.seq,
                    "prev_hash": event.prev_hash,
                    "hash": event.hash,
                    "key_id": event.key_id,
                    "mac": event.mac,
                }
            )
            self.next_id[AuditEvent] += 1
            if len(batch) >= 5000:
                self.session.execute(sa.insert(AuditEvent), batch)
                batch = []
        if batch:
            self.session.execute(sa.insert(AuditEvent), batch)
        return len(self.events)


def reset_sequences(session: Session, models: tuple[type[Any], ...]) -> None:
    """Ids were handed out here; move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )
