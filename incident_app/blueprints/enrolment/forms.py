"""Enrollment-code forms: the vendor's file with the offer it stands for, plain buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange

from incident_app.blueprints._fields import DateField
from incident_app.blueprints._fields import IntegerField
from incident_app.services.enrolment.importing import Offer


class ButtonForm(FlaskForm):
    """A POST button: only the CSRF token."""


class OfferForm(FlaskForm):
    """The offer alone (the "edit offer" form, shown with the prefix "offer-")."""

    vendor = StringField("Monitoring vendor", [InputRequired(), Length(max=120)])
    product = StringField("Product (as the letter names it)", [InputRequired(), Length(max=120)])
    months = IntegerField(
        "Length of the offer, in months",
        [InputRequired(), NumberRange(min=1, max=120, message="1 to 120 months.")],
    )
    url = StringField("Enrollment web address", [InputRequired(), Length(max=200)])
    phone = StringField("Enrollment phone number", [InputRequired(), Length(max=40)])
    enrol_by = DateField("Enroll by", [InputRequired(message="Enter the enroll-by date.")])

    def to_offer(self) -> Offer:
        return Offer(
            vendor=self.vendor.data or "",
            product=self.product.data or "",
            months=self.months.data or 0,
            url=(self.url.data or "").strip(),
            phone=self.phone.data or "",
            enrol_by=self.enrol_by.data,
        )


class ImportForm(OfferForm):
    """The vendor's file of codes with the offer it stands for."""

    file = FileField("Codes file (CSV)", [FileRequired("Choose the vendor's CSV file of codes.")])
