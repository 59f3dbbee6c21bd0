"""Returned mail by letter code: scan or type one returned letter (with a new address it is
re-mailed in the next mailing; without one the person counts as unreachable), or upload a CSV
of letter codes; and what became of each return."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from werkzeug.wrappers import Response

from incident_app import app_store
from incident_app import clock
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.returns import forms
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.models.inquiry import ReturnOutcome
from incident_app.services.roster import returned_letters

bp = Blueprint("returns", __name__, url_prefix="/incidents/<int:incident_id>/returned-mail")


def _index_page(
    incident_id: int,
    *,
    form: forms.ReturnForm | None = None,
    codes_form: forms.CodesForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    incident, returns = returned_letters.list_returns(
        get_session(), actor=current_user, incident_id=incident_id
    )
    code = request.args.get("letter_code", "")[:80]
    return render_template(
        "returns/index.html",
        incident=incident,
        returns=returns,
        form=form or forms.ReturnForm(formdata=None, letter_code=code),
        codes_form=codes_form or forms.CodesForm(formdata=None),
    ), status


@bp.route("/")
@login_required
def index(incident_id: int) -> tuple[str, int]:
    return _index_page(incident_id)


@bp.route("/", methods=["POST"])
@login_required
def record(incident_id: int) -> Response | tuple[str, int]:
    form = forms.ReturnForm()
    if form.validate_on_submit():
        try:
            row = returned_letters.record_return(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                keyring=app_store.current_keyring(),
                letter_code=form.letter_code.data or "",
                returned_on=form.returned_on.data,
                new_address=form.to_address(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(_recorded(row.letter_code, row.outcome), "success")
            return redirect(url_for("returns.index", incident_id=incident_id))
    return _index_page(incident_id, form=form, status=422)


def _recorded(code: str, outcome: ReturnOutcome) -> str:
    if outcome is ReturnOutcome.REMAIL:
        return (
            f"Letter {code} recorded as returned; the new address is saved and the next "
            "mailing includes this person with a new letter code."
        )
    return f"Letter {code} recorded as returned; the person counts as unreachable."


@bp.route("/codes", methods=["POST"])
@login_required
def codes(incident_id: int) -> Response | tuple[str, int]:
    form = forms.CodesForm()
    if form.validate_on_submit():
        try:
            result = returned_letters.import_return_codes(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                upload=form.file.data.stream,
                max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(
                f"{result.recorded} returned letter(s) recorded; {result.unreachable_living} "
                "living people now lack usable contact information (substitute notice, "
                "45 CFR 164.404(d)(2)).",
                "success",
            )
            return redirect(url_for("returns.index", incident_id=incident_id))
    return _index_page(incident_id, codes_form=form, status=422)
