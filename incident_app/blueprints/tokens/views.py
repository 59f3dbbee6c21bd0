"""/account/tokens: create, list and revoke your personal access tokens for the REST API.

A new token is shown once, in the response to the form that created it (never in a flash
message: the session cookie is signed, not encrypted).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from flask_login import login_required

from incident_app import clock
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.tokens.forms import TokenCreateForm
from incident_app.blueprints.tokens.forms import TokenRevokeForm
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.services.accounts import api_tokens

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


def _page(form: TokenCreateForm, new_token: str | None = None) -> str:
    tokens = api_tokens.list_tokens(get_session(), actor=current_user)
    return render_template(
        "tokens/index.html",
        form=form,
        tokens=tokens,
        new_token=new_token,
        revoke_form=TokenRevokeForm(),
        now=clock.utcnow(),
    )


@bp.route("/", methods=["GET", "POST"])
@login_required
def index() -> str:
    form = TokenCreateForm()
    if form.validate_on_submit():
        try:
            _token, raw = api_tokens.create_token(
                get_session(),
                actor=current_user,
                name=form.name.data,
                expires_on=form.expires_on.data,
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            return _page(TokenCreateForm(formdata=None), new_token=raw)
    return _page(form)


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Response:
    if TokenRevokeForm().validate_on_submit():
        try:
            token = api_tokens.revoke_token(
                get_session(), actor=current_user, token_id=token_id, now=clock.utcnow()
            )
        except InvalidTransition as error:
            flash(str(error), "info")
        else:
            flash(f"Token “{token.name}” revoked: it stops working at once.", "success")
    return redirect(url_for("tokens.index"))
