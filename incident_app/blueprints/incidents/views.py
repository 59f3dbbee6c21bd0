"""Incident pages: list, intake, overview, facts, lifecycle, team, timeline, tasks, evidence.

Thin views: parse the form, call one service, show its message. Access (including the 404 for
non-members) is decided in the services.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import stream_with_context
from flask import url_for
from flask_login import current_user
from flask_login import login_required

from incident_app import app_store
from incident_app import clock
from incident_app.access import Capability
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.incidents import forms
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentStatus
from incident_app.services import evidence
from incident_app.services import options
from incident_app.services.incidents import checklists
from incident_app.services.incidents import core as incidents
from incident_app.services.incidents import listing as incident_list
from incident_app.services.incidents import tasks
from incident_app.services.incidents import timeline
from incident_app.services.incidents.core import IncidentFacts

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
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


def _zone() -> ZoneInfo:
    if "org_zone" not in g:
        g.org_zone = incidents.org_zone(get_session())
    return g.org_zone


@bp.context_processor
def _helpers() -> dict[str, object]:
    def local_time(value: datetime | None) -> str:
        """A UTC timestamp in the organisation's zone, with the zone's abbreviation."""
        return value.astimezone(_zone()).strftime("%Y-%m-%d %H:%M %Z") if value else ""

    return {
        "local_time": local_time,
        "ocr_labels": options.labels,
        "state_names": options.state_names(),
        "zone_name": _zone().key,
    }


def _today():  # noqa: ANN202 - a date
    return clock.utcnow().astimezone(_zone()).date()


# --- list and intake -----------------------------------------------------------------------


@bp.route("/")
@login_required
def index() -> str:
    form = forms.FilterForm(request.args)
    page = None
    if form.validate():
        try:
            page = incident_list.list_incidents(
                get_session(), actor=current_user, filters=form.to_filters(), today=_today()
            )
        except ValidationFailed as error:
            show_on_form(form, error)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("incidents/list.html", form=form, page=page, args=args, today=_today())


@bp.route("/new", methods=["GET", "POST"])
@capability_required(Capability.OPEN_INCIDENTS)
def new() -> str | Response:
    form = forms.IntakeForm()
    form.checklists.choices = forms.choices(
        (t.id, t.name) for t in checklists.active_templates(get_session())
    )
    if request.method == "GET":
        form.occurred_zone.data = _zone().key
    if form.validate_on_submit():
        statement = form.to_statement()
        try:
            incident = incidents.open_incident(
                get_session(),
                actor=current_user,
                facts=form.to_facts(),
                now=clock.utcnow(),
                statements=[statement] if statement else [],
                checklist_ids=form.checklists.data,
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(f"Incident {incident.reference} opened.", "success")
            return redirect(url_for("incidents.detail", incident_id=incident.id))
    return render_template("incidents/new.html", form=form), 422 if form.errors else 200


# --- one incident --------------------------------------------------------------------------


def _overview(incident_id: int, status: int = 200) -> tuple[str, int]:
    session = get_session()
    incident = incidents.get_incident(session, actor=current_user, incident_id=incident_id)
    form = forms.TransitionForm()
    form.to.choices = forms.choices(
        (s.value, s.label) for s in incidents.allowed_transitions(incident)
    )
    return render_template(
        "incidents/detail.html",
        incident=incident,
        transition_form=form,
        can_work=incidents.may_work_on(session, actor=current_user, incident=incident),
        open_tasks=[
            t
            for t in tasks.tasks_of(session, actor=current_user, incident_id=incident_id)
            if t.status.is_open
        ],
        recent=timeline.entries(session, actor=current_user, incident_id=incident_id)[-8:],
        today=_today(),
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
        incident = incidents.transition(
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
    incident = incidents.get_incident(session, actor=current_user, incident_id=incident_id)
    form = forms.FactsForm()
    if request.method == "GET":
        form.fill_from(IncidentFacts.of(incident), _zone())
    if form.validate_on_submit():
        try:
            changes = incidents.update_facts(
                session,
                actor=current_user,
                incident_id=incident_id,
                facts=form.to_facts(),
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
        can_work=incidents.may_work_on(session, actor=current_user, incident=incident),
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/law-enforcement", methods=["POST"])
@login_required
def add_statement(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incidents.get_incident(session, actor=current_user, incident_id=incident_id)
    le_form = forms.LawEnforcementForm()
    if le_form.validate_on_submit():
        try:
            incidents.add_statement(
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
    form.fill_from(IncidentFacts.of(incident), _zone())
    return render_template(
        "incidents/facts.html", incident=incident, form=form, le_form=le_form, can_work=True
    ), 422


# --- team ----------------------------------------------------------------------------------


@bp.route("/<int:incident_id>/team", methods=["GET", "POST"])
@login_required
def team(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incidents.get_incident(session, actor=current_user, incident_id=incident_id)
    form = forms.MemberForm()
    form.user_id.choices = forms.choices(
        (u.id, f"{u.name} ({u.role.label})")
        for u in incidents.team_candidates(session, actor=current_user, incident_id=incident_id)
    )
    if form.validate_on_submit():
        try:
            member = incidents.add_member(
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
        members=incidents.team(session, actor=current_user, incident_id=incident_id),
        may_manage=incidents.may_manage_team(session, actor=current_user, incident=incident),
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/team/<int:member_id>/remove", methods=["POST"])
@login_required
def remove_member(incident_id: int, member_id: int) -> Response:
    incidents.get_incident(get_session(), actor=current_user, incident_id=incident_id)
    if forms.ButtonForm().validate_on_submit():
        try:
            incidents.remove_member(
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


# --- timeline ------------------------------------------------------------------------------


def _action_form_defaults(form: forms.ActionForm) -> None:
    if request.method == "GET":
        form.occurred_at.data = (
            clock.utcnow().astimezone(_zone()).replace(tzinfo=None, second=0, microsecond=0)
        )


@bp.route("/<int:incident_id>/timeline", methods=["GET", "POST"])
@login_required
def timeline_page(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incidents.get_incident(session, actor=current_user, incident_id=incident_id)
    form = forms.ActionForm()
    _action_form_defaults(form)
    if form.validate_on_submit():
        try:
            timeline.log_action(
                session,
                actor=current_user,
                incident_id=incident_id,
                action=form.to_action(_zone()),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Action logged.", "success")
            return redirect(url_for("incidents.timeline_page", incident_id=incident_id))
    return render_template(
        "incidents/timeline.html",
        incident=incident,
        form=form,
        items=timeline.entries(session, actor=current_user, incident_id=incident_id),
        can_work=incidents.may_work_on(session, actor=current_user, incident=incident),
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/timeline/<int:entry_id>/correct", methods=["GET", "POST"])
@login_required
def correct_entry(incident_id: int, entry_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incidents.get_incident(session, actor=current_user, incident_id=incident_id)
    old = timeline.get_action(
        session, actor=current_user, incident_id=incident_id, entry_id=entry_id
    )
    form = forms.ActionForm(
        data={
            "occurred_at": old.occurred_at.astimezone(_zone()).replace(tzinfo=None),
            "category": old.category.value if old.category else "other",
            "text": old.text,
        }
    )
    if form.validate_on_submit():
        try:
            timeline.log_action(
                session,
                actor=current_user,
                incident_id=incident_id,
                action=form.to_action(_zone()),
                now=clock.utcnow(),
                corrects_id=entry_id,
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Correction logged; the old entry is shown struck through.", "success")
            return redirect(url_for("incidents.timeline_page", incident_id=incident_id))
    return render_template(
        "incidents/correct.html", incident=incident, form=form, old=old
    ), 422 if form.errors else 200


# --- tasks ---------------------------------------------------------------------------------


def _task_form(incident_id: int, **kwargs: object) -> forms.TaskForm:
    form = forms.TaskForm(**kwargs)
    members = incidents.team(get_session(), actor=current_user, incident_id=incident_id)
    form.assignee_id.choices = forms.choices(
        [("", "Unassigned")]
        + [(m.user_id, f"{m.user.name} ({m.case_role.label})") for m in members]
    )
    return form


@bp.route("/<int:incident_id>/tasks", methods=["GET", "POST"])
@login_required
def task_list(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incidents.get_incident(session, actor=current_user, incident_id=incident_id)
    form = _task_form(incident_id)
    if form.validate_on_submit():
        try:
            tasks.create_task(
                session,
                actor=current_user,
                incident_id=incident_id,
                task=form.to_task(),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Task added.", "success")
            return redirect(url_for("incidents.task_list", incident_id=incident_id))
    return render_template(
        "incidents/tasks.html",
        incident=incident,
        form=form,
        done_form=forms.ButtonForm(),
        tasks=tasks.tasks_of(session, actor=current_user, incident_id=incident_id),
        can_work=incidents.may_work_on(session, actor=current_user, incident=incident),
        today=_today(),
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_edit(incident_id: int, task_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incidents.get_incident(session, actor=current_user, incident_id=incident_id)
    task = tasks.get_task(session, actor=current_user, incident_id=incident_id, task_id=task_id)
    form = _task_form(incident_id, obj=task)
    if form.validate_on_submit():
        try:
            tasks.update_task(
                session,
                actor=current_user,
                incident_id=incident_id,
                task_id=task_id,
                task=form.to_task(),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Task saved.", "success")
            return redirect(url_for("incidents.task_list", incident_id=incident_id))
    return render_template(
        "incidents/task_edit.html", incident=incident, task=task, form=form
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/tasks/<int:task_id>/done", methods=["POST"])
@login_required
def task_done(incident_id: int, task_id: int) -> Response:
    session = get_session()
    task = tasks.get_task(session, actor=current_user, incident_id=incident_id, task_id=task_id)
    if forms.ButtonForm().validate_on_submit():
        tasks.update_task(
            session,
            actor=current_user,
            incident_id=incident_id,
            task_id=task_id,
            task=tasks.TaskInput(
                title=task.title,
                assignee_id=task.assignee_id,
                due_on=task.due_on,
                notes=task.notes,
                status=tasks.TaskStatus.DONE,
            ),
            now=clock.utcnow(),
        )
        flash(f"Task completed: {task.title}", "success")
    return redirect(url_for("incidents.task_list", incident_id=incident_id))


# --- evidence ------------------------------------------------------------------------------


def _evidence_limit() -> int:
    return int(
        current_app.config.get("EVIDENCE_MAX_BYTES") or current_app.config["MAX_CONTENT_LENGTH"]
    )


@bp.route("/<int:incident_id>/evidence", methods=["GET", "POST"])
@login_required
def evidence_list(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incidents.get_incident(session, actor=current_user, incident_id=incident_id)
    form = forms.EvidenceForm()
    if form.validate_on_submit():
        upload = evidence.Upload(
            filename=form.file.data.filename or "", stream=form.file.data.stream
        )
        try:
            result = evidence.upload_evidence(
                session,
                actor=current_user,
                incident_id=incident_id,
                upload=upload,
                description=form.description.data or "",
                now=clock.utcnow(),
                store=app_store.current_store(),
                max_bytes=_evidence_limit(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(
                f"{result.evidence.filename} is already on this incident (same SHA-256); "
                "the upload was logged."
                if result.duplicate
                else f"{result.evidence.filename} added.",
                "success",
            )
            return redirect(url_for("incidents.evidence_list", incident_id=incident_id))
    return render_template(
        "incidents/evidence.html",
        incident=incident,
        form=form,
        files=evidence.evidence_of(session, actor=current_user, incident_id=incident_id),
        can_work=incidents.may_work_on(session, actor=current_user, incident=incident),
        limit_mb=_evidence_limit() / 1024 / 1024,
        allowed=sorted(evidence.ALLOWED),
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/evidence/<int:evidence_id>/download")
@login_required
def evidence_download(incident_id: int, evidence_id: int) -> Response:
    item, chunks = evidence.open_download(
        get_session(),
        actor=current_user,
        incident_id=incident_id,
        evidence_id=evidence_id,
        now=clock.utcnow(),
        store=app_store.current_store(),
    )
    response = Response(stream_with_context(chunks), mimetype=item.content_type)
    fallback = item.filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(item.filename)}"
    )
    response.headers["Content-Length"] = str(item.size_bytes)
    return response


# --- checklist templates (admins) ----------------------------------------------------------


@bp.route("/checklists")
@capability_required(Capability.MANAGE_SETTINGS)
def checklist_list() -> str:
    return render_template(
        "incidents/checklists.html",
        templates=checklists.list_templates(get_session(), actor=current_user),
    )


@bp.route("/checklists/new", methods=["GET", "POST"], defaults={"template_id": None})
@bp.route("/checklists/<int:template_id>", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_SETTINGS)
def checklist_edit(template_id: int | None) -> str | Response | tuple[str, int]:
    session = get_session()
    template = (
        checklists.get_template(session, actor=current_user, template_id=template_id)
        if template_id
        else None
    )
    form = forms.TemplateForm()
    if request.method == "GET" and template is not None:
        form.process(
            data={
                "name": template.name,
                "breach_types": template.breach_types,
                "items": forms.items_text(template.items),
                "active": template.active,
            }
        )
    if form.validate_on_submit():
        try:
            saved = checklists.save_template(
                session,
                actor=current_user,
                template_id=template_id,
                values=form.to_template(),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(f"Checklist “{saved.name}” saved.", "success")
            return redirect(url_for("incidents.checklist_list"))
    return render_template(
        "incidents/checklist_edit.html", form=form, template=template
    ), 422 if form.errors else 200
