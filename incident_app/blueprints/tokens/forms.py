"""Token forms: create (name, optional expiry) and revoke (a button with a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField


class TokenCreateForm(FlaskForm):
    name = StringField("Name (what will use it)", [InputRequired(), Length(max=100)])
    expires_on = DateField("Expires on (optional, at most a year ahead)", [Optional()])


class TokenRevokeForm(FlaskForm):
    pass
