"""The only place that reads the clock. Tests move time with time-machine."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def today_in(zone: str) -> date:
    """Today's date in the organisation's time zone (legal deadlines are dates in that zone)."""
    return utcnow().astimezone(ZoneInfo(zone)).date()
