"""The Letters tab: generate letters per obligation, legal review, downloads, proof of notice.

Thin views: one service call each. Letters hold PHI: every view and download is audited by the
services. Rendering happens in the service (letters/render.py); views never import WeasyPrint.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import Blueprint
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
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.letters import forms
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.letters import LetterRenderError
from incident_app.letters.raster import PreviewUnavailable
from incident_app.models.letter import Letter
from incident_app.services.letters import access as letter_access
from incident_app.services.letters import generation
from incident_app.services.letters import notice_wording
from incident_app.services.letters import notices
from incident_app.services.letters import prepare
from incident_app.services.letters import preview
from incident_app.services.letters import proofs
from incident_app.services.letters import reading
from incident_app.services.letters import review
from incident_app.services.letters import revision
from incident_app.services.letters.context import ADDRESSED_TEMPLATES
from incident_app.services.letters.review import LetterIntegrityFailed

bp = Blueprint("letters", __name__, url_prefix="/incidents/<int:incident_id>/letters")
INCIDENT_TABS = [(47, "Letters", "letters.index")]
PDF_TYPE = "application/pdf"


@bp.before_request
def _incident_visible() -> None:
    """Every letters URL answers 404 to a non-member first, whatever the form holds."""
    if current_user.is_authenticated and request.view_args:
        letter_access.require_visible(
            get_session(), actor=current_user, incident_id=request.view_args["incident_id"]
        )


def _back(incident_id: int, letter_id: int | None = None) -> Response:
    if letter_id is None:
        return redirect(url_for("letters.index", incident_id=incident_id))
    return redirect(url_for("letters.detail", incident_id=incident_id, letter_id=letter_id))


def _attachment(data: bytes, name: str, mimetype: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/")
@login_required
def index(incident_id: int) -> str:
    incident, groups = reading.letters_overview(
        get_session(), actor=current_user, incident_id=incident_id
    )
    return render_template(
        "letters/index.html",
        incident=incident,
        groups=groups,
        notice_rows=notices.notices_of(get_session(), incident),
        form=forms.GenerateForm(),
        addressed=ADDRESSED_TEMPLATES,
    )


@bp.route("/generate", methods=["POST"])
@login_required
def generate(incident_id: int) -> Response:
    form = forms.GenerateForm()
    if not form.validate_on_submit():
        flash("Choose an obligation and a letter.", "error")
        return _back(incident_id)
    try:
        letter = generation.generate(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            request=form.to_request(),
            store=app_store.current_store(),
        )
    except (ValidationFailed, InvalidTransition, LetterRenderError) as error:
        flash(f"Nothing was generated: {error}", "error")
        return _back(incident_id)
    flash(f"Letter {letter.document_id} generated.", "success")
    return _back(incident_id, letter.id)


@bp.route("/prepare", methods=["POST"])
@login_required
def prepare_roster(incident_id: int) -> Response:
    """Generate every individual-notice variant the roster needs; one review request."""
    if not forms.ButtonForm().validate_on_submit():
        return _back(incident_id)
    try:
        prepared = prepare.prepare_roster_letters(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            store=app_store.current_store(),
            email_base_url=_email_base_url(),
        )
    except (ValidationFailed, InvalidTransition, LetterRenderError) as error:
        flash(f"Nothing was prepared: {error}", "error")
    else:
        flash(prepare.summary(prepared), "success")
    return _back(incident_id)


@bp.route("/wording", methods=["GET", "POST"])
@login_required
def wording(incident_id: int) -> str | Response:
    incident, current = notice_wording.wording_of(
        get_session(), actor=current_user, incident_id=incident_id
    )
    form = forms.WordingForm()
    if form.validate_on_submit():
        try:
            notice_wording.save_wording(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                values=form.data,
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(
                "Notice wording saved. Letters printed from the old wording must be "
                "generated again.",
                "success",
            )
            return _back(incident_id)
    elif not form.is_submitted():
        form.fill_from(current)
    return render_template("letters/wording.html", incident=incident, form=form)


def _email_base_url() -> str | None:
    """Where links in emails point, or None when no mail server is configured (in-app only)."""
    if not current_app.config.get("SMTP_HOST"):
        return None
    return str(current_app.config["APP_BASE_URL"])


@bp.route("/<int:letter_id>")
@login_required
def detail(incident_id: int, letter_id: int) -> str:
    page = reading.letter_page(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        letter_id=letter_id,
        store=app_store.current_store(),
    )
    submit_form = forms.SubmitForm()
    submit_form.set_reviewers(page.reviewer_choices, page.suggested_reviewer)
    rows = [
        row
        for row in notices.notices_of(get_session(), page.letter.incident)
        if row.notice.letter_id == letter_id
    ]
    return render_template(
        "letters/detail.html",
        incident=page.letter.incident,
        page=page,
        notice_rows=rows,
        button=forms.ButtonForm(),
        submit_form=submit_form,
        approve_form=forms.ApproveForm(),
        confirm_length=review.CONFIRM_PREFIX,
        changes_form=forms.ChangesForm(),
        sent_form=forms.SentForm(),
        proof_form=forms.ProofForm(),
    )


def _review_step(
    incident_id: int, letter_id: int, action: Callable[..., object], message: str
) -> Response:
    try:
        action(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            letter_id=letter_id,
        )
    except (ValidationFailed, InvalidTransition, LetterIntegrityFailed) as error:
        flash(str(error), "error")
    else:
        flash(message, "success")
    return _back(incident_id, letter_id)


@bp.route("/<int:letter_id>/submit", methods=["POST"])
@login_required
def submit(incident_id: int, letter_id: int) -> Response:
    form = forms.SubmitForm()
    if not form.validate_on_submit():
        return _back(incident_id, letter_id)
    return _review_step(
        incident_id,
        letter_id,
        partial(
            review.submit_for_review,
            reviewer_id=form.chosen(),
            email_base_url=_email_base_url(),
        ),
        "Sent to legal review.",
    )


@bp.route("/<int:letter_id>/approve", methods=["POST"])
@login_required
def approve(incident_id: int, letter_id: int) -> Response:
    form = forms.ApproveForm()
    if not form.validate_on_submit():
        return _back(incident_id, letter_id)
    return _review_step(
        incident_id,
        letter_id,
        partial(
            review.approve,
            store=app_store.current_store(),
            expected_sha256=form.expected_sha256.data or "",
        ),
        "Approved. The approval is bound to this version's SHA-256.",
    )


@bp.route("/<int:letter_id>/revise", methods=["GET", "POST"])
@login_required
def revise(incident_id: int, letter_id: int) -> str | Response:
    """Edit the wording, regenerate, and send the new version to the same reviewer."""
    ids = {"incident_id": incident_id, "letter_id": letter_id}
    page = revision.revision_page(get_session(), actor=current_user, now=clock.utcnow(), **ids)
    form = forms.WordingForm()
    if form.validate_on_submit():
        try:
            letter = revision.revise(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                wording=form.data,
                store=app_store.current_store(),
                email_base_url=_email_base_url(),
                **ids,
            )
        except (ValidationFailed, InvalidTransition, LetterRenderError) as error:
            show_on_form(form, error)
        else:
            flash(_sent_message(letter), "success")
            return _back(incident_id, letter_id)
    elif not form.is_submitted():
        form.fill_from(page.wording)
    return render_template(
        "letters/revise.html", incident=page.letter.incident, page=page, form=form
    )


def _sent_message(letter: Letter) -> str:
    version = letter.current_version.number if letter.current_version else "?"
    who = letter.reviewer.name if letter.reviewer else "legal review"
    return f"Version {version} generated and sent to {who}."


@bp.route("/<int:letter_id>/versions/<int:version_id>/pages/<int:number>.png")
@login_required
def page_image(incident_id: int, letter_id: int, version_id: int, number: int) -> Response:
    try:
        image = preview.page_image(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            letter_id=letter_id,
            version_id=version_id,
            page=number,
            store=app_store.current_store(),
        )
    except PreviewUnavailable as error:
        return Response(str(error), status=404, mimetype="text/plain")
    except LetterIntegrityFailed as error:
        return Response(str(error), status=409, mimetype="text/plain")
    return Response(image, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.route("/<int:letter_id>/changes", methods=["POST"])
@login_required
def request_changes(incident_id: int, letter_id: int) -> Response:
    form = forms.ChangesForm()
    if not form.validate_on_submit():
        flash("Say what has to change.", "error")
        return _back(incident_id, letter_id)
    try:
        review.request_changes(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            letter_id=letter_id,
            comment=form.comment.data,
        )
    except (ValidationFailed, InvalidTransition) as error:
        flash(str(error), "error")
    else:
        flash("Changes requested.", "success")
    return _back(incident_id, letter_id)


@bp.route("/<int:letter_id>/sent", methods=["POST"])
@login_required
def mark_sent(incident_id: int, letter_id: int) -> Response:
    form = forms.SentForm()
    if not form.validate_on_submit():
        flash("Enter the method and a valid sent date.", "error")
        return _back(incident_id, letter_id)
    try:
        notices.mark_sent(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            letter_id=letter_id,
            notice=form.to_notice(),
        )
    except (ValidationFailed, InvalidTransition) as error:
        flash(f"Not recorded: {error}", "error")
    else:
        flash("Notice recorded as sent.", "success")
    return _back(incident_id, letter_id)


@bp.route("/<int:letter_id>/versions/<int:version_id>.pdf")
@login_required
def download(incident_id: int, letter_id: int, version_id: int) -> Response:
    try:
        name, data = reading.download(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            letter_id=letter_id,
            version_id=version_id,
            store=app_store.current_store(),
        )
    except LetterIntegrityFailed as error:
        flash(str(error), "error")
        return _back(incident_id, letter_id)
    return _attachment(data, name, PDF_TYPE)


@bp.route("/<int:letter_id>/compare")
@login_required
def compare(incident_id: int, letter_id: int) -> str | Response:
    try:
        comparison = reading.compare(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            letter_id=letter_id,
            store=app_store.current_store(),
        )
    except (InvalidTransition, LetterIntegrityFailed) as error:
        flash(str(error), "error")
        return _back(incident_id, letter_id)
    return render_template(
        "letters/compare.html", incident=comparison.letter.incident, comparison=comparison
    )


@bp.route("/<int:letter_id>/hhs.json")
@login_required
def hhs_json(incident_id: int, letter_id: int) -> Response:
    text = reading.hhs_json(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        letter_id=letter_id,
    )
    return _attachment(text.encode("utf-8"), f"hhs-portal-{letter_id}.json", "application/json")


@bp.route("/<int:letter_id>/notices/<int:notice_id>/proofs", methods=["POST"])
@login_required
def attach_proof(incident_id: int, letter_id: int, notice_id: int) -> Response:
    form = forms.ProofForm()
    if not form.validate_on_submit():
        flash("Choose a proof file.", "error")
        return _back(incident_id, letter_id)
    try:
        proofs.attach_proof(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            notice_id=notice_id,
            upload=form.to_upload(),
            store=app_store.current_store(),
        )
    except ValidationFailed as error:
        flash(str(error), "error")
    else:
        flash("Proof attached.", "success")
    return _back(incident_id, letter_id)


@bp.route("/proofs/<int:proof_id>")
@login_required
def proof(incident_id: int, proof_id: int) -> Response:
    try:
        row, data = proofs.open_proof(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            proof_id=proof_id,
            store=app_store.current_store(),
        )
    except LetterIntegrityFailed as error:
        flash(str(error), "error")
        return _back(incident_id)
    return _attachment(data, row.filename, "application/octet-stream")
