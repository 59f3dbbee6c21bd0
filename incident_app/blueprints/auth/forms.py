"""Sign-in and password forms (validation only; CSRF from FlaskForm)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import EqualTo
from wtforms.validators import InputRequired
from wtforms.validators import Length


class LoginForm(FlaskForm):
    email = StringField(
        "Email",
        [InputRequired(), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Password",
        [InputRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", [InputRequired()], render_kw={"autocomplete": "current-password"}
    )
    new_password = PasswordField(
        "New password (at least 12 characters)",
        [InputRequired(), Length(min=12, max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        [InputRequired(), EqualTo("new_password", message="The two new passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class SetPasswordForm(FlaskForm):
    """The invitation page. Length is left to the service's password policy, whose message
    names the rule."""

    password = PasswordField(
        "Choose a password (at least 12 characters)",
        [InputRequired(), Length(max=256)],
        render_kw={"autocomplete": "new-password", "autofocus": True},
    )
    confirm = PasswordField(
        "Repeat the password",
        [InputRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class LogoutForm(FlaskForm):
    """Sign-out is a POST with a CSRF token, so no other site can sign a user out."""


class MfaCodeForm(FlaskForm):
    code = StringField(
        "6-digit code from your authenticator app, or a recovery code",
        [InputRequired(), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
    )


class MfaEnrolForm(FlaskForm):
    code = StringField(
        "Enter the 6-digit code your app shows now",
        [InputRequired(), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class SessionRevokeForm(FlaskForm):
    """Revoke one signed-in session: a button with a CSRF token."""
