"""The what-if calculator: hypothetical facts through the real rules engine, nothing stored."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request
from flask_login import current_user

from incident_app.access import Capability
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.calculator.forms import CalculatorForm
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.services import organisation
from incident_app.services.obligations import evaluation as obligation_evaluation
from incident_app.services.obligations import presentation

bp = Blueprint("calculator", __name__, url_prefix="/calculator")
NAV = [(60, "What-if calculator", "calculator.index", Capability.USE_CALCULATOR)]


@bp.route("/")
@capability_required(Capability.USE_CALCULATOR)
def index() -> str:
    form = CalculatorForm(request.args)
    zone = organisation.get_organisation(get_session()).timezone
    determination = None
    if request.args and form.validate():
        try:
            determination = obligation_evaluation.what_if(
                actor=current_user, facts=form.to_facts(zone)
            )
        except ValidationFailed as error:
            show_on_form(form, error)
    shown: dict[str, list[presentation.ObligationDisplay] | list[str]] = {
        "rows": [],
        "deemers": [],
        "other_warnings": [],
    }
    if determination is not None:
        deemers, others = presentation.split_warnings(determination.warnings)
        rows = presentation.present_all(determination.obligations, zone=zone)
        shown = {"rows": rows, "deemers": deemers, "other_warnings": others}
    return render_template(
        "calculator/index.html", form=form, determination=determination, zone=zone, **shown
    )
