"""Incident pages: list, intake, overview, lifecycle, facts, law-enforcement statements, team.

The casework pages (timeline, tasks, evidence, checklist templates) are routes of the same
blueprint in `casework`.

Thin views: parse the form, call one service, show its message. Access (including the 404 for
non-members) is decided in the services.
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

from incident_app import clock
from incident_app.access import Capability
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.incidents import casework  # noqa: F401 - registers its routes on bp
from incident_app.blueprints.incidents import forms
from incident_app.blueprints.incidents.blueprint import bp
from incident_app.blueprints.incidents.blueprint import today
from incident_app.blueprints.incidents.blueprint import zone
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentStatus
from incident_app.services.incidents import access as incident_access
from incident_app.services.incidents import checklists
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from incident_app.services.incidents import lifecycle
from incident_app.services.incidents import listing as incident_list
from incident_app.services.incidents import statements as le_statements
from incident_app.services.incidents import tasks
from incident_app.services.incidents import team as incident_team
from incident_app.services.incidents import timeline
from incident_app.services.incidents.facts import IncidentFacts

NAV = [
    (10, "Incidents", "incidents.index", None),
    (85, "Checklists", "incidents.checklist_list", Capability.MANAGE_SETTINGS),
]
INCIDENT_TABS = [
    (10, "Overview", "incidents.detail"),
    (20, "Facts", "incidents.facts"),
    (30, "Team", "incidents.team"),
    (40, "Timeline", "incidents.timeline_page"),
    (50, "Tasks", "incidents.task_list"),
    (60, "Evidence", "incidents.evidence_list"),
]


# --- list and intake -----------------------------------------------------------------------


@bp.route("/")
@login_required
def index() -> str:
    form = forms.FilterForm(request.args)
    page = None
    if form.validate():
        try:
            page = incident_list.list_incidents(
                get_session(), actor=current_user, filters=form.to_filters(), today=today()
            )
        except ValidationFailed as error:
            show_on_form(form, error)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("incidents/list.html", form=form, page=page, args=args, today=today())


@bp.route("/new", methods=["GET", "POST"])
@capability_required(Capability.OPEN_INCIDENTS)
def new() -> str | Response:
    form = forms.IntakeForm()
    form.checklists.choices = forms.choices(
        (t.id, t.name) for t in checklists.active_templates(get_session())
    )
    if request.method == "GET":
        form.occurred_zone.data = zone().key
    if form.validate_on_submit():
        statement = form.to_statement()
        try:
            incident = incident_intake.open_incident(
                get_session(),
                actor=current_user,
                facts=form.to_facts(zone()),
                now=clock.utcnow(),
                statements=[statement] if statement else [],
                checklist_ids=form.checklists.data,
                exercise=form.exercise.data,
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            kind = "Exercise" if incident.exercise else "Incident"
            flash(f"{kind} {incident.reference} opened.", "success")
            return redirect(url_for("incidents.detail", incident_id=incident.id))
    return render_template("incidents/new.html", form=form), 422 if form.errors else 200


# --- one incident --------------------------------------------------------------------------


def _overview(incident_id: int, status: int = 200) -> tuple[str, int]:
    session = get_session()
    incident = incident_access.get_incident(session, actor=current_user, incident_id=incident_id)
    form = forms.TransitionForm()
    form.to.choices = forms.choices(
        (s.value, s.label) for s in lifecycle.allowed_transitions(incident)
    )
    return render_template(
        "incidents/detail.html",
        incident=incident,
        transition_form=form,
        can_work=incident_access.can_work_on(session, actor=current_user, incident=incident),
        open_tasks=[
            t
            for t in tasks.tasks_of(session, actor=current_user, incident_id=incident_id)
            if t.status.is_open
        ],
        recent=timeline.entries(session, actor=current_user, incident_id=incident_id)[-8:],
        today=today(),
    ), status


@bp.route("/<int:incident_id>")
@login_required
def detail(incident_id: int) -> tuple[str, int]:
    return _overview(incident_id)


@bp.route("/<int:incident_id>/status", methods=["POST"])
@login_required
def change_status(incident_id: int) -> Response | tuple[str, int]:
    form = forms.TransitionForm()
    if not form.validate_on_submit():
        flash("Choose the status to move to.", "error")
        return _overview(incident_id, 422)
    try:
        incident = lifecycle.transition(
            get_session(),
            actor=current_user,
            incident_id=incident_id,
            to=IncidentStatus(form.to.data),
            reason=form.reason.data or "",
            now=clock.utcnow(),
        )
    except (InvalidTransition, ValidationFailed) as error:
        flash(str(error), "error")
        return _overview(incident_id, error.status_code)
    flash(f"Status is now {incident.status.label}.", "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id))


@bp.route("/<int:incident_id>/facts", methods=["GET", "POST"])
@login_required
def facts(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incident_access.get_incident(session, actor=current_user, incident_id=incident_id)
    form = forms.FactsForm()
    if request.method == "GET":
        form.fill_from(IncidentFacts.of(incident), zone())
    if form.validate_on_submit():
        try:
            changes = incident_facts.update_facts(
                session,
                actor=current_user,
                incident_id=incident_id,
                facts=form.to_facts(zone()),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(
                f"{len(changes)} fact(s) changed. Deadlines recalculated."
                if changes
                else "Nothing changed.",
                "success",
            )
            return redirect(url_for("incidents.facts", incident_id=incident_id))
    return render_template(
        "incidents/facts.html",
        incident=incident,
        form=form,
        le_form=forms.LawEnforcementForm(),
        can_work=incident_access.can_work_on(session, actor=current_user, incident=incident),
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/law-enforcement", methods=["POST"])
@login_required
def add_statement(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incident_access.get_incident(session, actor=current_user, incident_id=incident_id)
    le_form = forms.LawEnforcementForm()
    if le_form.validate_on_submit():
        try:
            le_statements.add_statement(
                session,
                actor=current_user,
                incident_id=incident_id,
                statement=le_form.to_statement(),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(le_form, error)
        else:
            flash("Law-enforcement statement recorded. Deadlines recalculated.", "success")
            return redirect(url_for("incidents.facts", incident_id=incident_id))
    form = forms.FactsForm(formdata=None)
    form.fill_from(IncidentFacts.of(incident), zone())
    return render_template(
        "incidents/facts.html", incident=incident, form=form, le_form=le_form, can_work=True
    ), 422


# --- team ----------------------------------------------------------------------------------


@bp.route("/<int:incident_id>/team", methods=["GET", "POST"])
@login_required
def team(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incident_access.get_incident(session, actor=current_user, incident_id=incident_id)
    form = forms.MemberForm()
    form.user_id.choices = forms.choices(
        (u.id, f"{u.name} ({u.role.label})")
        for u in incident_team.team_candidates(session, actor=current_user, incident_id=incident_id)
    )
    if form.validate_on_submit():
        try:
            member = incident_team.add_member(
                session,
                actor=current_user,
                incident_id=incident_id,
                user_id=form.user_id.data,
                case_role=CaseRole(form.case_role.data),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(f"{member.user.name} is on the team.", "success")
            return redirect(url_for("incidents.team", incident_id=incident_id))
    return render_template(
        "incidents/team.html",
        incident=incident,
        form=form,
        remove_form=forms.ButtonForm(),
        members=incident_team.team(session, actor=current_user, incident_id=incident_id),
        may_manage=incident_team.may_manage_team(session, actor=current_user, incident=incident),
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/team/<int:member_id>/remove", methods=["POST"])
@login_required
def remove_member(incident_id: int, member_id: int) -> Response:
    incident_access.get_incident(get_session(), actor=current_user, incident_id=incident_id)
    if forms.ButtonForm().validate_on_submit():
        try:
            incident_team.remove_member(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                member_id=member_id,
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            flash(str(error), "error")
        else:
            flash("Removed from the team.", "success")
    return redirect(url_for("incidents.team", incident_id=incident_id))
