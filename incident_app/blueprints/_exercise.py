"""The EXERCISE banner of base.html: every page about a tabletop exercise says so (issue 23).

Pages know their incident from the URL (every incident page has `incident_id` in its route),
so the banner needs nothing from the views; the service answers False for an incident the
user may not see, so an error page never reveals one.
"""

from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from incident_app.db import get_session
from incident_app.services.incidents.access import is_exercise


def exercise_page() -> bool:
    """Whether the page being rendered is about an exercise incident."""
    incident_id = (request.view_args or {}).get("incident_id")
    if not isinstance(incident_id, int) or not current_user.is_authenticated:
        return False
    try:
        return is_exercise(get_session(), actor=current_user, incident_id=incident_id)
    except SQLAlchemyError:  # an error page after a failed transaction: no banner, no new error
        get_session().rollback()
        return False


def template_globals() -> dict[str, object]:
    return {"exercise_page": exercise_page}
