"""The impact blueprint and what its pages share: the organisation's time zone (read once per
request), the template helpers, and whether the user may work on the incident.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import g
from flask_login import current_user

from incident_app.db import get_session
from incident_app.models.impact import DisruptionKind
from incident_app.models.review import SafeguardFamily
from incident_app.services.impact import money as impact_money
from incident_app.services.incidents.access import can_work_on
from incident_app.services.incidents.access import get_visible
from incident_app.services.organisation import get_organisation

bp = Blueprint("impact", __name__)


def _zone() -> ZoneInfo:
    if "impact_zone" not in g:
        g.impact_zone = ZoneInfo(get_organisation(get_session()).timezone)
    return g.impact_zone


@bp.context_processor
def _helpers() -> dict[str, object]:
    def local_time(value: datetime | None) -> str:
        return value.astimezone(_zone()).strftime("%Y-%m-%d %H:%M") if value else ""

    return {
        "local_time": local_time,
        "money": impact_money.money,
        "families": list(SafeguardFamily),
        "disruption_kinds": list(DisruptionKind),
    }


def can_work(incident_id: int) -> bool:
    session = get_session()
    incident = get_visible(session, actor=current_user, incident_id=incident_id)
    return can_work_on(session, actor=current_user, incident=incident)
