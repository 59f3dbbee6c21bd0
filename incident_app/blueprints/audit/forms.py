"""The audit viewer's filter form (GET: no state change, so no CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField
from incident_app.blueprints._fields import IntegerField
from incident_app.services.audit_log import AuditFilter


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField("Actor (email contains)", [Optional(), Length(max=254)])
    action = StringField(
        "Action (starts with, e.g. auth. or user.created)", [Optional(), Length(max=80)]
    )
    incident = IntegerField("Incident id", [Optional(), NumberRange(min=1)])
    date_from = DateField("From", [Optional()])
    date_to = DateField("To", [Optional()])

    def to_filter(self) -> AuditFilter:
        return AuditFilter(
            actor=(self.actor.data or "").strip(),
            action=(self.action.data or "").strip(),
            incident_id=self.incident.data,
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )
