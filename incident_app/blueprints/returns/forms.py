"""Returned-mail forms: one letter by its code (optionally with a new address), or a CSV of
letter codes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField
from incident_app.services.roster.returned_letters import NewAddress


def _text(label: str, max_length: int = 100) -> StringField:
    return StringField(label, [Optional(), Length(max=max_length)])


class ReturnForm(FlaskForm):
    letter_code = StringField(
        "Letter code (scan or type the “Letter ID”)", [InputRequired(), Length(max=80)]
    )
    returned_on = DateField("Returned on (blank: today)", [Optional()])
    line1 = _text("Street address")
    line2 = _text("Apartment, suite (optional)")
    city = _text("City")
    state = _text("State", 40)
    zip_code = _text("ZIP code", 20)

    def to_address(self) -> NewAddress | None:
        """The new address, or None when every address field is blank (unreachable)."""
        parts = (self.line1, self.line2, self.city, self.state, self.zip_code)
        if not any((part.data or "").strip() for part in parts):
            return None
        return NewAddress(
            line1=self.line1.data or "",
            city=self.city.data or "",
            state=self.state.data or "",
            zip_code=self.zip_code.data or "",
            line2=self.line2.data or "",
        )


class CodesForm(FlaskForm):
    file = FileField(
        "CSV of letter codes (letter_code, optional returned_on)",
        [FileRequired("Choose the CSV file of returned letters.")],
    )
