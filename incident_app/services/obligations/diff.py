"""The pure half of `sync`: stored obligations + the engine's obligations → what changes.

No session and no database: `sync.sync` applies the result to Obligation rows, and the demo
seeder (incident_app/demo) to the rows it bulk-inserts, so both store exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import MutableMapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any
from typing import Protocol
from typing import TypedDict
from typing import TypeVar

from incident_app import rules

HIPAA_KINDS = frozenset(
    {
        "individual_notice",
        "hhs_notice",
        "hhs_annual_log",
        "media_notice",
        "substitute_notice",
        "ba_to_ce_notice",
    }
)

# (kind, jurisdiction, source_key): the identity of an obligation within its incident.
ObligationKey = tuple[str, str, str]


class StoredObligation(Protocol):
    """What the diff reads of a stored obligation: an Obligation row, or the seeder's twin."""

    @property
    def kind(self) -> str: ...
    @property
    def jurisdiction(self) -> str: ...
    @property
    def source_key(self) -> str: ...
    @property
    def due_on(self) -> date | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def citation(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def detail(self) -> Mapping[str, Any]: ...
    @property
    def active(self) -> bool: ...


class WritableObligation(Protocol):
    """What `apply` writes: the computed columns and the time of the last change."""

    due_on: date | None
    due_at: datetime | None
    citation: str
    reason: str
    detail: dict[str, Any]
    active: bool
    updated_at: datetime


Row = TypeVar("Row", bound=WritableObligation)


class ObligationColumns(TypedDict):
    """The computed columns of an Obligation row (what `sync` writes). `due_at`: the UTC
    instant of a clock counted in hours (GDPR Art. 33), else None."""

    due_on: date | None
    due_at: datetime | None
    citation: str
    reason: str
    detail: dict[str, Any]
    active: bool


@dataclass(frozen=True)
class ObligationChange:
    """One row to insert or to overwrite: its key and the computed columns it must hold."""

    key: ObligationKey
    columns: ObligationColumns


class RecomputedDetails(TypedDict, total=False):
    """The details of the `obligations.recomputed` audit event; only non-empty parts appear."""

    due_dates: dict[str, list[str | None]]  # label → [old, new] ISO dates
    due_times: dict[str, list[str | None]]  # label → [old, new] ISO UTC instants (hour clocks)
    added: list[str]
    removed: list[str]


@dataclass(frozen=True)
class ObligationChanges:
    """The difference between the stored obligations and the engine's.

    `add`: rows to insert, in the engine's order. `update`: existing rows whose computed
    columns change (a retired row that applies again included). `retire`: active rows that no
    longer apply, in key order (the order of the unique index). `details`: what the audit
    event records; empty when nothing a reader would notice changed (e.g. only a reason's
    wording), in which case no event is written.
    """

    add: tuple[ObligationChange, ...]
    update: tuple[ObligationChange, ...]
    retire: tuple[ObligationKey, ...]
    details: RecomputedDetails

    def __bool__(self) -> bool:
        return bool(self.add or self.update or self.retire)


def key_of(item: rules.Obligation) -> ObligationKey:
    """How an engine obligation is keyed: HIPAA kinds have no source key, state ones the
    statute (their citation), since one state can require two notices of the same kind; a
    covered-entity client's notices (business-associate mode) the client's key."""
    kind = item.kind
    client = item.detail.get("client_key")
    if client:
        return (kind, item.jurisdiction, client)
    return (kind, item.jurisdiction, "" if kind in HIPAA_KINDS else item.citation)


def stored_key(row: StoredObligation) -> ObligationKey:
    return (row.kind, row.jurisdiction, row.source_key)


def label(key: ObligationKey) -> str:
    return " ".join(part for part in key if part)


def iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def same_instant(old: datetime | None, new: datetime | None) -> bool:
    """Equal instants; a stored naive value (never written by sync) counts as UTC."""
    if old is None or new is None:
        return old is new
    return _utc(old) == _utc(new)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def columns_of(item: rules.Obligation) -> ObligationColumns:
    return ObligationColumns(
        due_on=item.due_on,
        due_at=item.due_at,
        citation=item.citation,
        reason=item.reason,
        detail=dict(item.detail),
        active=True,
    )


def diff(
    existing: Iterable[StoredObligation], computed: Sequence[rules.Obligation]
) -> ObligationChanges:
    """What to add, update and retire so that `existing` holds `computed`, and the audit
    summary of it. Rows are never deleted: one that no longer applies is retired (inactive)."""
    rows = {stored_key(row): row for row in existing}
    wanted = {key_of(item): columns_of(item) for item in computed}
    add, update = [], []
    due_dates: dict[str, list[str | None]] = {}
    due_times: dict[str, list[str | None]] = {}
    added = []
    for key, columns in wanted.items():
        row = rows.get(key)
        if row is None or not row.active:
            added.append(label(key))
        else:
            _note_moves(label(key), row, columns, due_dates, due_times)
        if row is None:
            add.append(ObligationChange(key, columns))
        elif _differs(row, columns):
            update.append(ObligationChange(key, columns))
    retire = tuple(sorted(key for key, row in rows.items() if key not in wanted and row.active))
    details = RecomputedDetails()
    if due_dates:
        details["due_dates"] = due_dates
    if due_times:
        details["due_times"] = due_times
    if added:
        details["added"] = added
    if retire:
        details["removed"] = [label(key) for key in retire]
    return ObligationChanges(tuple(add), tuple(update), retire, details)


def apply(
    changes: ObligationChanges,
    rows: MutableMapping[ObligationKey, Row],
    *,
    create: Callable[[ObligationKey, ObligationColumns], Row],
    now: datetime,
) -> None:
    """Write `changes` into `rows` (keyed as `diff` keys them): `create` makes each new row
    (created and updated `now`); overwritten and retired rows are marked updated `now`."""
    for change in changes.add:
        rows[change.key] = create(change.key, change.columns)
    for change in changes.update:
        row, columns = rows[change.key], change.columns
        row.due_on, row.citation = columns["due_on"], columns["citation"]
        row.due_at = columns["due_at"]
        row.reason, row.detail = columns["reason"], columns["detail"]
        row.active, row.updated_at = columns["active"], now
    for key in changes.retire:
        rows[key].active, rows[key].updated_at = False, now


def _note_moves(
    name: str,
    row: StoredObligation,
    columns: ObligationColumns,
    due_dates: dict[str, list[str | None]],
    due_times: dict[str, list[str | None]],
) -> None:
    if row.due_on != columns["due_on"]:
        due_dates[name] = [iso(row.due_on), iso(columns["due_on"])]
    if not same_instant(row.due_at, columns["due_at"]):
        due_times[name] = [_iso_at(row.due_at), _iso_at(columns["due_at"])]


def _differs(row: StoredObligation, columns: ObligationColumns) -> bool:
    return (
        row.due_on != columns["due_on"]
        or not same_instant(row.due_at, columns["due_at"])
        or row.citation != columns["citation"]
        or row.reason != columns["reason"]
        or row.detail != columns["detail"]
        or row.active != columns["active"]
    )


def _iso_at(moment: datetime | None) -> str | None:
    return None if moment is None else _utc(moment).isoformat()


class DeterminationColumns(TypedDict):
    """The computed columns of the incident's Determination row (what `sync` writes)."""

    reportable: bool
    reason: str
    treated_discovery_on: date | None
    warnings: list[str]
    assessment_version_id: int | None
    computed_at: datetime


def determination_columns(
    determination: rules.Determination, *, assessment_version_id: int | None, now: datetime
) -> DeterminationColumns:
    return DeterminationColumns(
        reportable=determination.reportable,
        reason=determination.reason,
        treated_discovery_on=determination.treated_discovery_on,
        warnings=list(determination.warnings),
        assessment_version_id=assessment_version_id,
        computed_at=now,
    )
