"""After the breach: the Impact and Actions tabs of an incident, and the /impact page. The Review
tab's routes are in review_tab.py (imported here so that they register on the blueprint).
"""

from __future__ import annotations

from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required

from incident_app import app_store
from incident_app import clock
from incident_app.access import Capability
from incident_app.blueprints import _downloads
from incident_app.blueprints._downloads import csv_download
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.impact import chart
from incident_app.blueprints.impact import forms
from incident_app.blueprints.impact import review_tab  # noqa: F401 - registers its routes on bp
from incident_app.blueprints.impact.blueprint import bp
from incident_app.blueprints.impact.blueprint import can_work
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.services import corrective_actions
from incident_app.services import training
from incident_app.services.impact import attachments as impact_attachments
from incident_app.services.impact import costs as impact_costs
from incident_app.services.impact import disruptions as impact_disruptions
from incident_app.services.impact import exports as impact_exports
from incident_app.services.impact import reports as impact_reports
from incident_app.services.impact import settings as impact_settings
from incident_app.services.incidents.access import get_visible
from incident_app.services.organisation import get_organisation

NAV = [(70, "Impact", "impact.summary", Capability.VIEW_ALL_INCIDENTS)]
INCIDENT_TABS = [
    (60, "Impact", "impact.incident_impact"),
    (62, "Actions", "impact.actions"),
    (64, "Review", "impact.review_page"),
]


def _csv(text: str, name: str) -> Response:
    return csv_download(text, name)


# --- Impact tab: costs and disruption ----------------------------------------------------------


