"""The impact ledger: what an incident cost and how it disrupted billing, claims and systems.

Amounts arrive as text and are parsed with `Decimal` into integer cents; floats never touch
money. An amount in another currency than the organisation's needs the exchange rate used
(organisation-currency units per one foreign unit); the converted amount is stored beside
the original, so every total is an exact integer sum.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal
from enum import StrEnum
from typing import BinaryIO
from typing import Protocol
from typing import TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import storage
from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.evidence import CustodyAction
from incident_app.models.evidence import CustodyEvent
from incident_app.models.evidence import EvidenceFile
from incident_app.models.impact import CostBasis
from incident_app.models.impact import CostCategory
from incident_app.models.impact import CostEntry
from incident_app.models.impact import Disruption
from incident_app.models.impact import DisruptionKind
from incident_app.models.incident import Incident
from incident_app.models.organisation import Organisation
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import evidence as evidence_service
from incident_app.services.audit_log import neutralise
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.services.incidents.access import visible_incidents
from incident_app.services.organisation import get_organisation

MAX_CENTS = 10**15  # ten trillion in any currency: anything above is a typing mistake
MAX_FILE_BYTES = 25 * 1024 * 1024
CENT = Decimal("0.01")
_CURRENCY = re.compile(r"[A-Z]{3}")
_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")
_RATE = re.compile(r"\d+(\.\d{1,8})?")
E = TypeVar("E", bound=StrEnum)


# --- money -------------------------------------------------------------------------------------


def parse_amount(text: str | None, *, field_name: str = "amount") -> int:
    """ "1,234.50" → 123450 cents. Raises ValidationFailed for anything else (negative,
    non-numeric, more than two decimals)."""
    cleaned = (text or "").strip().replace(",", "")
    if cleaned.startswith("-"):
        raise ValidationFailed("The amount cannot be negative.", field=field_name)
    if not _AMOUNT.fullmatch(cleaned):
        raise ValidationFailed(
            "Enter the amount as a number, like 1250 or 1,250.75 (at most two decimals).",
            field=field_name,
        )
    cents = int(Decimal(cleaned) * 100)
    if cents >= MAX_CENTS:
        raise ValidationFailed("That amount is too large to be right.", field=field_name)
    return cents


def parse_rate(text: str | None) -> Decimal | None:
    """The exchange rate as a Decimal (None when blank). Raises ValidationFailed."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    if not _RATE.fullmatch(cleaned):
        raise ValidationFailed(
            "Enter the exchange rate as a positive number, like 1.0825 (at most 8 decimals).",
            field="exchange_rate",
        )
    rate = Decimal(cleaned)
    if rate <= 0 or rate >= Decimal(10**9):
        raise ValidationFailed("The exchange rate must be above zero.", field="exchange_rate")
    return rate


def check_currency(code: str | None, *, field_name: str = "currency") -> str:
    cleaned = (code or "").strip().upper()
    if not _CURRENCY.fullmatch(cleaned):
        raise ValidationFailed(
            "Give the currency as its three-letter ISO 4217 code, like USD or EUR.",
            field=field_name,
        )
    return cleaned


