"""Sign in, sign out, change own password."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
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
from incident_app.blueprints.auth.forms import MfaCodeForm
from incident_app.blueprints.auth.forms import MfaEnrolForm
from incident_app.blueprints.auth.forms import SessionRevokeForm
from incident_app.blueprints.auth.forms import SetPasswordForm
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.services.accounts import invitations
from incident_app.services.accounts import mfa
from incident_app.services.accounts import sessions
from incident_app.services.accounts import signin as auth
from incident_app.services.accounts import users

bp = Blueprint("auth", __name__)
MFA_STEP_SECONDS = 300  # the second factor must follow the password within 5 minutes


def _safe_next(target: str | None) -> str:
    """Only same-site paths: no scheme, no host, no `//` or backslash tricks (open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        # Browsers drop tabs and newlines inside URLs ("/\t/evil" becomes "//evil"): refuse
        # every control character and space, not only CR/LF.
        if "\\" not in target and not any(ord(c) <= 32 or ord(c) == 127 for c in target):
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
                get_session(),
                email=form.email.data,
                password=form.password.data,
                now=clock.utcnow(),
                **_limits(),
                remote_addr=request.remote_addr,
            )
        except auth.LoginFailed as error:
            form.form_errors.append(str(error))
        else:
            if user.mfa_enabled:
                return _ask_second_factor(user)
            return _start_session(user, mfa_verified=False)
    return render_template("auth/login.html", form=form)


@bp.route("/invitation/<invite_token>", methods=["GET", "POST"])
def accept_invitation(invite_token: str) -> tuple[str, int] | Response:
    """Public: the emailed one-time link. A wrong secret counts against the account like a
    wrong password at sign-in (the same LOGIN_MAX_FAILURES / LOGIN_LOCK_MINUTES lockout)."""
    form = SetPasswordForm()
    try:
        if form.validate_on_submit():
            invitations.accept(
                get_session(),
                token=invite_token,
                password=form.password.data,
                now=clock.utcnow(),
                **_limits(),
                remote_addr=request.remote_addr,
            )
            logout_user()
            flask_session.clear()
            flash("Your password is set. Sign in with your email address and it.", "success")
            return redirect(url_for("auth.login"))
        user = invitations.check_link(get_session(), token=invite_token, now=clock.utcnow())
    except invitations.InvitationRefused as error:
        return render_template("auth/invitation.html", form=None, refused=str(error)), 400
    except ValidationFailed as error:
        show_on_form(form, error)
        user = invitations.check_link(get_session(), token=invite_token, now=clock.utcnow())
    status = 422 if form.errors or form.form_errors else 200
    return render_template("auth/invitation.html", form=form, user=user, refused=None), status


def _limits() -> dict[str, int]:
    return {
        "max_failures": current_app.config["LOGIN_MAX_FAILURES"],
        "lock_minutes": current_app.config["LOGIN_LOCK_MINUTES"],
    }


def _ask_second_factor(user: object) -> Response:
    next_url = _safe_next(request.args.get("next"))
    flask_session.clear()
    flask_session["mfa_pending"] = {
        "uid": user.id,
        "at": clock.utcnow().timestamp(),
        "next": next_url,
    }
    return redirect(url_for("auth.second_factor"))


@bp.route("/login/mfa", methods=["GET", "POST"])
def second_factor() -> str | Response:
    pending = flask_session.get("mfa_pending")
    if not pending or clock.utcnow().timestamp() - pending["at"] > MFA_STEP_SECONDS:
        flask_session.pop("mfa_pending", None)
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    form = MfaCodeForm()
    if form.validate_on_submit():
        user = users.get_user(get_session(), pending["uid"])
        ok = (
            user.active
            and not _locked(user)
            and mfa.verify_second_factor(
                get_session(),
                user=user,
                keyring=current_app.extensions["keyring"],
                code=form.code.data,
                now=clock.utcnow(),
                **_limits(),
            )
        )
        if ok:
            return _start_session(user, mfa_verified=True, next_url=pending["next"])
        form.form_errors.append("That code is not valid. Try the current code again.")
    return render_template("auth/mfa.html", form=form)


def _locked(user: object) -> bool:
    return user.locked_until is not None and user.locked_until > clock.utcnow()


def _start_session(user: object, *, mfa_verified: bool, next_url: str | None = None) -> Response:
    next_url = next_url or _safe_next(request.args.get("next"))
    flask_session.clear()
    token = auth.begin_session(
        get_session(),
        user=user,
        now=clock.utcnow(),
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
        mfa_verified=mfa_verified,
    )
    login_user(user, remember=False)
    now = clock.utcnow().timestamp()
    flask_session["sid"] = token
    flask_session["login_at"] = now
    flask_session["last_seen"] = now
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    auth.record_logout(
        get_session(), actor=current_user, now=clock.utcnow(), token=flask_session.get("sid")
    )
    logout_user()
    flask_session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/mfa", methods=["GET", "POST"])
@login_required
def mfa_setup() -> str | Response:
    keyring = current_app.extensions["keyring"]
    form = MfaEnrolForm()
    if current_user.mfa_enabled:
        left = mfa.remaining_recovery_codes(get_session(), user=current_user)
        return render_template("auth/mfa_setup.html", enabled=True, left=left, form=form)
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_enrolment(
                get_session(),
                actor=current_user,
                keyring=keyring,
                code=form.code.data,
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            return render_template("auth/mfa_codes.html", codes=codes)
    enrolment = mfa.current_enrolment(current_user, keyring) or mfa.begin_enrolment(
        get_session(), actor=current_user, keyring=keyring, now=clock.utcnow()
    )
    return render_template("auth/mfa_setup.html", enabled=False, enrolment=enrolment, form=form)


@bp.route("/account/sessions")
@login_required
def session_list() -> str:
    records = sessions.list_active(get_session(), user=current_user)
    current = flask_session.get("sid")
    return render_template(
        "auth/sessions.html",
        records=records,
        current=current,
        is_current=sessions.is_current,
        form=SessionRevokeForm(),
    )


@bp.route("/account/sessions/<session_id>/revoke", methods=["POST"])
@login_required
def session_revoke(session_id: str) -> Response:
    form = SessionRevokeForm()
    if not form.validate_on_submit():
        abort(400)
    sessions.revoke(get_session(), actor=current_user, session_id=session_id, now=clock.utcnow())
    flash("That session was signed out.", "success")
    return redirect(url_for("auth.session_list"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = users.change_password(
                get_session(),
                actor=current_user,
                current_password=form.current_password.data,
                new_password=form.new_password.data,
                now=clock.utcnow(),
                keep_session=flask_session.get("sid"),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            # The version bump ended every session, this one included: start a fresh one.
            login_user(user, remember=False)
            flash("Your password was changed. Other sessions were signed out.", "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/password.html", form=form)