def _impact_page(
    incident_id: int,
    *,
    cost_form: forms.CostForm | None = None,
    disruption_form: forms.DisruptionForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    figures = impact_reports.incident_impact(
        get_session(), actor=current_user, incident_id=incident_id
    )
    return render_template(
        "impact/incident.html",
        incident=figures.incident,
        figures=figures,
        chart=chart.cost_chart(figures.months, figures.currency),
        cost_form=cost_form or forms.CostForm(currency=figures.currency),
        disruption_form=disruption_form or forms.DisruptionForm(),
        delete_form=forms.DeleteForm(),
        can_work=can_work(incident_id),
    ), status


@bp.route("/incidents/<int:incident_id>/impact")
@login_required
def incident_impact(incident_id: int) -> tuple[str, int]:
    return _impact_page(incident_id)


@bp.route("/incidents/<int:incident_id>/impact/costs", methods=["POST"])
@login_required
def add_cost(incident_id: int) -> Response | tuple[str, int]:
    form = forms.CostForm()
    if form.validate_on_submit():
        try:
            impact_costs.record_cost(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                cost=form.to_input(),
                evidence=forms.upload_of(form.evidence.data),
                now=clock.utcnow(),
                store=app_store.current_store(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Cost recorded.", "success")
            return redirect(url_for("impact.incident_impact", incident_id=incident_id))
    return _impact_page(incident_id, cost_form=form, status=422)


@bp.route("/incidents/<int:incident_id>/impact/costs/<int:cost_id>/delete", methods=["POST"])
@login_required
def delete_cost(incident_id: int, cost_id: int) -> Response:
    if forms.DeleteForm().validate_on_submit():
        impact_costs.delete_cost(
            get_session(),
            actor=current_user,
            incident_id=incident_id,
            cost_id=cost_id,
            now=clock.utcnow(),
        )
        flash("Cost entry removed.", "success")
    return redirect(url_for("impact.incident_impact", incident_id=incident_id))


@bp.route("/incidents/<int:incident_id>/impact/disruptions", methods=["POST"])
@login_required
def add_disruption(incident_id: int) -> Response | tuple[str, int]:
    form = forms.DisruptionForm()
    if form.validate_on_submit():
        try:
            impact_disruptions.record_disruption(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                disruption=form.to_input(),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Disruption recorded.", "success")
            return redirect(url_for("impact.incident_impact", incident_id=incident_id))
    return _impact_page(incident_id, disruption_form=form, status=422)


@bp.route(
    "/incidents/<int:incident_id>/impact/disruptions/<int:disruption_id>/delete", methods=["POST"]
)
@login_required
def delete_disruption(incident_id: int, disruption_id: int) -> Response:
    if forms.DeleteForm().validate_on_submit():
        impact_disruptions.delete_disruption(
            get_session(),
            actor=current_user,
            incident_id=incident_id,
            disruption_id=disruption_id,
            now=clock.utcnow(),
        )
        flash("Disruption removed.", "success")
    return redirect(url_for("impact.incident_impact", incident_id=incident_id))


@bp.route("/incidents/<int:incident_id>/impact/costs.csv")
@login_required
def costs_csv(incident_id: int) -> Response:
    text = impact_exports.costs_csv(
        get_session(), actor=current_user, incident_id=incident_id, now=clock.utcnow()
    )
    return _csv(text, f"costs-incident-{incident_id}.csv")


@bp.route("/incidents/<int:incident_id>/impact/disruptions.csv")
@login_required
def disruptions_csv(incident_id: int) -> Response:
    text = impact_exports.disruptions_csv(
        get_session(), actor=current_user, incident_id=incident_id, now=clock.utcnow()
    )
    return _csv(text, f"disruptions-incident-{incident_id}.csv")


@bp.route("/incidents/<int:incident_id>/impact/files/<int:evidence_id>")
@login_required
def download(incident_id: int, evidence_id: int) -> Response:
    evidence, data = impact_attachments.open_evidence(
        get_session(),
        actor=current_user,
        incident_id=incident_id,
        evidence_id=evidence_id,
        now=clock.utcnow(),
        store=app_store.current_store(),
    )
    return _downloads.download(
        data, content_type="application/octet-stream", filename=evidence.filename
    )


# --- Actions tab: corrective action plan and training ------------------------------------------


def _actions_page(
    incident_id: int,
    *,
    action_form: forms.ActionForm | None = None,
    training_form: forms.TrainingForm | None = None,
    status_errors: dict[int, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    session = get_session()
    incident = get_visible(session, actor=current_user, incident_id=incident_id)
    action_form = action_form or forms.ActionForm()
    action_form.set_choices(_owners(incident_id))
    return render_template(
        "impact/actions.html",
        incident=incident,
        action_form=action_form,
        actions=corrective_actions.plan(session, actor=current_user, incident_id=incident_id),
        training=training.training_records(session, actor=current_user, incident_id=incident_id),
        training_form=training_form or forms.TrainingForm(),
        status_form=forms.ActionStatusForm(),
        status_errors=status_errors or {},
        ocr_labels=corrective_actions.ocr_actions(),
        can_work=can_work(incident_id),
        require_proof=get_organisation(session).require_proof_to_close_action,
    ), status


def _owners(incident_id: int) -> list[tuple[int, str]]:
    people = corrective_actions.owner_choices(
        get_session(), actor=current_user, incident_id=incident_id
    )
    return [(person.id, person.name) for person in people]


@bp.route("/incidents/<int:incident_id>/actions")
@login_required
def actions(incident_id: int) -> tuple[str, int]:
    return _actions_page(incident_id)


@bp.route("/incidents/<int:incident_id>/actions", methods=["POST"])
@login_required
def add_action(incident_id: int) -> Response | tuple[str, int]:
    form = forms.ActionForm()
    form.set_choices(_owners(incident_id))
    if form.validate_on_submit():
        try:
            corrective_actions.create_action(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                action=form.to_input(),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Corrective action added.", "success")
            return redirect(url_for("impact.actions", incident_id=incident_id))
    return _actions_page(incident_id, action_form=form, status=422)


@bp.route("/incidents/<int:incident_id>/actions/<int:action_id>/status", methods=["POST"])
@login_required
def action_status(incident_id: int, action_id: int) -> Response | tuple[str, int]:
    form = forms.ActionStatusForm()
    if not form.validate_on_submit():
        return _actions_page(incident_id, status_errors={action_id: "Choose a status."}, status=422)
    try:
        row = corrective_actions.change_status(
            get_session(),
            actor=current_user,
            incident_id=incident_id,
            action_id=action_id,
            change=form.to_change(),
            now=clock.utcnow(),
            store=app_store.current_store(),
        )
    except (ValidationFailed, InvalidTransition) as error:
        return _actions_page(
            incident_id, status_errors={action_id: str(error)}, status=error.status_code
        )
    flash(f"“{row.title}” is now {row.status.label.lower()}.", "success")
    return redirect(url_for("impact.actions", incident_id=incident_id))


@bp.route("/incidents/<int:incident_id>/training", methods=["POST"])
@login_required
def add_training(incident_id: int) -> Response | tuple[str, int]:
    form = forms.TrainingForm()
    if form.validate_on_submit():
        try:
            training.record_training(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                training=form.to_input(),
                attestation=forms.upload_of(form.attestation.data),
                now=clock.utcnow(),
                store=app_store.current_store(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Training recorded.", "success")
            return redirect(url_for("impact.actions", incident_id=incident_id))
    return _actions_page(incident_id, training_form=form, status=422)


# --- across incidents --------------------------------------------------------------------------


@bp.route("/impact")
@capability_required(Capability.VIEW_ALL_INCIDENTS)
def summary() -> tuple[str, int]:
    form = forms.RangeForm(formdata=request.args)
    if not form.validate():
        return render_template("impact/summary.html", form=form, totals=None), 422
    totals = impact_reports.totals(
        get_session(), actor=current_user, date_from=form.date_from.data, date_to=form.date_to.data
    )
    return render_template("impact/summary.html", form=form, totals=totals), 200


@bp.route("/impact.csv")
@capability_required(Capability.VIEW_ALL_INCIDENTS)
def summary_csv() -> Response:
    form = forms.RangeForm(formdata=request.args)
    valid = form.validate()
    text = impact_exports.totals_csv(
        get_session(),
        actor=current_user,
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
        now=clock.utcnow(),
    )
    return _csv(text, "impact-totals.csv")


@bp.route("/impact/settings", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_SETTINGS)
def settings() -> Response | str:
    form = forms.ImpactSettingsForm(obj=get_organisation(get_session()))
    if form.validate_on_submit():
        try:
            impact_settings.update_settings(
                get_session(), actor=current_user, settings=form.to_settings(), now=clock.utcnow()
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("After-the-breach settings saved.", "success")
            return redirect(url_for("impact.settings"))
    return render_template("impact/settings.html", form=form)
