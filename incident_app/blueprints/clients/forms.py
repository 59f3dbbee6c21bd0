"""Client registry forms: validation only; the service parses contacts and checks the period."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from incident_app.blueprints._fields import IntegerField
from incident_app.blueprints._fields import record_id
from incident_app.blueprints._invite import FirstPasswordForm
from incident_app.services.clients.registry import ClientValues

UNIT_CHOICES = [
    ("", "No period of its own (45 CFR 164.410(b): 60 days)"),
    ("business_days", "business days after our discovery"),
    ("calendar_days", "calendar days after our discovery"),
]

AGENT_CHOICES = [
    ("", "Not determined (its clock runs from our discovery, the stricter date)"),
    ("yes", "Yes: its clock runs from our discovery"),
    ("no", "No, independent contractor: its clock runs from our notice to it"),
]
AGENT_VALUES = {"yes": True, "no": False}


class ClientForm(FlaskForm):
    name = StringField("Client (covered entity) name", [InputRequired(), Length(max=200)])
    contacts = TextAreaField(
        "Privacy contacts, one a line: Name, email[, phone]", [Length(max=4000)]
    )
    address = TextAreaField("Address", [Optional(), Length(max=1000)])
    period_count = IntegerField(
        "Contractual notice period (BAA)", [Optional(), NumberRange(min=1, max=365)]
    )
    period_unit = SelectField("Counted in", choices=UNIT_CHOICES, validate_choice=False)
    delegates_individual_notice = BooleanField(
        "The client delegates individual notice to us (we send letters on its letterhead)"
    )
    ba_is_agent = SelectField(
        "Are we the client's agent (federal common law of agency)?",
        choices=AGENT_CHOICES,
        validate_choice=False,
    )
    letterhead_name = StringField("Letterhead name", [Optional(), Length(max=200)])
    letterhead_address = TextAreaField("Letterhead address", [Optional(), Length(max=1000)])
    signatory_name = StringField("Signatory name", [Optional(), Length(max=200)])
    signatory_title = StringField("Signatory title", [Optional(), Length(max=200)])

    def to_values(self) -> ClientValues:
        return ClientValues(
            name=self.name.data or "",
            contacts_text=self.contacts.data or "",
            address=self.address.data or "",
            period_count=self.period_count.data,
            period_unit=self.period_unit.data or "",
            delegates_individual_notice=bool(self.delegates_individual_notice.data),
            ba_is_agent=AGENT_VALUES.get(self.ba_is_agent.data or ""),
            letterhead_name=self.letterhead_name.data or "",
            letterhead_address=self.letterhead_address.data or "",
            signatory_name=self.signatory_name.data or "",
            signatory_title=self.signatory_title.data or "",
        )


class FileForm(FlaskForm):
    file = FileField("File", [InputRequired()])


class IncidentClientsForm(FlaskForm):
    client_ids = SelectMultipleField(
        "Clients whose PHI this incident touched",
        coerce=record_id,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )


class DraftNoticeForm(FlaskForm):
    update = TextAreaField(
        "What is new since the last notice (164.410(c)(2))", [Optional(), Length(max=4000)]
    )


class ConfirmForm(FlaskForm):
    """A button that changes a notice's state; the CSRF token is its only field."""


class InviteContactForm(FirstPasswordForm):
    name = StringField("Name", [InputRequired(), Length(max=200)])
    email = StringField("Email", [InputRequired(), Length(max=254)])
