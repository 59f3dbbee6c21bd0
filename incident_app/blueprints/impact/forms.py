"""Forms of the after-the-breach pages. Field checks only; money and dates are judged by the
services (so a bad amount gets the same message from a form, the CLI or a test)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField
from incident_app.blueprints._fields import DateTimeLocalField
from incident_app.blueprints._fields import IntegerField
from incident_app.blueprints._fields import record_id
from incident_app.models.corrective_action import ActionStatus
from incident_app.models.impact import CostBasis
from incident_app.models.impact import CostCategory
from incident_app.models.impact import DisruptionKind
from incident_app.models.review import SafeguardFamily
from incident_app.services import corrective_actions
from incident_app.services.corrective_actions import ActionInput
from incident_app.services.corrective_actions import StatusChange
from incident_app.services.evidence import Upload
from incident_app.services.impact.costs import CostInput
from incident_app.services.impact.disruptions import DisruptionInput
from incident_app.services.impact.settings import ImpactSettings
from incident_app.services.review import ReviewInput
from incident_app.services.training import TrainingInput

REVIEW_TEXTS = ("timeline_summary", "root_cause", "what_worked", "what_did_not", "decisions")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def _choices(enum_class: type) -> list[SelectChoice]:
    return [SelectChoice(member.value, member.label) for member in enum_class]


def upload_of(data: object) -> Upload | None:
    """The uploaded file as the services take it (None when no file was chosen)."""
    if not isinstance(data, FileStorage) or not data.filename:
        return None
    return Upload(data.filename, data.stream)


class CostForm(FlaskForm):
    category = SelectField("Category", choices=_choices(CostCategory))
    basis = SelectField(
        "Estimated or actual", choices=_choices(CostBasis), default=CostBasis.ACTUAL.value
    )
    amount = StringField(
        "Amount",
        [
            InputRequired("Enter the amount."),
            Length(max=30, message="Enter an amount, e.g. 1250.00."),
        ],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    currency = StringField("Currency (ISO 4217)", [InputRequired(), Length(max=3)])
    exchange_rate = StringField(
        "Exchange rate (only for another currency)", [Optional(), Length(max=30)]
    )
    spent_on = DateField("Date", [InputRequired("Give the date of the cost.")])
    vendor = StringField("Vendor", [Optional(), Length(max=200)])
    invoice_reference = StringField("Invoice number or link", [Optional(), Length(max=500)])
    evidence = FileField("Invoice or evidence file (optional)")
    description = TextAreaField("Notes", [Optional(), Length(max=5000)])

    def to_input(self) -> CostInput:
        return CostInput(
            category=self.category.data,
            basis=self.basis.data,
            amount=self.amount.data or "",
            currency=self.currency.data or "",
            exchange_rate=self.exchange_rate.data or "",
            spent_on=self.spent_on.data,
            vendor=self.vendor.data or "",
            invoice_reference=self.invoice_reference.data or "",
            description=self.description.data or "",
        )


class DisruptionForm(FlaskForm):
    kind = SelectField("What was disrupted", choices=_choices(DisruptionKind))
    system = StringField("System or process", [InputRequired(), Length(max=200)])
    started_at = DateTimeLocalField(
        "Down from", [InputRequired("Give the start.")], format=DATETIME_FORMATS
    )
    ended_at = DateTimeLocalField(
        "Back up at (empty while still down)", [Optional()], format=DATETIME_FORMATS
    )
    claims_delayed_count = IntegerField("Claims held or delayed", [Optional()])
    claims_delayed_value = StringField("Value of those claims", [Optional(), Length(max=30)])
    notes = TextAreaField("Notes", [Optional(), Length(max=5000)])

    def to_input(self) -> DisruptionInput:
        return DisruptionInput(
            kind=self.kind.data,
            system=self.system.data or "",
            started_at=self.started_at.data,
            ended_at=self.ended_at.data,
            claims_delayed_count=self.claims_delayed_count.data,
            claims_delayed_value=self.claims_delayed_value.data or "",
            notes=self.notes.data or "",
        )


class DeleteForm(FlaskForm):
    """A delete button with its CSRF token."""


class ActionForm(FlaskForm):
    ocr_code = SelectField("From OCR's “actions taken” list", choices=[])
    title = StringField(
        "Action (leave empty to use the OCR wording)", [Optional(), Length(max=300)]
    )
    owner_id = SelectField("Owner", coerce=record_id, choices=[])
    due_on = DateField("Due", [InputRequired("Give the due date.")])
    details = TextAreaField("Details", [Optional(), Length(max=5000)])

    def set_choices(self, owners: list[tuple[int, str]]) -> None:
        self.ocr_code.choices = [SelectChoice("", "— written freely —")] + [
            SelectChoice(code, label) for code, label in corrective_actions.ocr_actions().items()
        ]
        self.owner_id.choices = [SelectChoice(value, label) for value, label in owners]

    def to_input(self) -> ActionInput:
        return ActionInput(
            ocr_code=self.ocr_code.data or "",
            title=self.title.data or "",
            owner_id=self.owner_id.data,
            due_on=self.due_on.data,
            details=self.details.data or "",
        )


class ActionStatusForm(FlaskForm):
    status = SelectField("New status", choices=_choices(ActionStatus))
    note = StringField("Note (a reason is needed to cancel)", [Optional(), Length(max=2000)])
    proof = FileField("Proof of completion")

    def to_change(self) -> StatusChange:
        return StatusChange(
            status=self.status.data, note=self.note.data or "", proof=upload_of(self.proof.data)
        )


class TrainingForm(FlaskForm):
    trainee = StringField("Who (person or department)", [InputRequired(), Length(max=200)])
    trained_on = DateField("When", [InputRequired("Give the training date.")])
    topic = StringField("On what", [InputRequired(), Length(max=300)])
    attestation = FileField("Attestation file (optional)")

    def to_input(self) -> TrainingInput:
        return TrainingInput(
            trainee=self.trainee.data or "",
            trained_on=self.trained_on.data,
            topic=self.topic.data or "",
        )


def _gap_field(family: SafeguardFamily) -> TextAreaField:
    return TextAreaField(
        f"{family.label} ({family.citation}) — one gap per line", [Optional(), Length(max=20000)]
    )


class ReviewForm(FlaskForm):
    timeline_summary = TextAreaField("Timeline summary", [Optional(), Length(max=20000)])
    root_cause = TextAreaField("Root cause", [Optional(), Length(max=20000)])
    what_worked = TextAreaField("What worked", [Optional(), Length(max=20000)])
    what_did_not = TextAreaField("What did not work", [Optional(), Length(max=20000)])
    gaps_administrative = _gap_field(SafeguardFamily.ADMINISTRATIVE)
    gaps_physical = _gap_field(SafeguardFamily.PHYSICAL)
    gaps_technical = _gap_field(SafeguardFamily.TECHNICAL)
    decisions = TextAreaField("Decisions", [Optional(), Length(max=20000)])

    def fill_gaps(self, gaps: dict[str, list[str]]) -> None:
        for family in SafeguardFamily:
            getattr(self, f"gaps_{family.value}").data = "\n".join(gaps.get(family.value, []))

    def to_input(self) -> ReviewInput:
        gaps = {
            f.value: (getattr(self, f"gaps_{f.value}").data or "").splitlines()
            for f in SafeguardFamily
        }
        texts = {name: getattr(self, name).data or "" for name in REVIEW_TEXTS}
        return ReviewInput(**texts, control_gaps=gaps)


class SignForm(FlaskForm):
    number = IntegerField("Version", [InputRequired()])


class RangeForm(FlaskForm):
    """The /impact page's date filter (GET: no CSRF)."""

    class Meta:
        csrf = False

    date_from = DateField("From", [Optional()])
    date_to = DateField("To", [Optional()])


class ImpactSettingsForm(FlaskForm):
    currency = StringField(
        "Reporting currency (ISO 4217, e.g. USD)", [InputRequired(), Length(min=3, max=3)]
    )
    require_signed_review_to_close = BooleanField(
        "An incident can close only with a signed post-incident review"
    )
    require_proof_to_close_action = BooleanField(
        "A corrective action can be marked done only with a proof file"
    )

    def to_settings(self) -> ImpactSettings:
        return ImpactSettings(
            currency=self.currency.data or "",
            require_signed_review_to_close=bool(self.require_signed_review_to_close.data),
            require_proof_to_close_action=bool(self.require_proof_to_close_action.data),
        )
