"""Mailing forms: POST buttons carrying the CSRF token, the confirmed start and the mailing date."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms import IntegerField
from wtforms.validators import InputRequired
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from incident_app.blueprints._fields import IntegerField as BoundedIntegerField


class ButtonForm(FlaskForm):
    """A POST button: only the CSRF token."""


class StartForm(FlaskForm):
    """Start the mailing: the number of people the person confirmed on the confirmation page
    (the service refuses when the plan changed since; a client without the page sends none)."""

    expected_people = IntegerField("People", [Optional(), NumberRange(min=0)])
    # Business-associate mode: the delegating client whose own mailing this is.
    client_id = BoundedIntegerField("Client", [Optional(), NumberRange(min=1)])


class MailedForm(FlaskForm):
    """Record a completed mailing as mailed: the date the mail house mailed it."""

    mailed_on = DateField(
        "Mailed on", [InputRequired(message="Enter the date the letters were mailed.")]
    )
