"""The Roster tab: upload and map a CSV, follow the import, per-state counts, people,
notice tracking, returned mail, exports. Imports run in the worker, never here."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from incident_app import app_store
from incident_app import clock
from incident_app.blueprints._downloads import csv_download
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.roster import forms
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.extensions import csrf
from incident_app.models.roster import ImportMode
from incident_app.services.enrolment import reading as enrolment_reading
from incident_app.services.letters.review import LetterIntegrityFailed
from incident_app.services.mail_merge import downloads as mail_downloads
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import exports as roster_exports
from incident_app.services.roster import history as roster_history
from incident_app.services.roster import people as roster_people
from incident_app.services.roster import returns as roster_returns
from incident_app.services.roster import upload as roster_upload
from incident_app.services.roster.columns import COLUMNS

bp = Blueprint("roster", __name__, url_prefix="/incidents/<int:incident_id>/roster")
INCIDENT_TABS = [(35, "Roster", "roster.overview")]
MULTIPART_ALLOWANCE = 64 * 1024  # form fields and multipart framing around the file


def _max_bytes() -> int:
    return current_app.config["ROSTER_MAX_MB"] * 1024 * 1024


def _download(chunks: Iterable[str] | Iterable[bytes], name: str) -> Response:
    """Gathered, the session closed, then sent (issue 18); UTF-8 with a BOM."""
    return csv_download(chunks, name)


def _overview_page(
    incident_id: int,
    *,
    upload_form: forms.UploadForm | None = None,
    returns_form: forms.ReturnsForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    view = roster_counts.overview(get_session(), actor=current_user, incident_id=incident_id)
    return render_template(
        "roster/overview.html",
        incident=view.incident,
        view=view,
        columns=COLUMNS,
        # Blank forms never read this request's body (it may be an oversized upload).
        upload_form=upload_form or forms.UploadForm(formdata=None),
        button=forms.ButtonForm(formdata=None),
        returns_form=returns_form or forms.ReturnsForm(formdata=None),
        threshold=roster_counts.MEDIA_THRESHOLD,
        max_mb=current_app.config["ROSTER_MAX_MB"],
    ), status


@bp.route("/")
@login_required
def overview(incident_id: int) -> tuple[str, int]:
    return _overview_page(incident_id)


def _too_large(incident_id: int, size: int | None) -> tuple[str, int]:
    form = forms.UploadForm(formdata=None)
    form.file.errors = [roster_upload.too_large_message(size, _max_bytes())]
    return _overview_page(incident_id, upload_form=form, status=413)


# The app-wide CSRF hook would parse this body under MAX_UPLOAD_MB (25) before the view could
# raise the limit to ROSTER_MAX_MB; the UploadForm checks the CSRF token itself instead (a
# FlaskForm refuses a missing or wrong token), after the session rules have run.
@csrf.exempt
@bp.route("/imports", methods=["POST"])
@login_required
def upload(incident_id: int) -> Response | tuple[str, int]:
    # Refuse an oversized upload from its Content-Length, before reading the body.
    if (request.content_length or 0) > _max_bytes() + MULTIPART_ALLOWANCE:
        return _too_large(incident_id, request.content_length or 0)
    # Werkzeug spools the file part to a temporary file on disk (never all in memory) and
    # stops a body without Content-Length (chunked) at the same limit.
    request.max_content_length = _max_bytes() + MULTIPART_ALLOWANCE
    try:
        form = forms.UploadForm()
        submitted = form.validate_on_submit()
    except RequestEntityTooLarge:
        return _too_large(incident_id, None)
    if form.csrf_token.errors:
        raise CSRFError(form.csrf_token.errors[0])  # the app's "Form expired" page
    if submitted:
        try:
            record = roster_upload.create_import(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                upload=form.file.data.stream,
                filename=form.file.data.filename or "",
                mode=ImportMode(form.mode.data),
                store=app_store.current_store(),
                max_bytes=_max_bytes(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            return redirect(
                url_for("roster.import_page", incident_id=incident_id, import_id=record.id)
            )
    return _overview_page(incident_id, upload_form=form, status=422)


def _import_page(
    incident_id: int, import_id: int, mapping: forms.MappingForm | None = None, status: int = 200
) -> tuple[str, int]:
    record = roster_access.get_import(
        get_session(), actor=current_user, incident_id=incident_id, import_id=import_id
    )
    incident = roster_access.get_readable(
        get_session(), actor=current_user, incident_id=incident_id
    )
    form = mapping or forms.mapping_form(record.headers, record.mapping)
    return render_template(
        "roster/import.html",
        incident=incident,
        record=record,
        mapping_form=form,
        columns=COLUMNS,
        button=forms.ButtonForm(),
    ), status


@bp.route("/imports/<int:import_id>")
@login_required
def import_page(incident_id: int, import_id: int) -> tuple[str, int]:
    return _import_page(incident_id, import_id)


@bp.route("/imports/<int:import_id>/mapping", methods=["POST"])
@login_required
def import_mapping(incident_id: int, import_id: int) -> Response | tuple[str, int]:
    record = roster_access.get_import(
        get_session(), actor=current_user, incident_id=incident_id, import_id=import_id
    )
    form = forms.mapping_form(record.headers, record.mapping)
    if form.validate_on_submit():
        try:
            roster_upload.confirm_mapping(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                import_id=import_id,
                mapping=form.to_mapping(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Columns saved; the import is queued.", "success")
            return redirect(
                url_for("roster.import_page", incident_id=incident_id, import_id=import_id)
            )
    return _import_page(incident_id, import_id, mapping=form, status=422)


@bp.route("/imports/<int:import_id>/cancel", methods=["POST"])
@login_required
def import_cancel(incident_id: int, import_id: int) -> Response:
    if not forms.ButtonForm().validate_on_submit():
        abort(400)
    try:
        roster_upload.cancel_import(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            import_id=import_id,
        )
    except InvalidTransition as error:
        flash(str(error), "error")
    else:
        flash("Import cancelled; nothing was imported.", "success")
    return redirect(url_for("roster.import_page", incident_id=incident_id, import_id=import_id))


@bp.route("/imports/<int:import_id>/progress")
@login_required
def import_progress(incident_id: int, import_id: int) -> Response:
    return jsonify(
        roster_counts.progress(
            get_session(), actor=current_user, incident_id=incident_id, import_id=import_id
        )
    )


@bp.route("/imports/<int:import_id>/report.csv")
@login_required
def import_report(incident_id: int, import_id: int) -> Response:
    chunks = roster_exports.import_report(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        import_id=import_id,
        store=app_store.current_store(),
    )
    return _download(chunks, f"roster-import-{import_id}-report.csv")


@bp.route("/export", methods=["POST"])
@login_required
def export(incident_id: int) -> Response:
    if not forms.ButtonForm().validate_on_submit():
        abort(400)
    lines = roster_exports.export_roster(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        keyring=app_store.current_keyring(),
    )
    return _download(lines, f"roster-incident-{incident_id}.csv")


@bp.route("/people")
@login_required
def people(incident_id: int) -> str:
    incident = roster_access.get_readable(
        get_session(), actor=current_user, incident_id=incident_id
    )
    query = request.args.get("external_id", "").strip()
    page = roster_people.list_people(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        keyring=app_store.current_keyring(),
        page=request.args.get("page", 1, type=int),
        external_id=query,
    )
    return render_template(
        "roster/people.html",
        incident=incident,
        page=page,
        query=query,
        remail=roster_history.remail_pending(get_session(), page.people),
    )


def _person_page(
    incident_id: int, person_id: int, form: forms.NoticeForm | None = None, status: int = 200
) -> tuple[str, int]:
    who = {
        "actor": current_user,
        "now": clock.utcnow(),
        "incident_id": incident_id,
        "person_id": person_id,
        "keyring": app_store.current_keyring(),
    }
    record = roster_people.view_person(get_session(), **who)
    incident = roster_access.get_readable(
        get_session(), actor=current_user, incident_id=incident_id
    )
    # Issue 23: the person's identity-protection code (its own audited read).
    enrollment = enrolment_reading.person_code(get_session(), **who)
    story = roster_history.person_history(
        get_session(), actor=current_user, incident_id=incident_id, person_id=person_id
    )
    form = form or forms.NoticeForm(
        status=record.person.notice_status.value,
        method=record.person.notice_method or "",
        notice_on=record.person.notice_on,
    )
    return render_template(
        "roster/person.html",
        incident=incident,
        record=record,
        enrollment=enrollment,
        story=story,
        form=form,
        can_change=roster_access.can_change(get_session(), actor=current_user, incident=incident),
    ), status


@bp.route("/people/<int:person_id>")
@login_required
def person(incident_id: int, person_id: int) -> tuple[str, int]:
    return _person_page(incident_id, person_id)


@bp.route("/people/<int:person_id>/letter.pdf")
@login_required
def person_letter(incident_id: int, person_id: int) -> Response:
    """The person's latest printed letter, as the mailing stored it (audited)."""
    try:
        name, data = mail_downloads.person_letter(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            person_id=person_id,
            store=app_store.current_store(),
        )
    except (mail_downloads.NoLetterYet, LetterIntegrityFailed) as error:
        flash(str(error), "error")
        return redirect(url_for("roster.person", incident_id=incident_id, person_id=person_id))
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, mimetype="application/pdf", headers=headers)


@bp.route("/people/<int:person_id>/notice", methods=["POST"])
@login_required
def person_notice(incident_id: int, person_id: int) -> Response | tuple[str, int]:
    form = forms.NoticeForm()
    if form.validate_on_submit():
        status, method = form.to_values()
        try:
            roster_people.set_notice_status(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                person_id=person_id,
                status=status,
                method=method,
                on=form.notice_on.data,
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(f"Notice status: {status.label}. Counts updated.", "success")
            return redirect(url_for("roster.person", incident_id=incident_id, person_id=person_id))
    return _person_page(incident_id, person_id, form=form, status=422)


@bp.route("/returns", methods=["POST"])
@login_required
def returns(incident_id: int) -> Response | tuple[str, int]:
    form = forms.ReturnsForm()
    if form.validate_on_submit():
        try:
            result = roster_returns.import_returns(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                upload=form.file.data.stream,
                keyring=app_store.current_keyring(),
                max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(roster_returns.returns_message(result), "success")
            return redirect(url_for("roster.overview", incident_id=incident_id))
    return _overview_page(incident_id, returns_form=form, status=422)
