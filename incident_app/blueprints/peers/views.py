"""The peers page: breaches comparable to ours in OCR's public listing, with sizes and actions."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request
from flask_login import current_user

from incident_app.access import Capability
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints.peers import chart
from incident_app.blueprints.peers.forms import PeerFilterForm
from incident_app.db import get_session
from incident_app.models.ocr import FLAG_LABELS
from incident_app.services.peers import comparison as peers
from incident_app.services.peers import ocr_parsing

bp = Blueprint("peers", __name__)
NAV = [(60, "Peers", "peers.index", Capability.USE_CALCULATOR)]


@bp.route("/peers")
@capability_required(Capability.USE_CALCULATOR)
def index() -> str:
    """Query parameters: type and location (repeatable), entity, affected, page."""
    session = get_session()
    form = PeerFilterForm(formdata=request.args)
    form.set_choices(peers.filter_choices(session))
    report = None
    if form.validate():
        report = peers.peer_report(
            session,
            actor=current_user,
            criteria=form.to_criteria(),
            page=request.args.get("page", 1, type=int),
        )
    query = {key: values for key, values in request.args.lists() if key != "page"}
    return render_template(
        "peers/index.html",
        form=form,
        report=report,
        query=query,
        flag_labels=FLAG_LABELS,
        chart=chart.histogram(report.sizes) if report else None,
        action_labels=ocr_parsing.ACTION_LABELS,
    )
