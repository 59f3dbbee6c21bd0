"""The audit viewer's filter form (GET: no state change, so no CSRF token)."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import Regexp

from incident_app.blueprints._fields import DateField
from incident_app.services.audit_log import AuditFilter


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField("Actor (email contains)", [Optional(), Length(max=254)])
    action = StringField(
        "Action (starts with, e.g. auth. or user.created)", [Optional(), Length(max=80)]
    )
    incident = StringField(
        "Incident (reference, e.g. BD-2025-0003)",
        [
            Optional(),
            Regexp(
                r"^\s*(BD-\d{4}-\d{1,6}|\d{1,9})\s*$",
                flags=re.IGNORECASE,
                message="Enter the incident's reference, like BD-2025-0003.",
            ),
        ],
    )
    date_from = DateField("From", [Optional()])
    date_to = DateField("To", [Optional()])

    def to_filter(self) -> AuditFilter:
        incident = (self.incident.data or "").strip()
        return AuditFilter(
            actor=(self.actor.data or "").strip(),
            action=(self.action.data or "").strip(),
            # A bare number is the internal id (links from older exports); else the reference.
            incident_id=int(incident) if incident.isdigit() else None,
            incident_reference="" if incident.isdigit() else incident.upper(),
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )
