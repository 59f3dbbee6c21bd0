"""The risk assessment form, the Deadlines tab (determination + obligations) and overrides."""

from __future__ import annotations

from datetime import date
from functools import partial

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from jinja2 import TemplateNotFound

from incident_app import clock
from incident_app.access import Capability
from incident_app.access import can
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.assessment.forms import AssessmentForm
from incident_app.blueprints.assessment.forms import DeterminationOverrideForm
from incident_app.blueprints.assessment.forms import DiscoveryForm
from incident_app.blueprints.assessment.forms import DueDateOverrideForm
from incident_app.blueprints.assessment.forms import RecomputeForm
from incident_app.blueprints.assessment.forms import SignForm
from incident_app.db import get_session
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.services import assessment as service
from incident_app.services import organisation
from incident_app.services.assessment import questionnaire
from incident_app.services.assessment import report as assessment_report
from incident_app.services.assessment import scope as assessment_scope
from incident_app.services.obligations import overrides as obligation_overrides
from incident_app.services.obligations import presentation
from incident_app.services.obligations import reading as obligation_reading
from incident_app.services.obligations import sync as obligation_sync

bp = Blueprint("assessment", __name__, url_prefix="/incidents/<int:incident_id>")
INCIDENT_LAYOUT = "incidents/_layout.html"
INCIDENT_TABS = [
    (40, "Risk assessment", "assessment.edit"),
    (45, "Deadlines", "assessment.determination"),
]


@bp.context_processor
def _layout() -> dict[str, str]:
    """The incidents area's page frame when it is installed, else this area's own."""
    try:
        current_app.jinja_env.get_template(INCIDENT_LAYOUT)
    except TemplateNotFound:
        return {"layout": "assessment/_frame.html"}
    return {"layout": INCIDENT_LAYOUT}


def _zone() -> str:
    return organisation.get_organisation(get_session()).timezone


def _today() -> date:
    return clock.today_in(_zone())


@bp.route("/assessment", methods=["GET", "POST"])
@login_required
def edit(incident_id: int) -> str | Response:
    history = service.versions(get_session(), actor=current_user, incident_id=incident_id)
    form = AssessmentForm(data=history[0].answers if history else None)
    if form.validate_on_submit():
        try:
            version = service.save_assessment(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                answers=form.to_answers(),
                sign=form.save_and_sign.data,
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(_saved_message(version), "success")
            return redirect(url_for("assessment.edit", incident_id=incident_id))
    return render_template("assessment/edit.html", **_edit_context(incident_id, form, history))


def _saved_message(version) -> str:
    if version.signed:
        return f"Version {version.number} saved and signed. Deadlines recalculated."
    return f"Version {version.number} saved (not signed: the signed version still applies)."


def _edit_context(incident_id: int, form: AssessmentForm, history: list) -> dict:
    page = obligation_reading.determination_page(
        get_session(), actor=current_user, incident_id=incident_id, today=_today()
    )
    return {
        "incident": page.incident,
        "form": form,
        "versions": history,
        "sign_form": SignForm(),
        "can_sign": can(current_user, Capability.SIGN_DETERMINATIONS),
        "suggested": questionnaire.suggested_conclusion(form.to_answers()),
        "elements": questionnaire.EXCEPTION_ELEMENTS,
        "exception_labels": questionnaire.EXCEPTION_LABELS,
        "show_when": assessment_scope.show_when(),
        "applies": partial(assessment_scope.applies, answers=form.to_answers()),
    }


@bp.route("/assessment/versions/<int:version_id>")
@login_required
def version(incident_id: int, version_id: int) -> str:
    history = service.versions(get_session(), actor=current_user, incident_id=incident_id)
    chosen = next((v for v in history if v.id == version_id), None)
    if chosen is None:
        raise NotFound("No such version of this assessment.")
    page = obligation_reading.determination_page(
        get_session(), actor=current_user, incident_id=incident_id, today=_today()
    )
    return render_template(
        "assessment/version.html",
        incident=page.incident,
        version=chosen,
        form=AssessmentForm(data=chosen.answers),
        exception_labels=questionnaire.EXCEPTION_LABELS,
    )


@bp.route("/assessment/versions/<int:version_id>.pdf")
@login_required
def version_pdf(incident_id: int, version_id: int) -> Response:
    """The 164.414 documentation of one version, as PDF/A (audited)."""
    name, pdf = assessment_report.export_pdf(
        get_session(),
        actor=current_user,
        incident_id=incident_id,
        version_id=version_id,
        now=clock.utcnow(),
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/assessment/versions/<int:version_id>/sign", methods=["POST"])
@login_required
def sign(incident_id: int, version_id: int) -> Response:
    if SignForm().validate_on_submit():
        try:
            version = service.sign_version(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                version_id=version_id,
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            flash(f"Not signed: {error}", "error")
        else:
            flash(f"Version {version.number} signed. Deadlines recalculated.", "success")
    return redirect(url_for("assessment.edit", incident_id=incident_id))


@bp.route("/deadlines")
@login_required
def determination(incident_id: int) -> str:
    return _determination_page(incident_id)


def _determination_page(incident_id: int, **forms: object) -> str:
    page = obligation_reading.determination_page(
        get_session(), actor=current_user, incident_id=incident_id, today=_today()
    )
    forms.setdefault("discovery_form", DiscoveryForm(obj=page.incident))
    forms.setdefault("override_form", DeterminationOverrideForm())
    return render_template(
        "assessment/determination.html",
        page=page,
        incident=page.incident,
        due_form=DueDateOverrideForm(),
        recompute_form=RecomputeForm(),
        can_override=can(current_user, Capability.SIGN_DETERMINATIONS),
        **_shown(page, _zone()),
        **forms,
    )


def _shown(page: obligation_reading.DeterminationPage, zone: str) -> dict[str, object]:
    """The obligations and warnings as the page shows them (labels, marks, hour clocks)."""
    deemers, others = presentation.split_warnings(page.determination.warnings or ())
    preview = page.determination.obligations if page.preview else ()
    return {
        "zone": zone,
        "rows": [(view, presentation.present(view.row, zone=zone)) for view in page.obligations],
        "preview_rows": presentation.present_all(preview, zone=zone),
        "deemers": deemers,
        "other_warnings": others,
    }


@bp.route("/deadlines/discovery", methods=["POST"])
@login_required
def discovery(incident_id: int) -> str | Response:
    form = DiscoveryForm()
    if form.validate_on_submit():
        try:
            obligation_sync.update_discovery(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                discovered_on=form.discovered_on.data,
                diligence_known_on=form.diligence_known_on.data,
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Discovery date saved. Every deadline was recalculated.", "success")
            return redirect(url_for("assessment.determination", incident_id=incident_id))
    return _determination_page(incident_id, discovery_form=form), 422


@bp.route("/deadlines/override", methods=["POST"])
@login_required
def override_determination(incident_id: int) -> str | Response:
    form = DeterminationOverrideForm()
    if form.validate_on_submit():
        try:
            obligation_overrides.override_determination(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                reportable=form.to_reportable(),
                reason=form.reason.data,
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Override recorded beside the computed determination.", "success")
            return redirect(url_for("assessment.determination", incident_id=incident_id))
    return _determination_page(incident_id, override_form=form), 422


@bp.route("/deadlines/<int:obligation_id>/override", methods=["POST"])
@login_required
def override_due_date(incident_id: int, obligation_id: int) -> Response:
    form = DueDateOverrideForm()
    if not form.validate_on_submit():
        flash("Give the reason for the override; it is kept with it.", "error")
    else:
        try:
            obligation_overrides.override_due_date(
                get_session(),
                actor=current_user,
                obligation_id=obligation_id,
                incident_id=incident_id,
                due_on=form.due_on.data,
                reason=form.reason.data,
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            flash(str(error), "error")
        else:
            flash("Due-date override recorded beside the computed date.", "success")
    return redirect(url_for("assessment.determination", incident_id=incident_id))


@bp.route("/deadlines/recompute", methods=["POST"])
@login_required
def recompute(incident_id: int) -> Response:
    if RecomputeForm().validate_on_submit():
        try:
            obligation_sync.recompute(
                get_session(), actor=current_user, incident_id=incident_id, now=clock.utcnow()
            )
        except ValidationFailed as error:
            flash(str(error), "error")
        else:
            flash("Deadlines recorded.", "success")
    return redirect(url_for("assessment.determination", incident_id=incident_id))
