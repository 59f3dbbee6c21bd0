"""Sign in, sign out, change own password."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session as flask_session
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from werkzeug.wrappers import Response

from incident_app import clock
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.auth.forms import ChangePasswordForm
from incident_app.blueprints.auth.forms import LoginForm
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.services import auth
from incident_app.services import users

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: no scheme, no host, no `//` or backslash tricks (open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        if "\\" not in target and "\n" not in target and "\r" not in target:
            return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = auth.authenticate(
                get_session(), email=form.email.data, password=form.password.data,
                now=clock.utcnow(), max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
                remote_addr=request.remote_addr,
            )
        except auth.LoginFailed as error:
            form.form_errors.append(str(error))
        else:
            return _start_session(user)
    return render_template("auth/login.html", form=form)


def _start_session(user: object) -> Response:
    next_url = _safe_next(request.args.get("next"))
    flask_session.clear()
    login_user(user, remember=False)
    now = clock.utcnow().timestamp()
    flask_session["login_at"] = now
    flask_session["last_seen"] = now
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    auth.record_logout(get_session(), actor=current_user, now=clock.utcnow())
    logout_user()
    flask_session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = users.change_password(
                get_session(), actor=current_user, current_password=form.current_password.data,
                new_password=form.new_password.data, now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            # The version bump ended every session, this one included: start a fresh one.
            login_user(user, remember=False)
            flash("Your password was changed. Other sessions were signed out.", "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/password.html", form=form)
