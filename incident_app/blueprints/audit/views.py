"""The audit viewer for auditors and privacy officers: filter, page, export, verify."""

from __future__ import annotations

import json

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import render_template
from flask import request
from flask_login import current_user

from incident_app import clock
from incident_app.access import Capability
from incident_app.blueprints._downloads import csv_download
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints.audit.forms import AuditFilterForm
from incident_app.db import get_session
from incident_app.services import audit_log
from incident_app.services.audit_log import AuditFilter
from incident_app.services.organisation import get_organisation

bp = Blueprint("audit", __name__, url_prefix="/audit")
NAV = [(70, "Audit trail", "audit.events", Capability.VIEW_AUDIT)]


def _filter() -> tuple[AuditFilterForm, AuditFilter, str]:
    form = AuditFilterForm(request.args)
    flt = form.to_filter() if form.validate() else AuditFilter()
    return form, flt, get_organisation(get_session()).timezone


@bp.route("/")
@capability_required(Capability.VIEW_AUDIT)
def events() -> str:
    form, flt, zone = _filter()
    page = audit_log.search(
        get_session(),
        actor=current_user,
        flt=flt,
        page=request.args.get("page", 1, type=int),
        zone=zone,
        now=clock.utcnow(),
    )
    last = audit_log.last_verification(get_session(), actor=current_user)
    return render_template(
        "audit/events.html",
        form=form,
        result=page,
        last=last,
        checkpoint_minutes=current_app.config["AUDIT_CHECKPOINT_MINUTES"],
        zone=zone,
        query=request.args.to_dict(flat=True),
    )


@bp.route("/export.csv")
@capability_required(Capability.VIEW_AUDIT)
def export_csv() -> Response:
    _form, flt, zone = _filter()
    text = audit_log.export_csv(
        get_session(), actor=current_user, flt=flt, zone=zone, now=clock.utcnow()
    )
    return csv_download(text, "breachdesk-audit.csv")


@bp.route("/export.json")
@capability_required(Capability.VIEW_AUDIT)
def export_json() -> Response:
    _form, flt, zone = _filter()
    document = audit_log.export_signed_json(
        get_session(),
        actor=current_user,
        flt=flt,
        zone=zone,
        now=clock.utcnow(),
        signing_key=audit_log.signing_key(current_app.config["SECRET_KEY"]),
    )
    return Response(
        json.dumps(document, indent=1, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": "attachment; filename=breachdesk-audit.json"},
    )