def convert(amount_cents: int, rate: Decimal | None) -> int:
    """Cents in the organisation's currency, rounded half up."""
    if rate is None:
        return amount_cents
    return int((Decimal(amount_cents) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money(cents: int | None, currency: str) -> str:
    """12345 → "USD 123.45" (for pages, CSV and the PDF; never parsed back)."""
    if cents is None:
        return ""
    return f"{currency} {Decimal(cents) / 100:,.2f}"


def per_individual(total_cents: int, individuals: int) -> int | None:
    if individuals <= 0:
        return None
    return int((Decimal(total_cents) / individuals).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def affected_count(incident: Incident) -> int:
    """The roster's count once imported, else the intake estimate."""
    return (
        incident.roster_total if incident.roster_total is not None else incident.affected_estimate
    )


# --- files -------------------------------------------------------------------------------------


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class Upload:
    """A file a person attached (invoice, proof of completion, training attestation)."""

    filename: str
    content_type: str
    stream: _Readable | BinaryIO


def store_evidence(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    upload: Upload,
    description: str,
    now: datetime,
    field_name: str,
) -> EvidenceFile:
    """Put the bytes in the encrypted store and list them among the incident's evidence
    (the same bytes again are the same file, with a custody entry). No commit."""
    # Same rules as evidence uploads: allow-listed by extension and by content.
    name = evidence_service.sanitise_filename(upload.filename)
    head = upload.stream.read(evidence_service.SNIFF_BYTES)
    content_type = evidence_service.check_type(name, head, field=field_name)
    try:
        stored = storage.put_stream(
            evidence_service.Prefixed(head, upload.stream), max_bytes=MAX_FILE_BYTES
        )
    except storage.FileTooLarge as error:
        raise ValidationFailed("The file is larger than 25 MB.", field=field_name) from error
    evidence = session.scalar(
        sa.select(EvidenceFile).where(
            EvidenceFile.incident_id == incident_id, EvidenceFile.sha256 == stored.sha256
        )
    )
    action = CustodyAction.UPLOADED_AGAIN
    if evidence is None:
        action = CustodyAction.UPLOADED
        evidence = EvidenceFile(
            incident_id=incident_id,
            sha256=stored.sha256,
            filename=name,
            content_type=content_type,
            size_bytes=stored.size,
            description=description[:1000],
            uploaded_by_id=actor.id,
            uploaded_at=now,
        )
        session.add(evidence)
        session.flush()
    session.add(
        CustodyEvent(
            evidence_id=evidence.id, action=action, actor_id=actor.id, at=now, filename=name
        )
    )
    return evidence


def open_evidence(
    session: Session, *, actor: User, incident_id: int, evidence_id: int, now: datetime
) -> tuple[EvidenceFile, bytes]:
    """A file attached to this incident's impact records, verified against its hash; the
    download is written to the custody log and the audit trail. Commits once."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    evidence = session.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.incident_id != incident.id:
        raise NotFound("No such file on this incident.")
    data = storage.read_verified(evidence.sha256)
    session.add(
        CustodyEvent(
            evidence_id=evidence.id,
            action=CustodyAction.DOWNLOADED,
            actor_id=actor.id,
            at=now,
            filename=evidence.filename,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="evidence.downloaded",
        at=now,
        subject_type="evidence_file",
        subject_id=evidence.id,
        incident_id=incident.id,
        details={"sha256": evidence.sha256},
    )
    session.commit()
    return evidence, data


# --- cost entries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostInput:
    category: str
    basis: str
    amount: str
    currency: str
    spent_on: date | None
    exchange_rate: str = ""
    vendor: str = ""
    invoice_reference: str = ""
    description: str = ""


def record_cost(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    cost: CostInput,
    evidence: Upload | None = None,
    now: datetime,
) -> CostEntry:
    """Add a cost entry. Raises NotFound, NotAllowed, ValidationFailed. Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    org = get_organisation(session)
    entry = _cost_entry(cost, org.currency, now)
    entry.incident_id, entry.created_by_id, entry.created_at = incident.id, actor.id, now
    if evidence is not None:
        entry.evidence_id = store_evidence(
            session,
            actor=actor,
            incident_id=incident.id,
            upload=evidence,
            description=f"Invoice: {entry.vendor or entry.category.label}",
            now=now,
            field_name="evidence",
        ).id
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="impact.cost_recorded",
        at=now,
        subject_type="cost_entry",
        subject_id=entry.id,
        incident_id=incident.id,
        details=_cost_details(entry),
    )
    session.commit()
    return entry


def _cost_entry(cost: CostInput, org_currency: str, now: datetime) -> CostEntry:
    category = _choice(CostCategory, cost.category, "category", "Choose a cost category.")
    basis = _choice(CostBasis, cost.basis, "basis", "Say whether the cost is estimated or actual.")
    amount = parse_amount(cost.amount)
    if amount == 0:
        raise ValidationFailed("The amount must be more than zero.", field="amount")
    currency = check_currency(cost.currency)
    rate = _rate_for(currency, org_currency, cost.exchange_rate)
    if cost.spent_on is None:
        raise ValidationFailed(
            "Give the date of the cost (invoice or payment date).", field="spent_on"
        )
    reference = cost.invoice_reference.strip()
    if len(reference) > 500 or len(cost.vendor.strip()) > 200:
        raise ValidationFailed("The vendor or invoice reference is too long.", field="vendor")
    return CostEntry(
        category=category,
        basis=basis,
        amount_cents=amount,
        currency=currency,
        exchange_rate=rate,
        reporting_cents=convert(amount, rate),
        spent_on=cost.spent_on,
        vendor=cost.vendor.strip(),
        invoice_reference=reference,
        description=cost.description.strip(),
    )


def _rate_for(currency: str, org_currency: str, rate_text: str) -> Decimal | None:
    rate = parse_rate(rate_text)
    if currency == org_currency:
        return None  # a rate typed for the organisation's own currency is meaningless
    if rate is None:
        raise ValidationFailed(
            f"This cost is in {currency}, not {org_currency}: give the exchange rate "
            f"({org_currency} per 1 {currency}) so it can be added to the totals.",
            field="exchange_rate",
        )
    return rate


def _choice(enum_class: type[E], value: str, field_name: str, message: str) -> E:
    try:
        return enum_class(value)
    except ValueError as error:
        raise ValidationFailed(message, field=field_name) from error


def _cost_details(entry: CostEntry) -> dict[str, object]:
    return {
        "category": entry.category.value,
        "basis": entry.basis.value,
        "amount_cents": entry.amount_cents,
        "currency": entry.currency,
        "exchange_rate": None if entry.exchange_rate is None else str(entry.exchange_rate),
        "reporting_cents": entry.reporting_cents,
        "spent_on": entry.spent_on.isoformat(),
        "vendor": entry.vendor,
        "invoice_reference": entry.invoice_reference,
        "evidence_id": entry.evidence_id,
    }


def delete_cost(
    session: Session, *, actor: User, incident_id: int, cost_id: int, now: datetime
) -> None:
    """Remove an entry made in error; the audit event keeps what it said. Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    entry = session.get(CostEntry, cost_id)
    if entry is None or entry.incident_id != incident.id:
        raise NotFound("No such cost entry on this incident.")
    details = _cost_details(entry)
    session.delete(entry)
    audit.record(
        session,
        actor=actor,
        action="impact.cost_deleted",
        at=now,
        subject_type="cost_entry",
        subject_id=cost_id,
        incident_id=incident.id,
        details=details,
    )
    session.commit()


# --- operational disruption --------------------------------------------------------------------


@dataclass(frozen=True)
class DisruptionInput:
    """Times without a zone are read in the organisation's time zone."""

    kind: str
    system: str
    started_at: datetime | None
    ended_at: datetime | None = None
    claims_delayed_count: int | None = None
    claims_delayed_value: str = ""
    notes: str = ""


def record_disruption(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    disruption: DisruptionInput,
    now: datetime,
) -> Disruption:
    """Add an outage or a halt of billing/claims. Raises NotFound, NotAllowed,
    ValidationFailed (e.g. an end before the start). Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    zone = ZoneInfo(get_organisation(session).timezone)
    row = _disruption_row(disruption, zone, now)
    row.incident_id, row.created_by_id, row.created_at = incident.id, actor.id, now
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="impact.disruption_recorded",
        at=now,
        subject_type="disruption",
        subject_id=row.id,
        incident_id=incident.id,
        details=_disruption_details(row),
    )
    session.commit()
    return row


def _disruption_row(value: DisruptionInput, zone: ZoneInfo, now: datetime) -> Disruption:
    kind = _choice(DisruptionKind, value.kind, "kind", "Choose what was disrupted.")
    system = value.system.strip()
    if not system or len(system) > 200:
        raise ValidationFailed(
            "Name the system or process (at most 200 characters).", field="system"
        )
    if value.started_at is None:
        raise ValidationFailed("Give the time the outage started.", field="started_at")
    started, ended = _utc(value.started_at, zone), _utc(value.ended_at, zone)
    if started > now:
        raise ValidationFailed("The start is in the future.", field="started_at")
    if ended is not None and ended < started:
        raise ValidationFailed("The outage cannot end before it starts.", field="ended_at")
    count = value.claims_delayed_count or 0
    if count < 0:
        raise ValidationFailed(
            "The number of claims cannot be negative.", field="claims_delayed_count"
        )
    cents = parse_amount(value.claims_delayed_value or "0", field_name="claims_delayed_value")
    return Disruption(
        kind=kind,
        system=system,
        started_at=started,
        ended_at=ended,
        claims_delayed_count=count,
        claims_delayed_cents=cents,
        notes=value.notes.strip(),
    )


def _utc(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _disruption_details(row: Disruption) -> dict[str, object]:
    return {
        "kind": row.kind.value,
        "system": row.system,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "claims_delayed_count": row.claims_delayed_count,
        "claims_delayed_cents": row.claims_delayed_cents,
    }


def delete_disruption(
    session: Session, *, actor: User, incident_id: int, disruption_id: int, now: datetime
) -> None:
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    row = session.get(Disruption, disruption_id)
    if row is None or row.incident_id != incident.id:
        raise NotFound("No such disruption on this incident.")
    details = _disruption_details(row)
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="impact.disruption_deleted",
        at=now,
        subject_type="disruption",
        subject_id=disruption_id,
        incident_id=incident.id,
        details=details,
    )
    session.commit()


# --- what the pages show -----------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryTotal:
    category: CostCategory
    actual_cents: int
    estimated_cents: int

    @property
    def total_cents(self) -> int:
        return self.actual_cents + self.estimated_cents


@dataclass(frozen=True)
class MonthTotal:
    month: str  # "2026-03"
    cents: int
    cumulative_cents: int


@dataclass(frozen=True)
class DisruptionTotals:
    count: int = 0
    ongoing: int = 0
    # Seconds of ended disruptions, per kind value.
    seconds_by_kind: dict[str, int] = field(default_factory=dict)
    claims_delayed_count: int = 0
    claims_delayed_cents: int = 0
    # Per incident: first start to last end (None while anything is still down).
    recovery_seconds: int | None = None

    @property
    def recovery_days(self) -> Decimal | None:
        return _days(self.recovery_seconds)

    def days(self, kind: DisruptionKind) -> Decimal:
        return _days(self.seconds_by_kind.get(kind.value, 0)) or Decimal("0.0")


def _days(seconds: int | None) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(seconds) / 86400).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class IncidentImpact:
    incident: Incident
    currency: str
    costs: list[CostEntry]
    categories: list[CategoryTotal]
    total_cents: int
    actual_cents: int
    estimated_cents: int
    affected: int
    per_individual_cents: int | None
    months: list[MonthTotal]
    disruptions: list[Disruption]
    disruption: DisruptionTotals


def incident_impact(session: Session, *, actor: User, incident_id: int) -> IncidentImpact:
    """Costs, totals and disruption of one incident. Raises NotFound."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    costs = list(
        session.scalars(
            sa.select(CostEntry)
            .where(CostEntry.incident_id == incident.id)
            .order_by(CostEntry.spent_on, CostEntry.id)
        )
    )
    disruptions = list(
        session.scalars(
            sa.select(Disruption)
            .where(Disruption.incident_id == incident.id)
            .order_by(Disruption.started_at, Disruption.id)
        )
    )
    categories = category_totals(costs)
    actual = sum(c.actual_cents for c in categories)
    estimated = sum(c.estimated_cents for c in categories)
    affected = affected_count(incident)
    return IncidentImpact(
        incident=incident,
        currency=get_organisation(session).currency,
        costs=costs,
        categories=categories,
        total_cents=actual + estimated,
        actual_cents=actual,
        estimated_cents=estimated,
        affected=affected,
        per_individual_cents=per_individual(actual + estimated, affected),
        months=monthly(costs),
        disruptions=disruptions,
        disruption=disruption_totals(disruptions, per_incident=True),
    )


def category_totals(costs: Iterable[CostEntry]) -> list[CategoryTotal]:
    """Every category that has a cost, in the category list's order."""
    sums: dict[CostCategory, list[int]] = defaultdict(lambda: [0, 0])
    for cost in costs:
        sums[cost.category][0 if cost.basis is CostBasis.ACTUAL else 1] += cost.reporting_cents
    return [
        CategoryTotal(category, *sums[category]) for category in CostCategory if category in sums
    ]


def monthly(costs: Iterable[CostEntry]) -> list[MonthTotal]:
    """Costs per calendar month from the first to the last, empty months included."""
    by_month: dict[tuple[int, int], int] = defaultdict(int)
    for cost in costs:
        by_month[(cost.spent_on.year, cost.spent_on.month)] += cost.reporting_cents
    if not by_month:
        return []
    (year, month), last = min(by_month), max(by_month)
    months, running = [], 0
    while (year, month) <= last:
        running += by_month.get((year, month), 0)
        months.append(
            MonthTotal(f"{year:04d}-{month:02d}", by_month.get((year, month), 0), running)
        )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def disruption_totals(rows: list[Disruption], *, per_incident: bool) -> DisruptionTotals:
    seconds: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.duration_seconds is not None:
            seconds[row.kind.value] += row.duration_seconds
    ongoing = sum(1 for row in rows if row.ended_at is None)
    recovery = None
    if per_incident and rows and not ongoing:
        first = min(row.started_at for row in rows)
        recovery = int((max(row.ended_at for row in rows) - first).total_seconds())
    return DisruptionTotals(
        count=len(rows),
        ongoing=ongoing,
        seconds_by_kind=dict(seconds),
        claims_delayed_count=sum(row.claims_delayed_count for row in rows),
        claims_delayed_cents=sum(row.claims_delayed_cents for row in rows),
        recovery_seconds=recovery,
    )


# --- across incidents (the /impact page and the metrics page) ---------------------------------


@dataclass(frozen=True)
class ImpactTotals:
    currency: str
    date_from: date | None
    date_to: date | None
    categories: list[CategoryTotal]
    total_cents: int
    actual_cents: int
    estimated_cents: int
    incidents_with_costs: int
    disruption: DisruptionTotals
    incidents_with_disruption: int
    # Sum over incidents whose disruptions have all ended, of first start to last end.
    recovery_days_total: Decimal
    per_incident: list[IncidentRow]


@dataclass(frozen=True)
class IncidentRow:
    incident_id: int
    reference: str
    title: str
    total_cents: int
    disruption_days: Decimal


def totals(
    session: Session,
    *,
    actor: User,
    date_from: date | None = None,
    date_to: date | None = None,
) -> ImpactTotals:
    """Cost totals per category and disruption totals across the incidents `actor` may see.

    Costs count when their date falls in [date_from, date_to]; disruptions when they start in
    it (either bound may be None). Read-only: no commit.
    """
    visible = visible_incidents(actor).with_only_columns(Incident.id).scalar_subquery()
    costs = list(
        session.scalars(
            _in_range(
                sa.select(CostEntry).where(CostEntry.incident_id.in_(visible)),
                CostEntry.spent_on,
                date_from,
                date_to,
            )
        )
    )
    zone = ZoneInfo(get_organisation(session).timezone)
    rows = list(
        session.scalars(
            _in_range(
                sa.select(Disruption).where(Disruption.incident_id.in_(visible)),
                Disruption.started_at,
                _day_start(date_from, zone),
                _day_start(date_to + timedelta(days=1) if date_to else None, zone),
                end_open=True,
            )
        )
    )
    categories = category_totals(costs)
    actual = sum(c.actual_cents for c in categories)
    estimated = sum(c.estimated_cents for c in categories)
    per_incident = _per_incident_rows(session, costs, rows)
    return ImpactTotals(
        currency=get_organisation(session).currency,
        date_from=date_from,
        date_to=date_to,
        categories=categories,
        total_cents=actual + estimated,
        actual_cents=actual,
        estimated_cents=estimated,
        incidents_with_costs=len({c.incident_id for c in costs}),
        disruption=disruption_totals(rows, per_incident=False),
        incidents_with_disruption=len({r.incident_id for r in rows}),
        recovery_days_total=sum((r.disruption_days for r in per_incident), Decimal("0.0")),
        per_incident=per_incident,
    )


def _in_range(
    query: sa.Select,
    column: sa.ColumnElement,
    start: date | datetime | None,
    end: date | datetime | None,
    *,
    end_open: bool = False,
) -> sa.Select:
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column < end if end_open else column <= end)
    return query


