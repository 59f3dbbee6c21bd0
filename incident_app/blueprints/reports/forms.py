"""Report forms: recording an HHS filing or an addendum, and the metrics date range."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField
from incident_app.blueprints._fields import IntegerField
from incident_app.services.hhs_log import FilingInput


class FilingForm(FlaskForm):
    filed_on = DateField("Filed on the OCR portal on", [InputRequired()])
    transaction_number = StringField(
        "Transaction number the portal gave", [InputRequired(), Length(max=64)]
    )

    def to_input(self) -> FilingInput:
        return FilingInput(
            filed_on=self.filed_on.data, transaction_number=self.transaction_number.data or ""
        )


class AddendumForm(FlaskForm):
    filed_on = DateField("Addendum filed on", [InputRequired()])
    affected_count = IntegerField(
        "Individuals affected now (empty: today's count)",
        [Optional(), NumberRange(min=0, max=1_000_000_000)],
    )
    changes = TextAreaField(
        "What changed since the last report", [InputRequired(), Length(max=5000)]
    )

    def to_input(self) -> FilingInput:
        return FilingInput(
            filed_on=self.filed_on.data,
            affected_count=self.affected_count.data,
            changes=self.changes.data or "",
        )


class RangeForm(FlaskForm):
    """The metrics page's filter (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    date_from = DateField("Discovered from", [Optional()])
    date_to = DateField("Discovered to", [Optional()])
