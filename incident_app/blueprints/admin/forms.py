"""Admin forms: users and organisation settings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from incident_app.blueprints._invite import FirstPasswordForm
from incident_app.models.user import Role
from incident_app.services.organisation import ENTITY_ROLES

# Client contacts are invited per client (Clients page), never made here.
ROLE_CHOICES = [
    SelectChoice(role.value, role.label) for role in Role if role is not Role.CLIENT_CONTACT
]


class UserCreateForm(FirstPasswordForm):
    email = StringField("Email", [InputRequired(), Length(max=254)])
    name = StringField("Full name", [InputRequired(), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES)


class UserRoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class UserActiveForm(FlaskForm):
    """Deactivate / reactivate: a button with a CSRF token."""


def _text(label: str, max_length: int, **kw: object) -> StringField:
    return StringField(label, [Optional(), Length(max=max_length)], **kw)


class SettingsForm(FlaskForm):
    legal_name = StringField("Legal name", [InputRequired(), Length(max=200)])
    address_line1 = _text("Street address", 200)
    address_line2 = _text("Address line 2", 200)
    city = _text("City", 100)
    state = _text("State (USPS code)", 2)
    postal_code = _text("ZIP code", 10)
    toll_free_number = _text("Toll-free number", 40)
    email = _text("Contact email", 254)
    website = _text("Website", 300)
    signatory_name = _text("Signatory name", 200)
    signatory_title = _text("Signatory title", 200)
    timezone = StringField("Time zone (IANA name)", [InputRequired(), Length(max=64)])
    logo = FileField("Logo (PNG or JPEG, at most 512 KB)")
    mfa_required_roles = SelectMultipleField(
        "Require two-step sign-in for these roles",
        choices=ROLE_CHOICES,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    remove_logo = BooleanField("Remove the current logo")
    privacy_officer_may_approve = BooleanField(
        "Privacy officers may approve letters (legal reviewers always may)"
    )
    email_notice_enabled = BooleanField(
        "Send the breach notice by email to people who agreed to electronic notice"
    )
    # Any value is passed on: the service refuses an unknown role with a clear message.
    entity_role = SelectField(
        "Our role under the breach notification rules",
        choices=[SelectChoice(code, label) for code, (label, _) in ENTITY_ROLES.items()],
        validate_choice=False,
    )
    acts_as_business_associate = BooleanField(
        "We also act as a business associate for covered-entity clients (client registry)"
    )
    public_company = BooleanField(
        "We are a public company (SEC registrant: Form 8-K Item 1.05 applies)"
    )
    # Range checked by the service (its message names the limits).
    client_ack_business_days = IntegerField(
        "Remind us when a client has not acknowledged a notice after (business days)",
        validators=[Optional()],
    )
