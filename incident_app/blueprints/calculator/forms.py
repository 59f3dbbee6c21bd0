"""The what-if calculator's form: BreachFacts fields, submitted by GET (it changes nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField
from incident_app.blueprints._fields import IntegerField
from incident_app.errors import ValidationFailed
from incident_app.services.assessment.questionnaire import EXCEPTION_LABELS

ENTITY_ROLES = [
    ("covered_entity", "HIPAA covered entity"),
    ("business_associate", "HIPAA business associate"),
    ("phr_vendor", "Vendor of personal health records (FTC rule, not HIPAA)"),
    ("phr_related_entity", "PHR related entity (FTC rule, not HIPAA)"),
    ("third_party_service_provider", "Third party service provider to a PHR vendor (FTC rule)"),
]
HIGH_RISK = [
    ("", "Not yet assessed"),
    ("yes", "Yes: likely to result in a high risk (Art. 34)"),
    ("no", "No: not likely to result in a high risk"),
]
GDPR_ROLE = [("controller", "Controller"), ("processor", "Processor (for a controller)")]
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
    entity_role = _select("The organisation is a", ENTITY_ROLES)
    part2_records = BooleanField("42 CFR Part 2 (substance use disorder) records are involved")
    licensed_facility_states = StringField(
        "States where it is a licensed health facility (e.g. CA)", render_kw={"maxlength": 200}
    )
    individuals_sent_on = DateField("Notice to individuals sent on", [Optional()])
    hhs_sent_on = DateField("Notice to HHS sent on", [Optional()])
    media_sent_on = DateField("Notice to the media sent on", [Optional()])
    gdpr_aware_at = StringField(
        "Became aware of the breach at (date and time)",
        render_kw={"placeholder": "2026-03-02T10:00+01:00", "maxlength": 40},
    )
    gdpr_data_subjects = IntegerField("EU/EEA data subjects affected", [Optional()])
    gdpr_high_risk = _select("Likely to result in a high risk to them?", HIGH_RISK)
    gdpr_controller = _select("Role for this processing", GDPR_ROLE)
    materiality_determined_on = DateField(
        "Public company: incident determined material on", [Optional()]
    )

    def to_facts(self, zone: str) -> dict[str, Any]:
        """BreachFacts keyword arguments; a GDPR time without an offset is read in `zone`.
        Raises ValidationFailed on a malformed state line, state list or time."""
        return {
            **self._hipaa_facts(),
            "entity_role": self.entity_role.data or "covered_entity",
            "part2_records": bool(self.part2_records.data),
            "licensed_facility_states": self._facility_states(),
            "notices_sent": self._notices_sent(),
            "gdpr": self._gdpr(zone),
            "materiality_determined_on": self.materiality_determined_on.data,
        }

    def _hipaa_facts(self) -> dict[str, Any]:
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

    def _facility_states(self) -> frozenset[str]:
        text = (self.licensed_facility_states.data or "").replace(";", ",")
        return frozenset(code.strip().upper() for code in text.split(",") if code.strip())

    def _notices_sent(self) -> dict[str, Any] | None:
        sent = {
            "individuals_on": self.individuals_sent_on.data,
            "hhs_on": self.hhs_sent_on.data,
            "media_on": self.media_sent_on.data,
        }
        return sent if any(sent.values()) else None

    def _gdpr(self, zone: str) -> dict[str, Any] | None:
        text = (self.gdpr_aware_at.data or "").strip()
        subjects = self.gdpr_data_subjects.data
        if not text and subjects is None:
            return None
        if not text:
            raise ValidationFailed(
                "Enter when the organisation became aware of the breach (Art. 33(1)).",
                field="gdpr_aware_at",
            )
        if subjects is None:
            raise ValidationFailed(
                "Enter how many EU/EEA data subjects are affected.", field="gdpr_data_subjects"
            )
        return {
            "aware_at": _aware_at(text, zone),
            "data_subjects": subjects,
            "high_risk": {"yes": True, "no": False}.get(self.gdpr_high_risk.data or ""),
            "controller": self.gdpr_controller.data != "processor",
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


def _aware_at(text: str, zone: str) -> datetime:
    """An ISO 8601 date and time; without an offset it is a wall-clock time in `zone`."""
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise ValidationFailed(
            f"Write the time as YYYY-MM-DDTHH:MM, optionally with an offset such as +01:00, "
            f"not {text!r}.",
            field="gdpr_aware_at",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(zone))
