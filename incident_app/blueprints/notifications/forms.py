"""Notification forms: CSRF-only buttons and the reminder plan."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import SelectField
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import ValidationError

from incident_app.models.reminder import EVERY_KIND
from incident_app.services.obligations.kinds import DEADLINE_LABELS


class ButtonForm(FlaskForm):
    """A button that changes something: it only carries the CSRF token."""


class PlanForm(FlaskForm):
    kind = SelectField(
        "Applies to",
        choices=[SelectChoice(EVERY_KIND, "Every deadline without its own plan")]
        + [SelectChoice(kind, label) for kind, label in DEADLINE_LABELS.items()],
    )
    days_before = StringField(
        "Days before the due date",
        [InputRequired(), Length(max=200)],
        render_kw={"inputmode": "numeric"},
    )
    overdue_daily = BooleanField("Remind every day while overdue", default=True)

    def validate_days_before(self, field: StringField) -> None:
        parts = [p.strip() for p in field.data.replace(";", ",").split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts):
            raise ValidationError("Enter whole numbers separated by commas, e.g. 30, 14, 7, 1, 0.")

    def to_days(self) -> list[int]:
        return [int(p) for p in self.days_before.data.replace(";", ",").split(",") if p.strip()]
