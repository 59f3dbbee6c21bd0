"""Forms of the assessment area: the guided assessment, overrides, discovery facts."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from incident_app.blueprints._fields import DateField
from incident_app.models.assessment import Conclusion
from incident_app.services.assessment import questionnaire

BLANK = ("", "— not answered —")
TRI = [("yes", "Yes"), ("no", "No"), ("unknown", "Unknown")]
IDENTIFIER_LABELS = {
    "names": "Names",
    "ssn": "Social Security numbers",
    "date_of_birth": "Dates of birth",
    "address": "Addresses",
    "financial": "Financial account or card numbers",
    "diagnosis": "Diagnoses or conditions",
    "medications": "Medications",
    "lab_results": "Lab results",
    "medical_record_number": "Medical record numbers",
    "health_plan_id": "Health plan ID numbers",
    "other": "Other",
}


def _text(label: str) -> TextAreaField:
    return TextAreaField(
        label, [Optional(), Length(max=questionnaire.TEXT_MAX)], render_kw={"rows": 3}
    )


def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _select(label: str, choices: list[tuple[str, str]], *, blank: bool = True) -> SelectField:
    # The service checks every choice and names the field; a missing answer is "".
    return SelectField(
        label,
        choices=_choices([BLANK, *choices] if blank else choices),
        validate_choice=False,
        default="",
    )


class AssessmentForm(FlaskForm):
    # 1. PHI and the Privacy Rule
    phi_involved = _select("Was protected health information involved?", TRI)
    use_permitted = _select(
        "Was the use or disclosure permitted by the Privacy Rule (45 CFR 164 subpart E)?", TRI
    )
    phi_narrative = _text("If no PHI or a permitted use: explain")
    # 2. Safe harbor
    safeguard = _select(
        "Was the PHI secured?",
        [
            ("none", "No: not encrypted or destroyed"),
            ("encryption", "Encrypted"),
            ("destruction", "Destroyed"),
            ("unknown", "Unknown"),
        ],
    )
    encryption_what = _text("What was encrypted, with which product or algorithm?")
    encryption_standard = _select("Standard", list(questionnaire.ENCRYPTION_STANDARDS.items()))
    encryption_conformant = _select("Conforms to the NIST guidance (HHS safe harbor)?", TRI)
    key_compromised = _select("Was the decryption key or credential also exposed?", TRI)
    destruction_method = _select(
        "Destruction method", list(questionnaire.DESTRUCTION_METHODS.items())
    )
    destruction_detail = _text("Destruction details (who, when, certificate)")
    safe_harbor_narrative = _text("Safe harbor notes")
    # 3. Exceptions, 164.402(1)
    exception = _select(
        "Does an exception apply?",
        [
            (questionnaire.NO_EXCEPTION, "No exception applies"),
            *questionnaire.EXCEPTION_LABELS.items(),
        ],
    )
    exc_workforce = BooleanField(
        questionnaire.EXCEPTION_ELEMENTS["unintentional_workforce_use"][0][1]
    )
    exc_good_faith = BooleanField("Unintentional, and made in good faith")
    exc_within_scope = BooleanField("Within the scope of that person's authority")
    exc_both_authorized = BooleanField(
        questionnaire.EXCEPTION_ELEMENTS["inadvertent_authorized_disclosure"][0][1]
    )
    exc_cannot_retain = BooleanField(questionnaire.EXCEPTION_ELEMENTS["unable_to_retain"][0][1])
    exc_no_further_use = BooleanField(
        "Not further used or disclosed in a manner the Privacy Rule does not permit"
    )
    exception_facts = _text("Facts that meet the exception")
    exception_justification = _text("Justification")
    # 4. The four factors, 164.402(2)
    f1_identifiers = SelectMultipleField(
        "(i) Identifiers involved",
        choices=_choices(list(IDENTIFIER_LABELS.items())),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    f1_sensitivity = _select(
        "(i) Sensitivity of the information",
        [
            ("low", "Low (e.g. appointment time only)"),
            ("moderate", "Moderate"),
            ("high", "High (e.g. SSN, financial, mental health, HIV, substance use)"),
            ("unknown", "Unknown"),
        ],
    )
    f1_reidentification = _select(
        "(i) Likelihood of re-identification",
        [
            ("low", "Low"),
            ("high", "High"),
            ("unknown", "Unknown"),
        ],
    )
    f1_narrative = _text("(i) Nature and extent of the PHI: narrative")
    f2_recipient = _select(
        "(ii) The unauthorized person",
        [
            ("covered_entity", "Another HIPAA covered entity or business associate"),
            ("own_workforce", "Our own workforce"),
            ("known_individual", "A known person with no duty to protect PHI"),
            ("malicious", "A malicious party (thief, attacker)"),
            ("unknown", "Unknown"),
        ],
    )
    f2_narrative = _text("(ii) The unauthorized person: narrative")
    f3_acquired = _select(
        "(iii) Was the PHI actually acquired or viewed?",
        [
            ("yes", "Yes"),
            ("no", "No (forensic evidence shows it was not)"),
            ("unknown", "Unknown"),
        ],
    )
    f3_narrative = _text("(iii) Acquired or viewed: narrative and evidence")
    f4_mitigation = _select(
        "(iv) Extent mitigated",
        [
            ("assurances", "Satisfactory assurances obtained from the recipient"),
            ("returned_or_destroyed", "Return or destruction attested"),
            ("partial", "Partly mitigated"),
            ("none", "Not mitigated"),
            ("unknown", "Unknown"),
        ],
    )
    f4_narrative = _text("(iv) Mitigation: narrative")
    # 5. Conclusion
    conclusion = _select("Conclusion", [(c.value, c.label) for c in Conclusion], blank=False)
    rationale = _text("Rationale (required for a low-probability conclusion)")
    save = SubmitField("Save as new version")
    save_and_sign = SubmitField("Save and sign")

    def to_answers(self) -> dict[str, Any]:
        skip = {"csrf_token", "save", "save_and_sign"}
        return {name: value for name, value in self.data.items() if name not in skip}


class SignForm(FlaskForm):
    """Sign the latest version: a button with a CSRF token."""


class DueDateOverrideForm(FlaskForm):
    due_on = DateField("Due date to use", [Optional()])
    reason = TextAreaField("Reason", [InputRequired(), Length(max=5000)], render_kw={"rows": 2})


class DeterminationOverrideForm(FlaskForm):
    reportable = SelectField(
        "Treat as",
        choices=_choices(
            [
                ("", "Clear the override (use the computed determination)"),
                ("yes", "Reportable breach"),
                ("no", "Not reportable"),
            ]
        ),
    )
    reason = TextAreaField("Reason", [InputRequired(), Length(max=5000)], render_kw={"rows": 2})

    def to_reportable(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.reportable.data or "")


class DiscoveryForm(FlaskForm):
    discovered_on = DateField(
        "Date discovered (first known to a workforce member or agent)",
        [InputRequired(message="Enter the date of discovery.")],
    )
    diligence_known_on = DateField(
        "Would have been known with reasonable diligence on", [Optional()]
    )


class RecomputeForm(FlaskForm):
    """Record the deadlines now: a button with a CSRF token."""
