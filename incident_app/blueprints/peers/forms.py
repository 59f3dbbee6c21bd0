"""The peers filter form: a GET form (it changes nothing, so it carries no CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms.validators import Optional
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from incident_app.blueprints._fields import IntegerField
from incident_app.services.peers.criteria import PeerCriteria
from incident_app.services.peers.ocr_parsing import MAX_COUNT


def _checkboxes(label: str) -> SelectMultipleField:
    return SelectMultipleField(
        label,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


def _known(field: Field, values: list[str], what: str) -> None:
    """Name an unknown value back to the person (autoescaped) instead of a bare 'invalid'."""
    allowed = {value for value, _label in field.choices or []}
    unknown = [value for value in values if value and value not in allowed]
    if unknown:
        raise ValidationError(f"“{unknown[0]}” is not {what} in OCR's data.")


class PeerFilterForm(FlaskForm):
    class Meta:
        csrf = False

    type = _checkboxes("Type of breach")
    location = _checkboxes("Location of breached information")
    entity = SelectField("Type of covered entity", validate_choice=False)
    affected = IntegerField(
        "Individuals affected", [Optional()], render_kw={"inputmode": "numeric"}
    )

    def set_choices(self, choices: dict[str, list[str]]) -> None:
        self.type.choices = [(value, value) for value in choices["type"]]
        self.location.choices = [(value, value) for value in choices["location"]]
        self.entity.choices = [("", "Any"), *((value, value) for value in choices["entity"])]

    def validate_type(self, field: Field) -> None:
        _known(field, field.data or [], "a type of breach")

    def validate_location(self, field: Field) -> None:
        _known(field, field.data or [], "a location")

    def validate_entity(self, field: Field) -> None:
        _known(field, [field.data or ""], "a type of covered entity")

    def validate_affected(self, field: Field) -> None:
        if field.process_errors:  # not a number: say so once, quoting what was typed
            field.errors.clear()
            raise ValidationError(
                f"“{field.raw_data[0]}” is not a whole number of individuals (digits only, "
                "for example 1200)."
            )
        if not 1 <= field.data <= MAX_COUNT:
            raise ValidationError(f"Individuals affected must be between 1 and {MAX_COUNT:,}.")

    def to_criteria(self) -> PeerCriteria:
        return PeerCriteria.of(
            breach_types=self.type.data or [],
            locations=self.location.data or [],
            entity_type=self.entity.data or None,
            affected=self.affected.data,
        )
