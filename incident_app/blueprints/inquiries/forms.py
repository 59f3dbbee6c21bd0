"""Inquiry forms: record one (how the person was found, what they said, the follow-up), close
one with its outcome, and the export button."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField
from incident_app.blueprints._fields import record_id
from incident_app.models.inquiry import FoundBy
from incident_app.models.inquiry import InquiryCategory
from incident_app.models.inquiry import InquiryChannel
from incident_app.services.inquiries.recording import SUMMARY_MAX
from incident_app.services.inquiries.recording import InquiryInput
from incident_app.services.roster.returned_letters import NewAddress

UNASSIGNED = ""


def _text(label: str, max_length: int = 100) -> StringField:
    return StringField(label, [Optional(), Length(max=max_length)])


class InquiryForm(FlaskForm):
    found_by = RadioField(
        "Find the person by",
        default=FoundBy.LETTER_CODE.value,
        validators=[InputRequired()],
        choices=[(f.value, f.label) for f in FoundBy],
    )
    letter_code = _text("Letter code (the “Letter ID” printed on the letter)", 80)
    first_name = _text("First name")
    last_name = _text("Last name")
    date_of_birth = DateField("Date of birth", [Optional()])
    caller_name = _text("Caller's name (if not the person, or not on the roster)", 200)
    caller_contact = _text("How to reach the caller (phone or email)", 200)
    channel = SelectField("Channel", choices=[(c.value, c.label) for c in InquiryChannel])
    category = SelectField("Category", choices=[(c.value, c.label) for c in InquiryCategory])
    summary = TextAreaField("Summary", [InputRequired(), Length(max=SUMMARY_MAX)])
    follow_up_on = DateField("Follow up by", [Optional()])
    # Choices are the team and the privacy officers (set_assignees, before validation): any
    # other value is "Not a valid choice".
    assignee_id = SelectField("Follow-up assigned to", choices=[])

    def set_assignees(self, people: list[tuple[int, str]]) -> None:
        self.assignee_id.choices = [(UNASSIGNED, "— nobody —"), *[(str(i), n) for i, n in people]]

    def to_input(self) -> InquiryInput:
        return InquiryInput(
            found_by=FoundBy(self.found_by.data),
            channel=InquiryChannel(self.channel.data),
            category=InquiryCategory(self.category.data),
            summary=self.summary.data or "",
            letter_code=self.letter_code.data or "",
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            birth=self.date_of_birth.data,
            caller_name=self.caller_name.data or "",
            caller_contact=self.caller_contact.data or "",
            follow_up_on=self.follow_up_on.data,
            assignee_id=self._assignee(),
        )

    def _assignee(self) -> int | None:
        value = self.assignee_id.data
        return record_id(value) if value not in (None, UNASSIGNED) else None


class CloseForm(FlaskForm):
    outcome = TextAreaField("Outcome", [InputRequired(), Length(max=SUMMARY_MAX)])


class ButtonForm(FlaskForm):
    """A POST button: only the CSRF token."""


class LinkForm(FlaskForm):
    """Link an inquiry recorded as not on the roster: by letter code, or name + birth date."""

    letter_code = _text("Letter code (the “Letter ID” printed on the letter)", 80)
    first_name = _text("First name")
    last_name = _text("Last name")
    date_of_birth = DateField("Date of birth", [Optional()])


class AddressForm(FlaskForm):
    """The new address an address-change inquiry gave (the letter is re-mailed to it)."""

    line1 = StringField("Street address", [InputRequired(), Length(max=100)])
    line2 = _text("Apartment, suite (optional)")
    city = StringField("City", [InputRequired(), Length(max=100)])
    state = StringField("State", [InputRequired(), Length(max=40)])
    zip_code = StringField("ZIP code", [InputRequired(), Length(max=20)])

    def to_address(self) -> NewAddress:
        return NewAddress(
            line1=self.line1.data or "",
            city=self.city.data or "",
            state=self.state.data or "",
            zip_code=self.zip_code.data or "",
            line2=self.line2.data or "",
        )
