"""The what-if calculator's form: BreachFacts fields, submitted by GET (it changes nothing)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import DateField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from incident_app.errors import ValidationFailed
from incident_app.services.assessment import EXCEPTION_LABELS

TRI_AGENT = [
    ("", "Not yet determined"),
    ("yes", "Yes: the BA is our agent"),
    ("no", "No: independent contractor"),
]


def _select(label: str, pairs: list[tuple[str, str]]) -> SelectField:
    # A missing or unknown choice reaches the engine, whose InvalidFacts names the field.
    return SelectField(
        label,
        choices=[SelectChoice(v, text) for v, text in pairs],
        validate_choice=False,
        default="",
    )


class CalculatorForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that stores nothing

    discovered_on = DateField("Date discovered", [Optional()])
    affected_total = IntegerField("Individuals affected", [InputRequired()])
    residents = TextAreaField(
        "Residents per state, one per line (e.g. TX=900)",
        [Length(max=5000, message="Keep it under 5000 characters (one line per state).")],
        render_kw={"rows": 4},
    )
    insufficient_contact_count = IntegerField(
        "Living individuals with insufficient or out-of-date contact information",
        [Optional()],
        default=0,
    )
    phi_secured = BooleanField(
        "PHI was secured (NIST-conformant encryption, key not exposed, or destroyed)"
    )
    exception = _select("Exception", [("", "None"), *EXCEPTION_LABELS.items()])
    low_probability_of_compromise = BooleanField(
        "A signed four-factor assessment shows a low probability of compromise"
    )
    ba_discovered_on = DateField("Business associate discovered it on", [Optional()])
    ba_is_agent = _select("Business associate acts as our agent?", TRI_AGENT)
    ba_notified_on = DateField("Business associate notified us on", [Optional()])
    le_statement = _select(
        "Law-enforcement delay statement",
        [
            ("", "None"),
            ("written", "Written"),
            ("oral", "Oral"),
        ],
    )
    le_stated_on = DateField("Statement made on", [Optional()])
    le_delay_until = DateField("Delay until (the period stated)", [Optional()])
    le_written_received_on = DateField("Written statement followed on", [Optional()])

    def to_facts(self) -> dict[str, Any]:
        """BreachFacts keyword arguments. Raises ValidationFailed on a malformed state line."""
        return {
            "discovered_on": self.discovered_on.data,
            "affected_total": self.affected_total.data,
            "residents_by_state": self._residents(),
            "insufficient_contact_count": self.insufficient_contact_count.data or 0,
            "phi_secured": bool(self.phi_secured.data),
            "exception": self.exception.data or None,
            "low_probability_of_compromise": bool(self.low_probability_of_compromise.data),
            "business_associate": self._business_associate(),
            "law_enforcement_delay": self._delay(),
        }

    def _residents(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in (self.residents.data or "").replace(",", "\n").splitlines():
            if not line.strip():
                continue
            state, _, number = line.partition("=")
            if not number.strip().isdigit():
                raise ValidationFailed(
                    f"Write each line as STATE=count, not {line.strip()!r}.", field="residents"
                )
            counts[state.strip().upper()] = int(number)
        return counts

    def _business_associate(self) -> dict[str, Any] | None:
        if self.ba_discovered_on.data is None:
            return None
        return {
            "discovered_on": self.ba_discovered_on.data,
            "is_agent": {"yes": True, "no": False}.get(self.ba_is_agent.data or ""),
            "notified_covered_entity_on": self.ba_notified_on.data,
        }

    def _delay(self) -> dict[str, Any] | None:
        if not self.le_statement.data:
            return None
        if self.le_stated_on.data is None:
            raise ValidationFailed("Enter the date of the statement.", field="le_stated_on")
        return {
            "statement": self.le_statement.data,
            "stated_on": self.le_stated_on.data,
            "delay_until": self.le_delay_until.data,
            "written_received_on": self.le_written_received_on.data,
        }
