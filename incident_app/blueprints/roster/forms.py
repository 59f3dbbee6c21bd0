"""Roster forms: upload, column mapping, notice status, returned mail, plain buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from wtforms import RadioField
from wtforms import SelectField
from wtforms.validators import InputRequired
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField
from incident_app.models.roster import ImportMode
from incident_app.models.roster import NoticeMethod
from incident_app.models.roster import NoticeStatus
from incident_app.services.roster.columns import COLUMNS

NOT_IN_FILE = ""


class UploadForm(FlaskForm):
    file = FileField("Roster CSV file", [FileRequired("Choose the CSV file to import.")])
    mode = RadioField(
        "This file",
        default=ImportMode.REPLACE.value,
        validators=[InputRequired()],
        choices=[
            (ImportMode.REPLACE.value, "Replaces the current roster"),
            (ImportMode.APPEND.value, "Adds to the current roster (duplicates are merged)"),
        ],
    )


class MappingForm(FlaskForm):
    """One select per roster column (added by `mapping_form`), listing the file's headers."""

    def to_mapping(self) -> dict[str, str]:
        return {column.name: self[column.name].data or NOT_IN_FILE for column in COLUMNS}


def mapping_form(headers: list[str], mapping: dict[str, str], **kwargs: object) -> MappingForm:
    choices = [(NOT_IN_FILE, "— not in the file —"), *[(h, h) for h in headers]]

    class _Form(MappingForm):
        pass

    for column in COLUMNS:
        label = column.label + (" (required)" if column.required else "")
        setattr(
            _Form,
            column.name,
            SelectField(label, choices=choices, default=mapping.get(column.name, NOT_IN_FILE)),
        )
    return _Form(**kwargs)


class NoticeForm(FlaskForm):
    status = SelectField("Notice status", choices=[(s.value, s.label) for s in NoticeStatus])
    method = SelectField(
        "Sent by", choices=[("", "—"), *[(m.value, m.value.capitalize()) for m in NoticeMethod]]
    )
    notice_on = DateField("Date (mailed, returned)", [Optional()])

    def to_values(self) -> tuple[NoticeStatus, NoticeMethod | None]:
        method = NoticeMethod(self.method.data) if self.method.data else None
        return NoticeStatus(self.status.data), method


class ReturnsForm(FlaskForm):
    file = FileField(
        "Returned-mail CSV (external_id, optional returned_on)",
        [FileRequired("Choose the CSV file of returned mail.")],
    )


class ButtonForm(FlaskForm):
    """A POST button: only the CSRF token."""
