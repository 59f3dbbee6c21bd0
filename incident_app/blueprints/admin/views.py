"""Administration: users (create, role, deactivate) and organisation settings."""

from __future__ import annotations

from functools import partial

from flask import Blueprint
from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from incident_app import clock
from incident_app.access import Capability
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints._invite import invitation_delivery
from incident_app.blueprints._invite import send_again
from incident_app.blueprints.admin.forms import SettingsForm
from incident_app.blueprints.admin.forms import UserActiveForm
from incident_app.blueprints.admin.forms import UserCreateForm
from incident_app.blueprints.admin.forms import UserRoleForm
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import organisation
from incident_app.services.accounts import invitations
from incident_app.services.accounts import mfa
from incident_app.services.accounts import users

bp = Blueprint("admin", __name__, url_prefix="/admin")
NAV = [
    (80, "Users", "admin.user_list", Capability.MANAGE_USERS),
    (90, "Settings", "admin.settings", Capability.MANAGE_SETTINGS),
]


@bp.route("/users")
@capability_required(Capability.MANAGE_USERS)
def user_list() -> str:
    people = users.list_users(get_session(), actor=current_user)
    invited = invitations.invited_ids(get_session(), actor=current_user)
    return render_template(
        "admin/users.html", users=people, invited=invited, active_form=UserActiveForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_USERS)
def user_new() -> str | Response:
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = _create_user(form)
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            sent = " and an invitation emailed" if form.first_password() is None else ""
            flash(f"Account created for {user.email}{sent}.", "success")
            return redirect(url_for("admin.user_list"))
    return render_template("admin/user_new.html", form=form)


def _create_user(form: UserCreateForm) -> User:
    password, now = form.first_password(), clock.utcnow()
    values = {"email": form.email.data or "", "name": form.name.data or ""}
    role = Role(form.role.data)
    if password is None:
        delivery = invitation_delivery()
        return invitations.create_user(
            get_session(), actor=current_user, role=role, delivery=delivery, now=now, **values
        )
    return users.create_user(
        get_session(), actor=current_user, role=role, password=password, now=now, **values
    )


@bp.route("/users/<int:user_id>/invitation", methods=["POST"])
@capability_required(Capability.MANAGE_USERS)
def user_invite(user_id: int) -> Response:
    """A new invitation link for an account that has not set its password (the older links
    stop working)."""
    if not UserActiveForm().validate_on_submit():
        abort(400)
    send_again(
        partial(
            invitations.resend,
            get_session(),
            actor=current_user,
            user_id=user_id,
            now=clock.utcnow(),
        )
    )
    return redirect(url_for("admin.user_edit", user_id=user_id))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_USERS)
def user_edit(user_id: int) -> str | Response:
    user = users.get_user(get_session(), user_id)
    form = UserRoleForm(role=user.role.value)
    if form.validate_on_submit():
        try:
            users.change_role(
                get_session(),
                actor=current_user,
                user_id=user_id,
                role=Role(form.role.data),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(f"Role of {user.email} is now {Role(form.role.data).label}.", "success")
            return redirect(url_for("admin.user_list"))
    return render_template(
        "admin/user_edit.html",
        user=user,
        form=form,
        active_form=UserActiveForm(),
        password_set=invitations.has_password(user),
    )


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@capability_required(Capability.MANAGE_USERS)
def user_set_active(user_id: int) -> Response:
    form = UserActiveForm()
    if not form.validate_on_submit():
        abort(400)
    user = users.get_user(get_session(), user_id)
    try:
        users.set_active(
            get_session(),
            actor=current_user,
            user_id=user_id,
            active=not user.active,
            now=clock.utcnow(),
        )
    except ValidationFailed as error:
        flash(str(error), "error")
    else:
        flash(f"{user.email} is now {'active' if user.active else 'deactivated'}.", "success")
    return redirect(url_for("admin.user_list"))


@bp.route("/users/<int:user_id>/reset-mfa", methods=["POST"])
@capability_required(Capability.MANAGE_USERS)
def user_reset_mfa(user_id: int) -> Response:
    if not UserActiveForm().validate_on_submit():
        abort(400)
    user = mfa.reset(get_session(), actor=current_user, user_id=user_id, now=clock.utcnow())
    flash(f"Two-step sign-in was reset for {user.email}.", "success")
    return redirect(url_for("admin.user_list"))


@bp.route("/settings", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_SETTINGS)
def settings() -> tuple[str, int] | Response:
    org = organisation.get_organisation(get_session())
    form = SettingsForm(obj=org)
    if form.validate_on_submit():
        # With no file chosen the field keeps the stored logo's bytes (obj=org): not an upload.
        upload = form.logo.data if isinstance(form.logo.data, FileStorage) else None
        try:
            organisation.update_settings(
                get_session(),
                actor=current_user,
                values=form.data,
                logo=upload.read() if upload else None,
                remove_logo=form.remove_logo.data,
                mfa_roles=form.mfa_required_roles.data,
                now=clock.utcnow(),
                privacy_officer_may_approve=form.privacy_officer_may_approve.data,
                email_notice_enabled=form.email_notice_enabled.data,
                entity_role=form.entity_role.data,
                public_company=form.public_company.data,
                acts_as_business_associate=form.acts_as_business_associate.data,
                client_ack_business_days=form.client_ack_business_days.data,
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Organisation settings saved.", "success")
            return redirect(url_for("admin.settings"))
    # Read again: a refused change rolled the session back (and with it a row first made here).
    org = organisation.get_organisation(get_session())
    return render_template(
        "admin/settings.html", form=form, org=org, entity_roles=organisation.ENTITY_ROLES
    ), 422 if form.errors or form.form_errors else 200


@bp.route("/settings/logo")
@capability_required(Capability.MANAGE_SETTINGS)
def logo() -> Response:
    org = organisation.get_organisation(get_session())
    if not org.logo:
        abort(404)
    return Response(org.logo, mimetype=org.logo_mime)
