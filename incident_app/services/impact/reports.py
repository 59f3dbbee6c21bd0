"""What the impact pages show: one incident's costs, totals per category and month, and its
disruption; totals across the incidents a person may see (the /impact and metrics pages).
Read-only: nothing here commits.
"""

from __future__ import annotations

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
from typing import TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session

from incident_app.models.impact import CostBasis
from incident_app.models.impact import CostCategory
from incident_app.models.impact import CostEntry
from incident_app.models.impact import Disruption
from incident_app.models.impact import DisruptionKind
from incident_app.models.incident import Incident
from incident_app.models.user import User
from incident_app.services.impact.money import per_individual
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import visible_incidents
from incident_app.services.organisation import get_organisation

T = TypeVar("T", bound=object)


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
        last = max(row.ended_at for row in rows if row.ended_at is not None)  # none ongoing
        recovery = int((last - first).total_seconds())
    return DisruptionTotals(
        count=len(rows),
        ongoing=ongoing,
        seconds_by_kind=dict(seconds),
        claims_delayed_count=sum(row.claims_delayed_count for row in rows),
        claims_delayed_cents=sum(row.claims_delayed_cents for row in rows),
        recovery_seconds=recovery,
    )


def affected_count(incident: Incident) -> int:
    """The roster's count once imported, else the intake estimate."""
    return (
        incident.roster_total if incident.roster_total is not None else incident.affected_estimate
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
    """Cost totals per category and disruption totals across the incidents `actor` may see,
    tabletop exercises left out (their costs are not the breach response's).

    Costs count when their date falls in [date_from, date_to]; disruptions when they start in
    it (either bound may be None). Read-only: no commit.
    """
    visible = (
        visible_incidents(actor)
        .with_only_columns(Incident.id)
        .where(Incident.exercise.is_(False))
        .scalar_subquery()
    )
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
    query: sa.Select[T],
    column: InstrumentedAttribute[date] | InstrumentedAttribute[datetime],
    start: date | datetime | None,
    end: date | datetime | None,
    *,
    end_open: bool = False,
) -> sa.Select[T]:
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
