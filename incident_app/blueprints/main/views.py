"""The dashboard and the health endpoints."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask_login import current_user
from flask_login import login_required

from incident_app import clock
from incident_app.db import get_session
from incident_app.services import system

bp = Blueprint("main", __name__)
NAV = [(0, "Dashboard", "main.dashboard", None)]


@bp.route("/")
@login_required
def dashboard() -> str:
    panels = system.dashboard_panels(get_session(), actor=current_user, now=clock.utcnow())
    return render_template("main/dashboard.html", panels=panels)


@bp.route("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no database call)."""
    return {"status": "ok"}


@bp.route("/readyz")
def readyz() -> tuple[system.Readiness, int]:
    """Database reachable, migrations at head, scheduler heartbeat fresh."""
    report = system.readiness(get_session(), now=clock.utcnow())
    return report, 200 if report["ready"] else 503
