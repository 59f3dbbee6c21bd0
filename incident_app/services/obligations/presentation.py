"""An obligation as a person reads it on the Deadlines tab and the calculator: its label, the
exact time for hour clocks (UTC and the organisation's zone), and the parts of its detail that
change what the officer does — "may not apply", the clock basis, the HIPAA deemer, and the
"verify with counsel" mark with its provenance.

Works on a stored `models.Obligation` and on a `rules.Obligation` alike (both have kind,
jurisdiction, due_on, due_at, citation, reason and detail). Reads nothing, writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from incident_app.services.obligations import kinds

UNCONFIRMED_CONFIDENCE = "[M]"
SECONDARY = "secondary"
DEEMER_MARK = ": deemed compliant if "


class ObligationLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def jurisdiction(self) -> str: ...
    @property
    def due_on(self) -> date | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def citation(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def detail(self) -> Mapping[str, object]: ...


@dataclass(frozen=True)
class Provenance:
    """Where a state row comes from and how sure the table is of it."""

    source: str
    confidence: str
    checked_against: str
    checked_on: str
    statute_url: str
    verify_with_counsel: bool


@dataclass(frozen=True)
class ObligationDisplay:
    kind: str
    label: str
    description: str
    family: str
    jurisdiction: str
    recipient_name: str
    due_on: date | None
    due_at_iso: str  # "2026-03-05T14:00:00Z" for <time datetime>, empty when in days
    due_at_utc: str  # "2026-03-05 14:00 UTC"
    due_at_local: str  # the same instant in the organisation's zone
    citation: str
    reason: str
    may_not_apply: str
    basis: str
    deemer: str
    mirrors: str
    provenance: Provenance | None


def present(obligation: ObligationLike, *, zone: str) -> ObligationDisplay:
    """What the pages show of one obligation; `zone` is the organisation's IANA time zone."""
    detail = {str(key): str(value) for key, value in (obligation.detail or {}).items()}
    info = kinds.info(obligation.kind)
    doubt = detail.get("may_not_apply", "")
    iso_text, utc_text, local_text = _instant(obligation.due_at, zone)
    mirrors = detail.get("mirrors", "")
    return ObligationDisplay(
        kind=obligation.kind,
        label=info.label,
        description=info.description,
        family=detail.get("regime") or info.family,
        jurisdiction=obligation.jurisdiction,
        recipient_name=detail.get("recipient_name", ""),
        due_on=obligation.due_on,
        due_at_iso=iso_text,
        due_at_utc=utc_text,
        due_at_local=local_text,
        citation=obligation.citation,
        reason=_without_doubt(obligation.reason, doubt),
        may_not_apply=doubt,
        basis=detail.get("basis") or detail.get("clock", ""),
        deemer=detail.get("deemer", ""),
        mirrors=kinds.label(mirrors) if mirrors else "",
        provenance=_provenance(detail),
    )


def present_all(obligations: Iterable[ObligationLike], *, zone: str) -> list[ObligationDisplay]:
    return [present(item, zone=zone) for item in obligations]


def needs_counsel(detail: Mapping[str, object]) -> bool:
    """A row marked [M] or checked only against a secondary source: verify with counsel."""
    return (
        detail.get("confidence") == UNCONFIRMED_CONFIDENCE
        or detail.get("checked_against") == SECONDARY
        or bool(detail.get("verify_with_counsel"))
    )


def split_warnings(warnings: Iterable[str]) -> tuple[list[str], list[str]]:
    """(HIPAA deemer warnings, every other warning), each in the engine's order.

    The overlay words every deemer as "<State> (<code>): <statute> — notice to <whom>: deemed
    compliant if <condition> …"; they are shown apart so the officer sees which state duties
    HIPAA compliance satisfies, and on what condition.
    """
    deemers: list[str] = []
    others: list[str] = []
    for text in warnings:
        (deemers if DEEMER_MARK in text else others).append(text)
    return deemers, others


def _provenance(detail: Mapping[str, str]) -> Provenance | None:
    if "confidence" not in detail and "checked_against" not in detail:
        return None
    return Provenance(
        source=detail.get("source", ""),
        confidence=detail.get("confidence", ""),
        checked_against=detail.get("checked_against", ""),
        checked_on=detail.get("checked_on") or detail.get("last_verified", ""),
        statute_url=_safe_url(detail.get("statute_url", "")),
        verify_with_counsel=needs_counsel(detail),
    )


def _safe_url(url: str) -> str:
    # The table is ours, but a link only ever goes to an http(s) statute page.
    return url if url.startswith(("https://", "http://")) else ""


def _instant(due_at: datetime | None, zone: str) -> tuple[str, str, str]:
    if due_at is None:
        return "", "", ""
    # Stored rows come back aware (db.UTCDateTime); a naive value can only be UTC.
    moment = (due_at if due_at.tzinfo is not None else due_at.replace(tzinfo=UTC)).astimezone(UTC)
    local = moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.strftime("%Y-%m-%d %H:%M UTC"),
        f"{local} ({zone})",
    )


def _without_doubt(reason: str, doubt: str) -> str:
    # The overlay prefixes the reason with "may not apply: <why>. "; the page shows that on
    # its own marked line, so it is not repeated in the reason.
    prefix = f"may not apply: {doubt}. "
    return reason[len(prefix) :] if doubt and reason.startswith(prefix) else reason
