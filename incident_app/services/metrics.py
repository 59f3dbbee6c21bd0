"""Response metrics for the board report: how fast incidents are contained, assessed and
notified, how often notices are on time, what kinds of breach happen, how many people.

Incidents count when their discovery date falls in the chosen range. Durations are whole days
from the treated discovery date (164.404(a)(2)) to the day, in the organisation's time zone,
the step happened: containment is the first status change past containment on the timeline,
assessment the first signed risk assessment, notice the first recorded send date (the letters
area's proof-of-notice records; the HHS annual log's filings for small breaches). A step with
no record yet is reported as "no data yet", never as zero. Tabletop exercises (issue 23) are
never counted: these are the organisation's real-world figures. Read-only (exports are audited).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Determination
from incident_app.models.hhs_filing import HhsFiling
from incident_app.models.hhs_filing import ReportType
from incident_app.models.incident import Incident
from incident_app.models.letter import NoticeSent
from incident_app.models.obligation import Obligation
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import options
from incident_app.services.audit_log import neutralise
from incident_app.services.hhs_log import affected_count
from incident_app.services.impact import money as impact_money
from incident_app.services.impact import reports as impact_reports
from incident_app.services.impact.reports import ImpactTotals
from incident_app.services.organisation import get_organisation

BEFORE_CONTAINED = ("reported", "containment")
UTC_ZONE = ZoneInfo("UTC")  # send dates are already calendar days


@dataclass(frozen=True)
class Duration:
    label: str
    days: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.days)

    @property
    def median(self) -> float | None:
        return statistics.median(self.days) if self.days else None

    @property
    def mean(self) -> float | None:
        return round(statistics.fmean(self.days), 1) if self.days else None


@dataclass(frozen=True)
class OnTime:
    kind: str
    on_time: int
    late: int

    @property
    def rate(self) -> float | None:
        total = self.on_time + self.late
        return round(100 * self.on_time / total, 1) if total else None


@dataclass(frozen=True)
class Metrics:
    date_from: date | None
    date_to: date | None
    incidents: int
    breaches: int
    contain: Duration
    assess: Duration
    notify: list[Duration]  # per obligation kind, every kind of the obligations in range
    on_time: list[OnTime]
    by_type: list[tuple[str, int]]
    by_location: list[tuple[str, int]]
    individuals_per_quarter: list[tuple[str, int]]
    # Costs whose date, and disruptions whose start, fall in the range (services.impact).
    impact: ImpactTotals


def metrics(
    session: Session, *, actor: User, date_from: date | None = None, date_to: date | None = None
) -> Metrics:
    """The metrics of incidents discovered in [date_from, date_to] (either may be None).
    Raises NotAllowed (privacy officers, auditors and admins only), ValidationFailed."""
    require(actor, Capability.VIEW_ALL_INCIDENTS)
    if date_from and date_to and date_to < date_from:
        raise ValidationFailed("The end of the range is before its start.", field="date_to")
    zone = ZoneInfo(get_organisation(session).timezone)
    chosen = _incidents(session, date_from, date_to)
    ids = [i.id for i in chosen]
    breaches = [i for i in chosen if i.id in _reportable_ids(session, ids)]
    kinds = _obligations(session, ids)
    return Metrics(
        date_from,
        date_to,
        len(chosen),
        len(breaches),
        Duration("Time to contain", _contained_days(session, chosen, zone)),
        Duration("Time to assess", _assessed_days(session, chosen, zone)),
        _notify(session, chosen, kinds),
        _on_time(session, kinds),
        _tally("breach_types", (i.breach_types for i in breaches)),
        _tally("locations", (i.locations for i in breaches)),
        _per_quarter(breaches),
        impact_reports.totals(session, actor=actor, date_from=date_from, date_to=date_to),
    )


def _incidents(session: Session, date_from: date | None, date_to: date | None) -> list[Incident]:
    query = sa.select(Incident).where(
        Incident.discovered_on.is_not(None), Incident.exercise.is_(False)
    )
    if date_from:
        query = query.where(Incident.discovered_on >= date_from)
    if date_to:
        query = query.where(Incident.discovered_on <= date_to)
    return list(session.scalars(query.order_by(Incident.discovered_on, Incident.id)))


def _reportable_ids(session: Session, ids: list[int]) -> set[int]:
    """Incidents whose determination (the privacy officer's override when recorded) is a
    reportable breach."""
    rows = session.execute(
        sa.select(
            Determination.incident_id, Determination.reportable, Determination.override_reportable
        ).where(Determination.incident_id.in_(ids))
    )
    return {i for i, computed, override in rows if (computed if override is None else override)}


def _days(incident: Incident, moment: datetime | date, zone: ZoneInfo) -> int | None:
    start = incident.treated_known_on
    if start is None:
        return None
    day = moment.astimezone(zone).date() if isinstance(moment, datetime) else moment
    return max(0, (day - start).days)


def _contained_days(session: Session, chosen: list[Incident], zone: ZoneInfo) -> list[int]:
    entries = session.scalars(
        sa.select(TimelineEntry)
        .where(
            TimelineEntry.incident_id.in_([i.id for i in chosen]),
            TimelineEntry.kind == EntryKind.STATUS,
        )
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
    )
    contained: dict[int, datetime] = {}
    for entry in entries:
        moved_to = (entry.details or {}).get("to")
        if moved_to and moved_to not in BEFORE_CONTAINED:
            contained.setdefault(entry.incident_id, entry.occurred_at)
    return _collect(chosen, contained, zone)


def _assessed_days(session: Session, chosen: list[Incident], zone: ZoneInfo) -> list[int]:
    rows = session.execute(
        sa.select(AssessmentVersion.incident_id, sa.func.min(AssessmentVersion.signed_at))
        .where(
            AssessmentVersion.incident_id.in_([i.id for i in chosen]),
            AssessmentVersion.signed_at.is_not(None),
        )
        .group_by(AssessmentVersion.incident_id)
    )
    # The WHERE clause keeps NULLs out; min() is typed as nullable all the same.
    return _collect(chosen, {i: _aware(at) for i, at in rows if at is not None}, zone)


def _aware(moment: datetime) -> datetime:
    # An aggregate bypasses the column type: SQLite hands back a naive UTC value.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _collect(
    chosen: list[Incident], when: Mapping[int, datetime | date], zone: ZoneInfo
) -> list[int]:
    days = [_days(i, when[i.id], zone) for i in chosen if i.id in when]
    return [d for d in days if d is not None]


def _obligations(session: Session, ids: list[int]) -> dict[str, list[Obligation]]:
    grouped: dict[str, list[Obligation]] = {}
    for row in session.scalars(
        sa.select(Obligation).where(Obligation.incident_id.in_(ids), Obligation.active.is_(True))
    ):
        grouped.setdefault(row.kind, []).append(row)
    return dict(sorted(grouped.items()))


def _sent(session: Session, kinds: dict[str, list[Obligation]]) -> dict[str, dict[int, date]]:
    """Per obligation kind: obligation id → the day it was met, from the records that exist."""
    by_id = {o.id: o for rows in kinds.values() for o in rows}
    met: dict[str, dict[int, date]] = {}
    small = {o.incident_id: o for o in kinds.get("hhs_annual_log", [])}
    for filing in session.scalars(
        sa.select(HhsFiling).where(
            HhsFiling.report_type == ReportType.INITIAL, HhsFiling.incident_id.in_(list(small))
        )
    ):
        met.setdefault("hhs_annual_log", {})[small[filing.incident_id].id] = filing.filed_on
    rows = session.execute(
        sa.select(NoticeSent.obligation_id, sa.func.min(NoticeSent.sent_on))
        .where(NoticeSent.obligation_id.in_(list(by_id)))
        .group_by(NoticeSent.obligation_id)
    )
    for obligation_id, sent_on in rows:
        met.setdefault(by_id[obligation_id].kind, {})[obligation_id] = sent_on
    return met


def _notify(
    session: Session, chosen: list[Incident], kinds: dict[str, list[Obligation]]
) -> list[Duration]:
    incidents = {i.id: i for i in chosen}
    met = _sent(session, kinds)
    result = []
    for kind, rows in kinds.items():
        days = [
            _days(incidents[o.incident_id], met[kind][o.id], UTC_ZONE)
            for o in rows
            if o.id in met.get(kind, {})
        ]
        result.append(Duration(kind, [d for d in days if d is not None]))
    return result


def _on_time(session: Session, kinds: dict[str, list[Obligation]]) -> list[OnTime]:
    """Of the obligations met so far, how many were met by their (effective) due date."""
    met = _sent(session, kinds)
    result = []
    for kind, rows in kinds.items():
        on_time = late = 0
        for row in rows:
            sent = met.get(kind, {}).get(row.id)
            due = row.effective_due_on
            if sent is None or due is None:
                continue
            on_time, late = (on_time + 1, late) if sent <= due else (on_time, late + 1)
        result.append(OnTime(kind, on_time, late))
    return result


def _tally(list_name: str, chosen: Iterable[list[str] | None]) -> list[tuple[str, int]]:
    counts = Counter(code for codes in chosen for code in codes or [])
    names = {option.code: option.label for option in options.ocr_options(list_name)}
    return [(names.get(code, code), count) for code, count in counts.most_common()]


def _per_quarter(breaches: list[Incident]) -> list[tuple[str, int]]:
    totals: Counter[str] = Counter()
    for incident in breaches:
        day = incident.treated_known_on
        if day is not None:
            totals[f"{day.year} Q{(day.month - 1) // 3 + 1}"] += affected_count(incident)
    return sorted(totals.items())


# ---- CSV -------------------------------------------------------------------------------------


def export_csv(
    session: Session, *, actor: User, date_from: date | None, date_to: date | None, now: datetime
) -> str:
    """Every figure on the metrics page as (section, item, value) rows. Audited; commits."""
    report = metrics(session, actor=actor, date_from=date_from, date_to=date_to)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("section", "item", "value"))
    for row in csv_rows(report):
        writer.writerow([neutralise(value) for value in row])
    audit.record(
        session,
        actor=actor,
        action="metrics.exported",
        at=now,
        details={"date_from": date_from, "date_to": date_to, "format": "csv"},
    )
    session.commit()
    return buffer.getvalue()


def _figure(value: float | None) -> str:
    return "no data yet" if value is None else f"{value:g}"


def csv_rows(report: Metrics) -> list[tuple[str, str, str]]:
    rows = [
        ("range", "from", report.date_from.isoformat() if report.date_from else ""),
        ("range", "to", report.date_to.isoformat() if report.date_to else ""),
        ("counts", "incidents", str(report.incidents)),
        ("counts", "breaches", str(report.breaches)),
    ]
    for duration in (report.contain, report.assess, *report.notify):
        section = "time to notify (days)" if duration in report.notify else "days"
        rows.append((section, f"{duration.label} median", _figure(duration.median)))
        rows.append((section, f"{duration.label} mean", _figure(duration.mean)))
        rows.append((section, f"{duration.label} incidents", str(duration.count)))
    rows += [("on-time rate (%)", item.kind, _figure(item.rate)) for item in report.on_time]
    rows += [("breaches by type", label, str(n)) for label, n in report.by_type]
    rows += [("breaches by location", label, str(n)) for label, n in report.by_location]
    rows += [("individuals affected", q, str(n)) for q, n in report.individuals_per_quarter]
    costs = report.impact
    rows += [
        ("costs", "total", impact_money.money(costs.total_cents, costs.currency)),
        ("costs", "actual", impact_money.money(costs.actual_cents, costs.currency)),
        ("costs", "estimated", impact_money.money(costs.estimated_cents, costs.currency)),
        ("costs", "incidents with costs", str(costs.incidents_with_costs)),
        ("disruption", "disruptions", str(costs.disruption.count)),
        ("disruption", "days to recover (total)", str(costs.recovery_days_total)),
    ]
    return rows
