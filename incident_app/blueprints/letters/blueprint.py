"""The letters blueprint and what its view modules share: the 404-first visibility check,
redirects back to the letters pages, attachments, and where links in emails point."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user

from incident_app.blueprints._invite import email_base_url as email_base_url
from incident_app.db import get_session
from incident_app.services.letters import access as letter_access

bp = Blueprint("letters", __name__, url_prefix="/incidents/<int:incident_id>/letters")


@bp.before_request
def _incident_visible() -> None:
    """Every letters URL answers 404 to a non-member first, whatever the form holds."""
    if current_user.is_authenticated and request.view_args:
        letter_access.require_visible(
            get_session(), actor=current_user, incident_id=request.view_args["incident_id"]
        )


def back(incident_id: int, letter_id: int | None = None) -> Response:
    """To the Letters tab, or to one letter's page."""
    if letter_id is None:
        return redirect(url_for("letters.index", incident_id=incident_id))
    return redirect(url_for("letters.detail", incident_id=incident_id, letter_id=letter_id))


def attachment(data: bytes, name: str, mimetype: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
