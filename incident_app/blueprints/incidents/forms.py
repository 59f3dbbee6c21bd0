"""Incident forms: field validation and conversion into the services' input values only.

Cross-record rules (discovery before occurrence, per-state sum, team membership) live in the
services, which name the field; the views put those messages on the form.

Over 400 lines: the intake and facts forms share their field definitions (the regime facts of
issue 17 added ~70 lines); moving the regime fields to their own mixin module is the next step.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from wtforms import BooleanField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import ValidationError
from wtforms import widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from incident_app.blueprints._fields import DateField
from incident_app.blueprints._fields import DateTimeLocalField
from incident_app.blueprints._fields import IntegerField
from incident_app.blueprints._fields import record_id
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentStatus
from incident_app.models.incident import StatementForm
from incident_app.models.task import TaskStatus
from incident_app.models.timeline import ActionCategory
from incident_app.services import options
from incident_app.services.incidents.checklists import ItemInput
from incident_app.services.incidents.checklists import TemplateInput
from incident_app.services.incidents.facts import IncidentFacts
from incident_app.services.incidents.listing import ListFilters
from incident_app.services.incidents.statements import StatementInput
from incident_app.services.incidents.tasks import TaskInput
from incident_app.services.incidents.timeline import ActionInput

_STATE_LINE = re.compile(r"^\s*([A-Za-z]{2})\s*[:=,\s]\s*(\d[\d,]*)\s*$")
DATETIME_FORMAT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def choices(pairs: object) -> list[SelectChoice]:
    """WTForms 3.3+ wants SelectChoice objects rather than (value, label) tuples."""
    return [SelectChoice(value, label) for value, label in pairs]  # type: ignore[attr-defined]


def _choices(list_name: str) -> list[SelectChoice]:
    return choices((o.code, o.full_label) for o in options.ocr_options(list_name))


def _text(label: str, max_length: int = 200) -> StringField:
    return StringField(label, [Optional(), Length(max=max_length)])


def _zone(name: str) -> ZoneInfo:
    try:
        if len(name) > 64:  # the longest IANA name is 32; the OS refuses file names over 255
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValidationError("Use an IANA time zone name, e.g. America/Chicago.") from error


def parse_state_counts(text: str) -> dict[str, int]:
    """'NY 100' per line (or 'NY: 100', 'NY,100'); raises ValidationError with the line."""
    counts: dict[str, int] = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = _STATE_LINE.match(line)
        if match is None:
            raise ValidationError(
                f"Line {n} ({line.strip()!r}): write a state code and a number, e.g. 'TX 120'."
            )
        state = match.group(1).upper()
        if state in counts:
            raise ValidationError(f"Line {n}: {state} appears twice.")
        counts[state] = int(match.group(2).replace(",", ""))
    return counts


class FactsForm(FlaskForm):
    """Intake and edit: every fact of the case file."""

    title = StringField("Title", [InputRequired(), Length(max=200)])
    description = TextAreaField("What happened", [Optional(), Length(max=20000)])
    how_found = TextAreaField("How it was found", [Optional(), Length(max=5000)])
    reported_by = _text("Reported by")
    occurred_from = DateTimeLocalField("Occurred from", [Optional()], format=DATETIME_FORMAT)
    occurred_to = DateTimeLocalField("Occurred to", [Optional()], format=DATETIME_FORMAT)
    occurred_zone = StringField("Time zone of these times", [InputRequired(), Length(max=64)])
    discovered_on = DateField("Discovered on", [InputRequired()])
    discovered_by = _text("Discovered by (first non-culpable workforce member or agent)")
    diligence_known_on = DateField(
        "Would have been known with reasonable diligence on", [Optional()]
    )
    diligence_justification = TextAreaField("Justification", [Optional(), Length(max=5000)])
    breach_types = CheckboxesField("Type of breach", choices=_choices("breach_types"))
    breach_type_other = _text("Other type of breach (describe)", 300)
    locations = CheckboxesField("Location of breached information", choices=_choices("locations"))
    location_other = _text("Other location (describe)", 300)
    phi_types = CheckboxesField("Type of PHI involved", choices=_choices("phi_types"))
    safeguards = CheckboxesField(
        "Safeguards in place before the breach", choices=_choices("safeguards")
    )
    systems_involved = TextAreaField("Systems involved", [Optional(), Length(max=5000)])
    affected_estimate = IntegerField(
        "Estimated number of individuals affected", [InputRequired(), NumberRange(min=0)], default=0
    )
    state_estimates = TextAreaField(
        "Estimated individuals per state (one per line, e.g. TX 120)",
        [Optional(), Length(max=5000)],
    )
    ba_involved = BooleanField("A business associate was involved")
    ba_name = _text("Business associate name")
    ba_contact = _text("Business associate contact", 300)
    ba_discovered_on = DateField("Business associate discovered it on", [Optional()])
    ba_notified_on = DateField("Business associate notified us on", [Optional()])
    ba_is_agent = SelectField(
        "Is the business associate our agent?",
        default="",
        choices=choices(
            [("", "Not determined"), ("yes", "Yes (agent)"), ("no", "No (independent contractor)")]
        ),
    )

    # Regimes beyond HIPAA. The awareness time is entered in the organisation's time zone.
    part2_records = BooleanField(
        "Records of a substance use disorder treatment program (42 CFR Part 2) are involved"
    )
    licensed_facility_states = SelectMultipleField(
        "States where we are a licensed health facility (clinic, hospital, home health "
        "agency, hospice)",
        choices=choices(sorted(options.state_names().items())),
        validate_choice=False,  # the service names unknown codes in a sentence
    )
    eu_data_subjects = IntegerField(
        "EU/EEA data subjects affected",
        [
            Optional(),
            NumberRange(
                min=0,
                message="The number of EU/EEA data subjects cannot be negative; "
                "enter 0 when none are affected.",
            ),
        ],
        default=0,
    )
    gdpr_aware_at = DateTimeLocalField(
        "Became aware of the personal data breach (date and time)",
        [Optional()],
        format=DATETIME_FORMAT,
    )
    gdpr_high_risk = SelectField(
        "Likely to result in a high risk to the data subjects (GDPR Art. 34)?",
        default="",
        choices=choices(
            [
                ("", "Not yet assessed"),
                ("yes", "Yes: they must be told without undue delay"),
                ("no", "No (document why)"),
            ]
        ),
    )
    gdpr_controller = SelectField(
        "Our role for this personal data",
        default="controller",
        choices=choices(
            [
                ("controller", "Controller: we decide why and how it is processed"),
                ("processor", "Processor: we process it on a controller's behalf"),
            ]
        ),
    )
    materiality_determined_on = DateField(
        "Determined to be a material cybersecurity incident on", [Optional()]
    )

    def validate_occurred_zone(self, field: StringField) -> None:
        _zone(field.data or "")

    def validate_state_estimates(self, field: TextAreaField) -> None:
        parse_state_counts(field.data)

    def fill_from(self, facts: IncidentFacts, zone: ZoneInfo) -> None:
        """Show stored facts (UTC times shown in the organisation's zone)."""
        for name in (
            "title",
            "description",
            "how_found",
            "reported_by",
            "discovered_on",
            "discovered_by",
            "diligence_known_on",
            "diligence_justification",
            "breach_type_other",
            "location_other",
            "systems_involved",
            "affected_estimate",
            "ba_involved",
            "ba_name",
            "ba_contact",
            "ba_discovered_on",
            "ba_notified_on",
            "part2_records",
            "eu_data_subjects",
            "materiality_determined_on",
        ):
            getattr(self, name).data = getattr(facts, name)
        self.licensed_facility_states.data = list(facts.licensed_facility_states)
        aware = facts.gdpr_aware_at
        self.gdpr_aware_at.data = aware.astimezone(zone).replace(tzinfo=None) if aware else None
        self.gdpr_high_risk.data = {True: "yes", False: "no"}.get(facts.gdpr_high_risk, "")
        self.gdpr_controller.data = "controller" if facts.gdpr_controller else "processor"
        for name in ("breach_types", "locations", "phi_types", "safeguards"):
            getattr(self, name).data = list(getattr(facts, name))
        for name in ("occurred_from", "occurred_to"):
            value = getattr(facts, name)
            getattr(self, name).data = (
                value.astimezone(zone).replace(tzinfo=None) if value else None
            )
        self.occurred_zone.data = zone.key
        self.state_estimates.data = "\n".join(
            f"{state} {count}" for state, count in sorted(facts.state_estimates.items())
        )
        self.ba_is_agent.data = {True: "yes", False: "no"}.get(facts.ba_is_agent, "")

    def to_facts(self, org_zone: ZoneInfo) -> IncidentFacts:
        """The facts as typed; occurrence times in the zone chosen on the form, the GDPR
        awareness time in the organisation's zone `org_zone`."""
        zone = _zone(self.occurred_zone.data)
        return IncidentFacts(
            title=self.title.data or "",
            description=self.description.data or "",
            how_found=self.how_found.data or "",
            reported_by=self.reported_by.data or "",
            occurred_from=_aware(self.occurred_from.data, zone),
            occurred_to=_aware(self.occurred_to.data, zone),
            discovered_on=self.discovered_on.data,
            discovered_by=self.discovered_by.data or "",
            diligence_known_on=self.diligence_known_on.data,
            diligence_justification=self.diligence_justification.data or "",
            breach_types=tuple(self.breach_types.data or ()),
            breach_type_other=self.breach_type_other.data or "",
            locations=tuple(self.locations.data or ()),
            location_other=self.location_other.data or "",
            phi_types=tuple(self.phi_types.data or ()),
            safeguards=tuple(self.safeguards.data or ()),
            systems_involved=self.systems_involved.data or "",
            affected_estimate=self.affected_estimate.data or 0,
            state_estimates=parse_state_counts(self.state_estimates.data),
            ba_involved=bool(self.ba_involved.data),
            ba_name=self.ba_name.data or "",
            ba_contact=self.ba_contact.data or "",
            ba_discovered_on=self.ba_discovered_on.data,
            ba_notified_on=self.ba_notified_on.data,
            ba_is_agent={"yes": True, "no": False}.get(self.ba_is_agent.data),
            part2_records=bool(self.part2_records.data),
            licensed_facility_states=tuple(
                state.strip().upper() for state in self.licensed_facility_states.data or ()
            ),
            eu_data_subjects=self.eu_data_subjects.data or 0,
            gdpr_aware_at=_aware(self.gdpr_aware_at.data, org_zone),
            gdpr_high_risk={"yes": True, "no": False}.get(self.gdpr_high_risk.data),
            gdpr_controller=self.gdpr_controller.data != "processor",
            materiality_determined_on=self.materiality_determined_on.data,
        )


def _aware(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    return value.replace(tzinfo=zone) if value is not None else None


class StatementFields:
    """Law-enforcement statement fields (prefixed le_), shared by intake and the facts page."""

    le_form = SelectField(
        "Statement",
        default="",
        choices=choices(
            [
                ("", "No statement"),
                (StatementForm.ORAL.value, "Oral"),
                (StatementForm.WRITTEN.value, "Written"),
            ]
        ),
    )
    le_official_name = _text("Official's name")
    le_agency = _text("Agency")
    le_contact = _text("Official's contact", 300)
    le_stated_on = DateField("Date of the statement", [Optional()])
    le_delay_until = DateField("Delay until (the period the statement specifies)", [Optional()])
    le_written_received_on = DateField(
        "Written confirmation received on (oral statements)", [Optional()]
    )
    le_notes = TextAreaField("What was said", [Optional(), Length(max=5000)])

    def to_statement(self) -> StatementInput | None:
        if not self.le_form.data or self.le_stated_on.data is None:
            return None
        return StatementInput(
            form=StatementForm(self.le_form.data),
            official_name=self.le_official_name.data or "",
            agency=self.le_agency.data or "",
            stated_on=self.le_stated_on.data,
            contact=self.le_contact.data or "",
            delay_until=self.le_delay_until.data,
            written_received_on=self.le_written_received_on.data,
            notes=self.le_notes.data or "",
        )


class IntakeForm(FactsForm, StatementFields):
    checklists = CheckboxesField("Checklists to start with", coerce=record_id, choices=[])
    exercise = BooleanField("This is a tabletop exercise (drill), not a real incident")

    def validate_le_stated_on(self, field: DateField) -> None:
        if self.le_form.data and field.data is None:
            raise ValidationError("Enter the date of the statement.")


class LawEnforcementForm(FlaskForm, StatementFields):
    """Add one more law-enforcement statement to an incident."""

    le_form = SelectField(
        "Statement",
        choices=choices(
            [(StatementForm.ORAL.value, "Oral"), (StatementForm.WRITTEN.value, "Written")]
        ),
    )
    le_stated_on = DateField("Date of the statement", [InputRequired()])


class EvidenceForm(FlaskForm):
    file = FileField("File", [FileRequired("Choose a file to upload.")])
    description = TextAreaField("What it is", [Optional(), Length(max=2000)])


class TransitionForm(FlaskForm):
    to = SelectField("Move to", choices=choices((s.value, s.label) for s in IncidentStatus))
    reason = TextAreaField(
        "Reason (required to reopen or to close as not a breach)", [Optional(), Length(max=5000)]
    )


class MemberForm(FlaskForm):
    user_id = SelectField("Person", coerce=record_id, validate_choice=False, choices=[])
    case_role = SelectField(
        "Role on this case", choices=choices((r.value, r.label) for r in CaseRole)
    )


class ButtonForm(FlaskForm):
    """A POST button with a CSRF token."""


class ActionForm(FlaskForm):
    occurred_at = DateTimeLocalField("When", [InputRequired()], format=DATETIME_FORMAT)
    category = SelectField("Category", choices=choices((c.value, c.label) for c in ActionCategory))
    text = TextAreaField("What was done", [InputRequired(), Length(max=5000)])

    def to_action(self, zone: ZoneInfo) -> ActionInput:
        return ActionInput(
            occurred_at=self.occurred_at.data.replace(tzinfo=zone),
            category=ActionCategory(self.category.data),
            text=self.text.data,
        )


def _optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return record_id(value)
    except (TypeError, ValueError) as error:
        raise ValueError("Choose a person from the list.") from error


class TaskForm(FlaskForm):
    title = StringField("Task", [InputRequired(), Length(max=300)])
    # Any id is accepted here: the service says clearly when the person is not a member.
    assignee_id = SelectField(
        "Assigned to", coerce=_optional_int, validate_choice=False, choices=[]
    )
    due_on = DateField("Due on", [Optional()])
    status = SelectField(
        "Status",
        default=TaskStatus.OPEN.value,
        choices=choices((s.value, s.label) for s in TaskStatus),
    )
    notes = TextAreaField("Notes", [Optional(), Length(max=5000)])

    def to_task(self) -> TaskInput:
        return TaskInput(
            title=self.title.data or "",
            assignee_id=self.assignee_id.data,
            due_on=self.due_on.data,
            notes=self.notes.data or "",
            status=TaskStatus(self.status.data),
        )


class FilterForm(FlaskForm):
    """The incident list's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        [Optional()],
        choices=choices([("", "Any")] + [(s.value, s.label) for s in IncidentStatus]),
    )
    breach_type = SelectField(
        "Type", [Optional()], choices=[SelectChoice("", "Any"), *_choices("breach_types")]
    )
    discovered_from = DateField("Discovered from", [Optional()])
    discovered_to = DateField("to", [Optional()])
    due_within = IntegerField("Due within (days)", [Optional(), NumberRange(min=0, max=3650)])
    q = StringField("Search title and description", [Optional(), Length(max=200)])
    exercises = SelectField(
        "Exercises",
        [Optional()],
        choices=choices(
            [
                ("", "Real incidents and exercises"),
                ("real", "Real incidents only"),
                ("only", "Exercises only"),
            ]
        ),
    )
    sort = SelectField(
        "Sort by",
        [Optional()],
        default="created_at",
        choices=choices(
            [
                ("created_at", "Opened"),
                ("reference", "Reference"),
                ("title", "Title"),
                ("status", "Status"),
                ("discovered_on", "Discovered"),
                ("next_due", "Next deadline"),
            ]
        ),
    )
    order = SelectField(
        "Order",
        [Optional()],
        default="desc",
        choices=choices([("desc", "Descending"), ("asc", "Ascending")]),
    )
    page = IntegerField("Page", [Optional(), NumberRange(min=1)])

    def to_filters(self) -> ListFilters:
        return ListFilters(
            status=IncidentStatus(self.status.data) if self.status.data else None,
            breach_type=self.breach_type.data or None,
            discovered_from=self.discovered_from.data,
            discovered_to=self.discovered_to.data,
            due_within_days=self.due_within.data,
            text=self.q.data or "",
            sort=self.sort.data or "created_at",
            descending=self.order.data != "asc",
            page=self.page.data or 1,
            exercises={"real": False, "only": True}.get(self.exercises.data or ""),
        )


class TemplateForm(FlaskForm):
    name = StringField("Name", [InputRequired(), Length(max=200)])
    breach_types = CheckboxesField(
        "Seeded for these types of breach", choices=_choices("breach_types")
    )
    items = TextAreaField(
        "Tasks, one per line: title | days until due (optional)",
        [InputRequired(), Length(max=20000)],
    )
    active = BooleanField("Active", default=True)

    def validate_items(self, field: TextAreaField) -> None:
        parse_items(field.data)

    def to_template(self) -> TemplateInput:
        return TemplateInput(
            name=self.name.data or "",
            breach_types=tuple(self.breach_types.data or ()),
            items=tuple(parse_items(self.items.data)),
            active=bool(self.active.data),
        )


def parse_items(text: str) -> list[ItemInput]:
    items = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        title, _, days = line.partition("|")
        days = days.strip()
        if days and not days.isdigit():
            raise ValidationError(f"Line {n}: the days after '|' must be a whole number.")
        items.append(ItemInput(title=title.strip(), due_days=int(days) if days else None))
    return items


def items_text(items: list) -> str:
    return "\n".join(
        f"{i.title} | {i.due_days}" if i.due_days is not None else i.title for i in items
    )
