"""/reports: the HHS annual log (page, CSV, PDF, filings and addenda) and the metrics page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint
from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from incident_app import clock
from incident_app.access import Capability
from incident_app.access import can
from incident_app.blueprints._downloads import csv_download
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.reports.chart import bar_chart
from incident_app.blueprints.reports.forms import AddendumForm
from incident_app.blueprints.reports.forms import FilingForm
from incident_app.blueprints.reports.forms import RangeForm
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.services import hhs_log as log_service
from incident_app.services import hhs_log_exports as log_exports
from incident_app.services import metrics as metrics_service
from incident_app.services.impact import money as impact_money
from incident_app.services.organisation import local_today

bp = Blueprint("reports", __name__, url_prefix="/reports")
NAV = [
    (70, "HHS annual log", "reports.hhs_log_page", Capability.VIEW_ALL_INCIDENTS),
    (72, "Metrics", "reports.metrics", Capability.VIEW_ALL_INCIDENTS),
]
READ = Capability.VIEW_ALL_INCIDENTS
FILE = Capability.SIGN_DETERMINATIONS


def _today() -> date:
    return local_today(get_session(), clock.utcnow())


@bp.route("/hhs-log")
@capability_required(READ)
def hhs_log_page() -> Response:
    return redirect(url_for("reports.hhs_log", year=_today().year - 1))


@bp.route("/hhs-log/<int:year>")
@capability_required(READ)
def hhs_log(year: int) -> str:
    log = log_service.annual_log(get_session(), actor=current_user, year=year)
    return render_template(
        "reports/hhs_log.html", log=log, today=_today(), may_file=can(current_user, FILE)
    )


@bp.route("/hhs-log/<int:year>.csv")
@capability_required(READ)
def hhs_log_csv(year: int) -> Response:
    text = log_exports.export_csv(get_session(), actor=current_user, year=year, now=clock.utcnow())
    return csv_download(text, f"hhs-annual-log-{year}.csv")


@bp.route("/hhs-log/<int:year>.pdf")
@capability_required(READ)
def hhs_log_pdf(year: int) -> Response:
    pdf = log_exports.export_pdf(get_session(), actor=current_user, year=year, now=clock.utcnow())
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="hhs-annual-log-{year}.pdf"'},
    )


@bp.route("/hhs-log/incidents/<int:incident_id>/filing", methods=["GET", "POST"])
@capability_required(FILE)
def filing(incident_id: int) -> str | Response:
    return _filing_page(incident_id, FilingForm(), log_service.record_filing, "Initial report")


@bp.route("/hhs-log/incidents/<int:incident_id>/addendum", methods=["GET", "POST"])
@capability_required(FILE)
def addendum(incident_id: int) -> str | Response:
    return _filing_page(incident_id, AddendumForm(), log_service.record_addendum, "Addendum")


def _filing_page(
    incident_id: int, form: FilingForm | AddendumForm, record: Callable[..., Any], what: str
) -> str | Response:
    entry = log_service.entry_for(get_session(), actor=current_user, incident_id=incident_id)
    if form.validate_on_submit():
        try:
            row = record(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                filing=form.to_input(),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        except InvalidTransition as error:
            form.form_errors.append(str(error))
        else:
            flash(
                f"{what} recorded for {entry.incident.reference} (transaction "
                f"{row.transaction_number}).",
                "success",
            )
            return redirect(url_for("reports.hhs_log", year=row.reporting_year))
    return render_template("reports/filing.html", form=form, entry=entry, what=what)


@bp.route("/metrics")
@capability_required(READ)
def metrics() -> str:
    form = RangeForm(request.args)
    report = None
    if form.validate():
        try:
            report = metrics_service.metrics(
                get_session(),
                actor=current_user,
                date_from=form.date_from.data,
                date_to=form.date_to.data,
            )
        except ValidationFailed as error:
            show_on_form(form, error)
    charts = (
        {}
        if report is None
        else {
            "type": bar_chart(report.by_type),
            "location": bar_chart(report.by_location),
            "quarter": bar_chart(report.individuals_per_quarter),
        }
    )
    return render_template(
        "reports/metrics.html", form=form, report=report, charts=charts, money=impact_money.money
    )


@bp.route("/metrics.csv")
@capability_required(READ)
def metrics_csv() -> Response:
    form = RangeForm(request.args)
    if not form.validate():
        return redirect(url_for("reports.metrics", **request.args))
    text = metrics_service.export_csv(
        get_session(),
        actor=current_user,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        now=clock.utcnow(),
    )
    return csv_download(text, "metrics.csv")