def _day_start(day: date | None, zone: ZoneInfo) -> datetime | None:
    """Midnight of `day` in the organisation's zone, as UTC."""
    if day is None:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _per_incident_rows(
    session: Session, costs: list[CostEntry], rows: list[Disruption]
) -> list[IncidentRow]:
    spent: dict[int, int] = defaultdict(int)
    for cost in costs:
        spent[cost.incident_id] += cost.reporting_cents
    grouped: dict[int, list[Disruption]] = defaultdict(list)
    for row in rows:
        grouped[row.incident_id].append(row)
    ids = sorted(set(spent) | set(grouped))
    incidents = {i.id: i for i in session.scalars(sa.select(Incident).where(Incident.id.in_(ids)))}
    result = []
    for incident_id in ids:
        recovery = disruption_totals(grouped.get(incident_id, []), per_incident=True)
        result.append(
            IncidentRow(
                incident_id,
                incidents[incident_id].reference,
                incidents[incident_id].title,
                spent.get(incident_id, 0),
                recovery.recovery_days or Decimal("0.0"),
            )
        )
    return result


# --- CSV exports -------------------------------------------------------------------------------

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
    impact = incident_impact(session, actor=actor, incident_id=incident_id)
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
    impact = incident_impact(session, actor=actor, incident_id=incident_id)
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
    summary = totals(session, actor=actor, date_from=date_from, date_to=date_to)
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


