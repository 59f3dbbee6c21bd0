"""The impact ledger as CSV (costs, disruptions, totals across incidents): every cell
neutralised against formula injection, every export audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.audit_log import neutralise
from incident_app.services.impact import reports

COST_COLUMNS = (
    "date",
    "category",
    "basis",
    "amount",
    "currency",
    "exchange_rate",
    "amount_in_reporting_currency",
    "reporting_currency",
    "vendor",
    "invoice_reference",
    "evidence_file",
    "description",
)
DISRUPTION_COLUMNS = (
    "kind",
    "system",
    "started_at_utc",
    "ended_at_utc",
    "hours",
    "claims_delayed",
    "claims_delayed_value",
    "currency",
    "notes",
)
TOTALS_COLUMNS = ("incident", "title", "costs", "currency", "days_to_recover")


def _csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
    return buffer.getvalue()


def _decimal(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def costs_csv(session: Session, *, actor: User, incident_id: int, now: datetime) -> str:
    """The incident's cost entries as CSV (formula-injection safe). Audited; commits once."""
    impact = reports.incident_impact(session, actor=actor, incident_id=incident_id)
    rows = [
        (
            c.spent_on.isoformat(),
            c.category.label,
            c.basis.label,
            _decimal(c.amount_cents),
            c.currency,
            "" if c.exchange_rate is None else str(c.exchange_rate),
            _decimal(c.reporting_cents),
            impact.currency,
            c.vendor,
            c.invoice_reference,
            c.evidence.filename if c.evidence else "",
            c.description,
        )
        for c in impact.costs
    ]
    _audit_export(session, actor, impact.incident.id, "costs", len(rows), now)
    return _csv(COST_COLUMNS, rows)


def disruptions_csv(session: Session, *, actor: User, incident_id: int, now: datetime) -> str:
    impact = reports.incident_impact(session, actor=actor, incident_id=incident_id)
    rows = [
        (
            d.kind.label,
            d.system,
            d.started_at.isoformat(),
            d.ended_at.isoformat() if d.ended_at else "ongoing",
            "" if d.duration_seconds is None else f"{Decimal(d.duration_seconds) / 3600:.1f}",
            d.claims_delayed_count,
            _decimal(d.claims_delayed_cents),
            impact.currency,
            d.notes,
        )
        for d in impact.disruptions
    ]
    _audit_export(session, actor, impact.incident.id, "disruptions", len(rows), now)
    return _csv(DISRUPTION_COLUMNS, rows)


def totals_csv(
    session: Session,
    *,
    actor: User,
    date_from: date | None,
    date_to: date | None,
    now: datetime,
) -> str:
    summary = reports.totals(session, actor=actor, date_from=date_from, date_to=date_to)
    rows = [
        (r.reference, r.title, _decimal(r.total_cents), summary.currency, str(r.disruption_days))
        for r in summary.per_incident
    ]
    rows.append(
        (
            "TOTAL",
            "",
            _decimal(summary.total_cents),
            summary.currency,
            str(summary.recovery_days_total),
        )
    )
    _audit_export(session, actor, None, "totals", len(rows) - 1, now)
    return _csv(TOTALS_COLUMNS, rows)


def _audit_export(
    session: Session, actor: User, incident_id: int | None, what: str, rows: int, now: datetime
) -> None:
    audit.record(
        session,
        actor=actor,
        action="impact.exported",
        at=now,
        subject_type="incident" if incident_id else None,
        subject_id=incident_id,
        incident_id=incident_id,
        details={"export": what, "rows": rows},
    )
    session.commit()
