"""What the rules conclude: the determination and the obligations, plus a JSON form of both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from types import MappingProxyType
from typing import Any

US = "US"


@dataclass(frozen=True)
class Obligation:
    """One notice somebody must give, by when, and under which provision.

    ``due_on`` is an outer limit (every HIPAA notice is "without unreasonable delay"); None
    means the provision sets no computable date, and ``detail`` says why. ``due_at`` is set
    only for clocks counted in hours (GDPR Art. 33's 72 hours): the exact UTC instant, with
    ``due_on`` its UTC date.
    """

    kind: str
    jurisdiction: str
    due_on: date | None
    citation: str
    reason: str
    detail: Mapping[str, str] = field(default_factory=dict)
    due_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", MappingProxyType(dict(self.detail)))
        if self.due_at is not None:
            if self.due_at.utcoffset() is None:
                raise ValueError(f"{self.kind}: due_at must be timezone-aware")
            object.__setattr__(self, "due_at", self.due_at.astimezone(UTC))


@dataclass(frozen=True)
class Determination:
    """Whether the incident is a reportable breach, why, and what follows from it."""

    reportable: bool
    reason: str
    treated_discovery_on: date | None
    obligations: tuple[Obligation, ...] = ()
    warnings: tuple[str, ...] = ()


def to_jsonable(determination: Determination) -> dict[str, Any]:
    """The determination as plain JSON types, dates as ISO 8601 strings (for the REST API)."""
    return {
        "reportable": determination.reportable,
        "reason": determination.reason,
        "treated_discovery_on": _iso(determination.treated_discovery_on),
        "obligations": [_obligation_json(item) for item in determination.obligations],
        "warnings": list(determination.warnings),
    }


def _obligation_json(obligation: Obligation) -> dict[str, Any]:
    return {
        "kind": obligation.kind,
        "jurisdiction": obligation.jurisdiction,
        "due_on": _iso(obligation.due_on),
        "citation": obligation.citation,
        "reason": obligation.reason,
        "detail": dict(obligation.detail),
        "due_at": None if obligation.due_at is None else obligation.due_at.isoformat(),
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
