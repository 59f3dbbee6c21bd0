"""What the forms that create an account share: how the person gets a first password (an
emailed invitation by default, or one the creator sets) and the delivery of invitations."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask import flash
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import RadioField
from wtforms.validators import InputRequired
from wtforms.validators import Length

from incident_app import app_store
from incident_app.errors import ValidationFailed
from incident_app.services.accounts import invitations

INVITE, SET_PASSWORD = "invite", "password"


class FirstPasswordForm(FlaskForm):
    how = RadioField(
        "How they get their first password",
        default=INVITE,
        validators=[InputRequired()],
        choices=[
            (INVITE, "Email them a one-time link to set their own password"),
            (SET_PASSWORD, "I set a first password and give it to them out of band"),
        ],
    )
    password = PasswordField(
        "First password (only if you set it)",
        [Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )

    def first_password(self) -> str | None:
        """The password the creator set, or None for an invitation."""
        return (self.password.data or "") if self.how.data == SET_PASSWORD else None


def email_base_url() -> str | None:
    """Where links in emails point, or None when no mail server is configured (in-app only)."""
    if not current_app.config.get("SMTP_HOST"):
        return None
    return str(current_app.config["APP_BASE_URL"])


def invitation_delivery() -> invitations.Delivery:
    return invitations.Delivery(
        base_url=email_base_url(),
        keyring=app_store.current_keyring(),
        hours=int(current_app.config["INVITATION_HOURS"]),
    )


def send_again(resend: Callable[..., object]) -> None:
    """Call `resend(delivery=...)` (a service re-sending an invitation) and flash the outcome."""
    try:
        resend(delivery=invitation_delivery())
    except ValidationFailed as error:
        flash(str(error), "error")
    else:
        flash("A new invitation was emailed; the earlier link no longer works.", "success")
