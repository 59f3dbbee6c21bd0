"""The Review tab of an incident: the post-incident review (versions, signing, PDF)."""

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
from incident_app.access import can
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.impact import forms
from incident_app.blueprints.impact.blueprint import bp
from incident_app.blueprints.impact.blueprint import can_work
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.services import review
from incident_app.services import review_report
from incident_app.services.incidents.access import get_visible


def _review_form(incident_id: int) -> forms.ReviewForm:
    """The latest version's text; a first review starts from the generated timeline."""
    session = get_session()
    found = review.versions(session, actor=current_user, incident_id=incident_id)
    if not found:
        return forms.ReviewForm(
            timeline_summary=review.draft_timeline_summary(
                session, actor=current_user, incident_id=incident_id
            )
        )
    form = forms.ReviewForm(obj=found[0])
    form.fill_gaps(found[0].control_gaps)
    return form


@bp.route("/incidents/<int:incident_id>/review", methods=["GET", "POST"])
@login_required
def review_page(incident_id: int) -> Response | tuple[str, int]:
    posted = request.method == "POST"
    form = forms.ReviewForm() if posted else _review_form(incident_id)
    if form.validate_on_submit():
        try:
            saved = review.save_review(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                review=form.to_input(),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(f"Review saved as version {saved.number}.", "success")
            return redirect(url_for("impact.review_page", incident_id=incident_id))
    return _review_template(incident_id, form, 422 if posted else 200)


def _review_template(incident_id: int, form: forms.ReviewForm, status: int) -> tuple[str, int]:
    session = get_session()
    incident = get_visible(session, actor=current_user, incident_id=incident_id)
    return render_template(
        "impact/review.html",
        incident=incident,
        form=form,
        sign_form=forms.SignForm(),
        versions=review.versions(session, actor=current_user, incident_id=incident_id),
        blockers=review.closure_blockers(session, incident),
        can_work=can_work(incident_id),
        can_sign=can(current_user, Capability.SIGN_DETERMINATIONS),
    ), status


@bp.route("/incidents/<int:incident_id>/review/sign", methods=["POST"])
@login_required
def sign_review(incident_id: int) -> Response | tuple[str, int]:
    form = forms.SignForm()
    if not form.validate_on_submit():  # the page checks access: a non-member gets 404
        flash("Choose the version to sign.", "error")
        return _review_template(incident_id, _review_form(incident_id), 422)
    try:
        signed = review.sign_review(
            get_session(),
            actor=current_user,
            incident_id=incident_id,
            number=form.number.data,
            now=clock.utcnow(),
        )
    except (ValidationFailed, InvalidTransition) as error:
        flash(str(error), "error")
        return _review_template(incident_id, _review_form(incident_id), error.status_code)
    flash(f"Review version {signed.number} signed.", "success")
    return redirect(url_for("impact.review_page", incident_id=incident_id))


@bp.route("/incidents/<int:incident_id>/review/<int:number>.pdf")
@login_required
def review_pdf(incident_id: int, number: int) -> Response:
    pdf = review_report.review_pdf(
        get_session(),
        actor=current_user,
        incident_id=incident_id,
        number=number,
        now=clock.utcnow(),
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="post-incident-review-{incident_id}'
            f'-v{number}.pdf"'
        },
    )