# --- organisation settings for this area ------------------------------------------------------


@dataclass(frozen=True)
class ImpactSettings:
    currency: str
    require_signed_review_to_close: bool
    require_proof_to_close_action: bool


def update_settings(
    session: Session, *, actor: User, settings: ImpactSettings, now: datetime
) -> Organisation:
    """Reporting currency and the two closing rules. The currency cannot change once costs
    are recorded (their converted amounts are in the old one). Commits once."""
    require(actor, Capability.MANAGE_SETTINGS)
    org = get_organisation(session)
    currency = check_currency(settings.currency)
    if currency != org.currency and session.scalar(sa.select(sa.func.count(CostEntry.id))):
        raise ValidationFailed(
            f"Costs are already recorded in {org.currency}; the reporting currency cannot "
            "change any more.",
            field="currency",
        )
    wanted = {
        "currency": currency,
        "require_signed_review_to_close": settings.require_signed_review_to_close,
        "require_proof_to_close_action": settings.require_proof_to_close_action,
    }
    changes = {k: [getattr(org, k), v] for k, v in wanted.items() if getattr(org, k) != v}
    for name, value in wanted.items():
        setattr(org, name, value)
    if changes:
        org.updated_at = now
        audit.record(
            session,
            actor=actor,
            action="settings.updated",
            at=now,
            subject_type="organisation",
            subject_id=org.id,
            details=changes,
        )
    session.commit()
    return org
