"""Casework pages of an incident: the timeline of actions, tasks and evidence; and the
checklist templates (admins) that tasks are seeded from. Routes of the incidents blueprint.
"""

from __future__ import annotations

from flask import Response
from flask import current_app
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
from incident_app.blueprints._downloads import download
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.incidents import forms
from incident_app.blueprints.incidents.blueprint import bp
from incident_app.blueprints.incidents.blueprint import today
from incident_app.blueprints.incidents.blueprint import zone
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.services import evidence
from incident_app.services.incidents import access as incident_access
from incident_app.services.incidents import checklists
from incident_app.services.incidents import tasks
from incident_app.services.incidents import team as incident_team
from incident_app.services.incidents import timeline

# --- timeline ------------------------------------------------------------------------------


def _action_form_defaults(form: forms.ActionForm) -> None:
    if request.method == "GET":
        form.occurred_at.data = (
            clock.utcnow().astimezone(zone()).replace(tzinfo=None, second=0, microsecond=0)
        )


@bp.route("/<int:incident_id>/timeline", methods=["GET", "POST"])
@login_required
def timeline_page(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incident_access.get_incident(session, actor=current_user, incident_id=incident_id)
    form = forms.ActionForm()
    _action_form_defaults(form)
    if form.validate_on_submit():
        try:
            timeline.log_action(
                session,
                actor=current_user,
                incident_id=incident_id,
                action=form.to_action(zone()),
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
        can_work=incident_access.can_work_on(session, actor=current_user, incident=incident),
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/timeline/<int:entry_id>/correct", methods=["GET", "POST"])
@login_required
def correct_entry(incident_id: int, entry_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incident_access.get_incident(session, actor=current_user, incident_id=incident_id)
    old = timeline.get_action(
        session, actor=current_user, incident_id=incident_id, entry_id=entry_id
    )
    form = forms.ActionForm(
        data={
            "occurred_at": old.occurred_at.astimezone(zone()).replace(tzinfo=None),
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
                action=form.to_action(zone()),
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
    members = incident_team.team(get_session(), actor=current_user, incident_id=incident_id)
    form.assignee_id.choices = forms.choices(
        [("", "Unassigned")]
        + [(m.user_id, f"{m.user.name} ({m.case_role.label})") for m in members]
    )
    return form


@bp.route("/<int:incident_id>/tasks", methods=["GET", "POST"])
@login_required
def task_list(incident_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incident_access.get_incident(session, actor=current_user, incident_id=incident_id)
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
        can_work=incident_access.can_work_on(session, actor=current_user, incident=incident),
        today=today(),
    ), 422 if form.errors else 200


@bp.route("/<int:incident_id>/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_edit(incident_id: int, task_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    incident = incident_access.get_incident(session, actor=current_user, incident_id=incident_id)
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
    incident = incident_access.get_incident(session, actor=current_user, incident_id=incident_id)
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
        can_work=incident_access.can_work_on(session, actor=current_user, incident=incident),
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
    # The stored file is verified as it is read and needs no database: sent as it comes,
    # after the session is closed (issue 18).
    return download(
        chunks,
        content_type=item.content_type,
        filename=item.filename,
        gather=False,
        size=item.size_bytes,
    )


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
