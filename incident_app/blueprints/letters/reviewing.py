"""Legal review of a letter: send to review, approve (one letter, or the prepared set
together), request changes, edit-and-regenerate to the same reviewer, and the page images the
reviewer reads. Routes of the letters blueprint (registered by importing this module in views).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import Response
from flask import flash
from flask import render_template
from flask import request
from flask_login import current_user
from flask_login import login_required

from incident_app import app_store
from incident_app import clock
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.letters import forms
from incident_app.blueprints.letters.blueprint import back as _back
from incident_app.blueprints.letters.blueprint import bp
from incident_app.blueprints.letters.blueprint import email_base_url as _email_base_url
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.letters import LetterRenderError
from incident_app.letters.raster import PreviewUnavailable
from incident_app.models.letter import Letter
from incident_app.services.letters import preview
from incident_app.services.letters import review
from incident_app.services.letters import revision
from incident_app.services.letters import together
from incident_app.services.letters.review import LetterIntegrityFailed


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


@bp.route("/approve-together", methods=["POST"])
@login_required
def approve_together(incident_id: int) -> Response:
    form = forms.ApproveSetForm()
    if not form.validate_on_submit():
        return _back(incident_id)
    try:
        approved = together.approve_together(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            confirmations=form.confirmations(request.form),
            store=app_store.current_store(),
        )
    except (ValidationFailed, InvalidTransition, LetterIntegrityFailed) as error:
        flash(f"Nothing was approved: {error}", "error")
    else:
        names = ", ".join(letter.document_id for letter in approved)
        flash(f"Approved together: {names}. Each approval is bound to its SHA-256.", "success")
    return _back(incident_id)


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
