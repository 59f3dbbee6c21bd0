"""The Letters tab: generate letters per obligation, legal review, downloads, proof of notice.

Thin views: one service call each. Letters hold PHI: every view and download is audited by the
services. Rendering happens in the service (letters/render.py); views never import WeasyPrint.
"""

from __future__ import annotations

from flask import Response
from flask import flash
from flask import render_template
from flask_login import current_user
from flask_login import login_required

from incident_app import app_store
from incident_app import clock
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.letters import forms
from incident_app.blueprints.letters import reviewing  # noqa: F401 - registers its routes on bp
from incident_app.blueprints.letters.blueprint import attachment as _attachment
from incident_app.blueprints.letters.blueprint import back as _back
from incident_app.blueprints.letters.blueprint import bp
from incident_app.blueprints.letters.blueprint import email_base_url as _email_base_url
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.letters import LetterRenderError
from incident_app.services.letters import faq_export
from incident_app.services.letters import generation
from incident_app.services.letters import notice_wording
from incident_app.services.letters import notices
from incident_app.services.letters import prepare
from incident_app.services.letters import proofs
from incident_app.services.letters import reading
from incident_app.services.letters import review
from incident_app.services.letters import together
from incident_app.services.letters.context import ADDRESSED_TEMPLATES
from incident_app.services.letters.faq import FAQ_TEMPLATE
from incident_app.services.letters.review import LetterIntegrityFailed

INCIDENT_TABS = [(47, "Letters", "letters.index")]
PDF_TYPE = "application/pdf"


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
        review_set=together.awaiting_here(
            get_session(), actor=current_user, incident_id=incident_id
        ),
        approve_set_form=forms.ApproveSetForm(),
        confirm_length=review.CONFIRM_PREFIX,
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
        faq_template=FAQ_TEMPLATE,
    )


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


@bp.route("/<int:letter_id>/faq.pdf")
@login_required
def faq_pdf(incident_id: int, letter_id: int) -> Response:
    """The approved call-centre FAQ; refused (with the reason) while it is not approved."""
    try:
        name, data = faq_export.export_pdf(
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
