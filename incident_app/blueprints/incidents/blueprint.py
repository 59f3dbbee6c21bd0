"""The incidents blueprint and what all its pages share: the organisation's time zone and
public-company flag (read once per request) and the template helpers that show times in it.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import g

from incident_app import clock
from incident_app.db import get_session
from incident_app.services import options
from incident_app.services import organisation

bp = Blueprint("incidents", __name__, url_prefix="/incidents")


def zone() -> ZoneInfo:
    """The organisation's time zone, read once per request."""
    if "org_zone" not in g:
        g.org_zone = organisation.org_zone(get_session())
    return g.org_zone


def public_company() -> bool:
    """Whether the organisation is a public company (the SEC materiality date is asked)."""
    if "org_public" not in g:
        g.org_public = organisation.get_organisation(get_session()).public_company
    return bool(g.org_public)


@bp.context_processor
def _helpers() -> dict[str, object]:
    def local_time(value: datetime | None) -> str:
        """A UTC timestamp in the organisation's zone, with the zone's abbreviation."""
        return value.astimezone(zone()).strftime("%Y-%m-%d %H:%M %Z") if value else ""

    return {
        "local_time": local_time,
        "ocr_labels": options.labels,
        "state_names": options.state_names(),
        "zone_name": zone().key,
        "public_company": public_company,
    }


def today() -> date:
    """Today in the organisation's time zone."""
    return clock.utcnow().astimezone(zone()).date()
