"""Letters tab forms: field validation and conversion into the services' inputs only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField
from incident_app.blueprints._fields import IntegerField
from incident_app.blueprints._fields import record_id
from incident_app.models.letter import NoticeMethod
from incident_app.services.letters.generation import LetterRequest
from incident_app.services.letters.notice_wording import LIST_MAX_CHARS
from incident_app.services.letters.notice_wording import LIST_MAX_LINES
from incident_app.services.letters.notices import NoticeInput
from incident_app.services.letters.proofs import ProofUpload

LINES_HINT = "One per line."
# A list field's raw text (line breaks included); the service checks lines and characters.
_LIST_LENGTH = Length(
    max=LIST_MAX_CHARS + LIST_MAX_LINES * 2,
    message=f"Too long for a letter: keep it under {LIST_MAX_CHARS} characters.",
)


class ButtonForm(FlaskForm):
    """A bare POST (submit, approve): CSRF only."""


class SubmitForm(FlaskForm):
    """Send to legal review: the reviewer (choices: the letter's eligible reviewers)."""

    reviewer_id = SelectField("Reviewer", coerce=record_id, validate_choice=False)

    def set_reviewers(self, people: list[Any], suggested: Any) -> None:
        self.reviewer_id.choices = [(person.id, person.name) for person in people]
        if suggested is not None and not self.is_submitted():
            self.reviewer_id.data = suggested.id

    def chosen(self) -> int | None:
        return self.reviewer_id.data or None


class ApproveForm(FlaskForm):
    """The reviewer confirms the version they read by its SHA-256 (the first 12 characters
    at least); the service refuses when another version is current."""

    # Checked by the service (after the access check, so a stranger gets 403/404, not 422).
    expected_sha256 = HiddenField("SHA-256", [Length(max=64)])


class ApproveSetForm(FlaskForm):
    """Approve a prepared set together: one `confirm-<letter id>` checkbox per letter, whose
    value is the SHA-256 prefix shown beside it (the service checks each one)."""

    def confirmations(self, submitted: Mapping[str, str]) -> dict[int, str]:
        found = {}
        for name, value in submitted.items():
            prefix, _, letter_id = name.partition("-")
            if prefix == "confirm" and letter_id.isdigit():
                found[int(letter_id)] = value[:64]
        return found


class GenerateForm(FlaskForm):
    obligation_id = IntegerField("Obligation", [InputRequired()])
    template_name = StringField("Letter", [InputRequired(), Length(max=100)])
    recipient_name = StringField("Addressee", [Optional(), Length(max=120)])
    recipient_address = TextAreaField("Address (up to 3 lines)", [Optional(), Length(max=400)])

    def to_request(self) -> LetterRequest:
        lines = tuple((self.recipient_address.data or "").splitlines())
        return LetterRequest(
            self.obligation_id.data, self.template_name.data, self.recipient_name.data or "", lines
        )


class ChangesForm(FlaskForm):
    comment = TextAreaField("What has to change", [InputRequired(), Length(max=5000)])


class WordingForm(FlaskForm):
    what_happened = TextAreaField("What happened (plain language)", [Length(max=5000)])
    phi_types = TextAreaField(
        "Types of information involved (empty: the PHI types on the Facts tab)", [_LIST_LENGTH]
    )
    steps_for_individuals = TextAreaField("Steps individuals should take", [_LIST_LENGTH])
    what_we_are_doing = TextAreaField("What we are doing", [_LIST_LENGTH])
    media_contact = StringField("Media contact (name, phone, email)", [Length(max=300)])
    covered_entity_type = SelectField(
        "Type of covered entity (HHS portal)",
        choices=[
            SelectChoice(name, name)  # type: ignore[attr-defined]
            for name in ("Healthcare Provider", "Health Plan", "Healthcare Clearinghouse")
        ],
    )
    contact_phone = StringField("Contact phone for the HHS portal", [Length(max=40)])
    posting_start = DateField("Substitute notice: posting starts", [Optional()])
    posting_end = DateField("Substitute notice: posting ends", [Optional()])
    toll_free_active_until = DateField("Toll-free number active until", [Optional()])
    substitute_areas = TextAreaField(
        "Substitute notice in media: areas where the people live", [_LIST_LENGTH]
    )
    residents_mailing_on = DateField(
        "Planned mailing date of the resident notices (consumer reporting agency letters)",
        [Optional()],
    )
    acquired_by = StringField(
        "Who acquired the information, if known (FTC notice, 16 CFR 318.6(a))", [Length(max=300)]
    )
    gdpr_contact_point = StringField(
        "GDPR: data protection officer or other contact point (name, email, phone)",
        [Length(max=300)],
    )
    gdpr_subject_categories = TextAreaField(
        "GDPR: categories of data subjects (e.g. patients, employees)", [_LIST_LENGTH]
    )
    gdpr_records = IntegerField(
        "GDPR: approximate number of personal data records", [Optional(), NumberRange(min=0)]
    )
    gdpr_consequences = TextAreaField("GDPR: likely consequences of the breach", [_LIST_LENGTH])
    gdpr_delay_reasons = TextAreaField(
        "GDPR: reasons for notifying later than 72 hours", [Length(max=5000)]
    )
    sec_material_impact = TextAreaField(
        "SEC Item 1.05: material impact, or reasonably likely material impact",
        [Length(max=5000)],
    )
    es_what_happened = TextAreaField("Qué pasó (Spanish letter)", [Length(max=5000)])
    es_phi_types = TextAreaField("Tipos de información", [_LIST_LENGTH])
    es_steps_for_individuals = TextAreaField("Pasos que puede tomar", [_LIST_LENGTH])
    es_what_we_are_doing = TextAreaField("Qué estamos haciendo", [_LIST_LENGTH])

    def fill_from(self, wording: Any) -> None:
        for name in (
            "what_happened",
            "media_contact",
            "covered_entity_type",
            "contact_phone",
            "posting_start",
            "posting_end",
            "toll_free_active_until",
            "residents_mailing_on",
            "acquired_by",
            "gdpr_contact_point",
            "gdpr_records",
            "gdpr_delay_reasons",
            "sec_material_impact",
        ):
            getattr(self, name).data = getattr(wording, name)
        for name in (
            "phi_types",
            "steps_for_individuals",
            "what_we_are_doing",
            "substitute_areas",
            "gdpr_subject_categories",
            "gdpr_consequences",
        ):
            getattr(self, name).data = "\n".join(getattr(wording, name) or [])
        spanish = wording.spanish or {}
        self.es_what_happened.data = spanish.get("what_happened", "")
        for key in ("phi_types", "steps_for_individuals", "what_we_are_doing"):
            getattr(self, f"es_{key}").data = "\n".join(spanish.get(key) or [])


class SentForm(FlaskForm):
    method = SelectField(
        "Method",
        choices=[
            SelectChoice(m.value, m.label)  # type: ignore[attr-defined]
            for m in NoticeMethod
        ],
    )
    sent_on = DateField("Sent on", [InputRequired()])
    outlets = TextAreaField("Outlets (press release; one per line)", [Length(max=2000)])
    transaction_number = StringField("HHS portal transaction number", [Length(max=64)])
    posting_start = DateField("Web posting starts", [Optional()])
    posting_end = DateField("Web posting ends", [Optional()])
    notes = TextAreaField("Notes", [Length(max=2000)])

    def to_notice(self) -> NoticeInput:
        return NoticeInput(
            method=NoticeMethod(self.method.data),
            sent_on=self.sent_on.data,
            outlets=tuple((self.outlets.data or "").splitlines()),
            transaction_number=self.transaction_number.data or "",
            posting_start=self.posting_start.data,
            posting_end=self.posting_end.data,
            notes=self.notes.data or "",
        )


class ProofForm(FlaskForm):
    notice_id = HiddenField()
    file = FileField("Proof file (affidavit, portal confirmation)", [FileRequired()])
    description = StringField("Description", [Length(max=300)])

    def to_upload(self) -> ProofUpload:
        upload = self.file.data
        return ProofUpload(
            upload.filename or "", upload.mimetype or "", upload.stream, self.description.data or ""
        )
