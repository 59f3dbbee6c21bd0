"""The Inquiries tab: record calls, emails, letters and visits from individuals, the list
(initials and letter codes; names only after a privacy officer's audited reveal), one inquiry
(decrypted, audited), closing it, the per-day chart and the CSV export."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from werkzeug.wrappers import Response

from incident_app import app_store
from incident_app import clock
from incident_app.blueprints._downloads import csv_download
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.inquiries import forms
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.models.inquiry import InquiryCategory
from incident_app.models.user import Role
from incident_app.services.inquiries import followups
from incident_app.services.inquiries import listing
from incident_app.services.inquiries import recording
from incident_app.services.organisation import get_organisation

bp = Blueprint("inquiries", __name__, url_prefix="/incidents/<int:incident_id>/inquiries")
INCIDENT_TABS = [(49, "Inquiries", "inquiries.index")]


def _filters() -> listing.Filters:
    category = request.args.get("category", "")
    return listing.Filters(
        status=request.args.get("status", "open"),
        overdue=request.args.get("overdue") == "1",
        category=InquiryCategory(category) if category in set(InquiryCategory) else None,
    )


def _new_form(incident_id: int, form: forms.InquiryForm | None = None) -> forms.InquiryForm:
    form = form or forms.InquiryForm(formdata=None)
    form.set_assignees(recording.assignees(get_session(), incident_id=incident_id))
    return form


def _index_page(
    incident_id: int, form: forms.InquiryForm | None = None, status: int = 200
) -> tuple[str, int]:
    filters = _filters()
    view = listing.list_inquiries(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        keyring=app_store.current_keyring(),
        filters=filters,
        reveal=request.args.get("reveal") == "1",
    )
    chart = listing.per_day(
        get_session(), actor=current_user, now=clock.utcnow(), incident_id=incident_id
    )
    return render_template(
        "inquiries/index.html",
        incident=view.incident,
        view=view,
        chart=chart,
        filters=filters,
        categories=list(InquiryCategory),
        form=_new_form(incident_id, form),
        button=forms.ButtonForm(formdata=None),
        may_reveal=current_user.role is Role.PRIVACY_OFFICER,
        zone=get_organisation(get_session()).timezone,
    ), status


@bp.route("/")
@login_required
def index(incident_id: int) -> tuple[str, int]:
    return _index_page(incident_id)


@bp.route("/", methods=["POST"])
@login_required
def record(incident_id: int) -> Response | tuple[str, int]:
    form = _new_form(incident_id, forms.InquiryForm())
    if form.validate_on_submit():
        try:
            inquiry = recording.record_inquiry(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                keyring=app_store.current_keyring(),
                entry=form.to_input(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(f"Inquiry #{inquiry.id} recorded.", "success")
            return redirect(
                url_for("inquiries.detail", incident_id=incident_id, inquiry_id=inquiry.id)
            )
    return _index_page(incident_id, form=form, status=422)


def _detail_page(
    incident_id: int,
    inquiry_id: int,
    form: forms.CloseForm | None = None,
    status: int = 200,
    link_form: forms.LinkForm | None = None,
    address_form: forms.AddressForm | None = None,
) -> tuple[str, int]:
    record = recording.view_inquiry(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        inquiry_id=inquiry_id,
        keyring=app_store.current_keyring(),
    )
    view = listing.incident_of(get_session(), actor=current_user, incident_id=incident_id)
    return render_template(
        "inquiries/detail.html",
        incident=view,
        record=record,
        form=form or forms.CloseForm(formdata=None),
        link_form=link_form or forms.LinkForm(formdata=None),
        address_form=address_form or forms.AddressForm(formdata=None),
        zone=get_organisation(get_session()).timezone,
    ), status


@bp.route("/<int:inquiry_id>")
@login_required
def detail(incident_id: int, inquiry_id: int) -> tuple[str, int]:
    return _detail_page(incident_id, inquiry_id)


@bp.route("/<int:inquiry_id>/close", methods=["POST"])
@login_required
def close(incident_id: int, inquiry_id: int) -> Response | tuple[str, int]:
    form = forms.CloseForm()
    if form.validate_on_submit():
        try:
            recording.close_inquiry(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                inquiry_id=inquiry_id,
                keyring=app_store.current_keyring(),
                outcome=form.outcome.data or "",
            )
        except (ValidationFailed, InvalidTransition) as error:
            show_on_form(form, error)
        else:
            flash("Inquiry closed; its follow-up reminders stop.", "success")
            return redirect(
                url_for("inquiries.detail", incident_id=incident_id, inquiry_id=inquiry_id)
            )
    return _detail_page(incident_id, inquiry_id, form=form, status=422)


@bp.route("/<int:inquiry_id>/link", methods=["POST"])
@login_required
def link(incident_id: int, inquiry_id: int) -> Response | tuple[str, int]:
    form = forms.LinkForm()
    if form.validate_on_submit():
        try:
            inquiry = followups.link_person(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                inquiry_id=inquiry_id,
                keyring=app_store.current_keyring(),
                letter_code=form.letter_code.data or "",
                first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                birth=form.date_of_birth.data,
            )
        except ValidationFailed as error:
            get_session().rollback()  # the page below audits its view (commits)
            show_on_form(form, error)
        else:
            flash(f"Inquiry linked to roster record #{inquiry.person_id}.", "success")
            return redirect(
                url_for("inquiries.detail", incident_id=incident_id, inquiry_id=inquiry_id)
            )
    return _detail_page(incident_id, inquiry_id, link_form=form, status=422)


@bp.route("/<int:inquiry_id>/address", methods=["POST"])
@login_required
def address(incident_id: int, inquiry_id: int) -> Response | tuple[str, int]:
    form = forms.AddressForm()
    if form.validate_on_submit():
        try:
            code = followups.record_new_address(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                inquiry_id=inquiry_id,
                keyring=app_store.current_keyring(),
                new_address=form.to_address(),
            )
        except ValidationFailed as error:
            get_session().rollback()  # the page below audits its view (commits)
            show_on_form(form, error)
        else:
            flash(
                f"New address recorded; letter {code} is re-queued for the next mailing.",
                "success",
            )
            return redirect(
                url_for("inquiries.detail", incident_id=incident_id, inquiry_id=inquiry_id)
            )
    return _detail_page(incident_id, inquiry_id, address_form=form, status=422)


@bp.route("/export", methods=["POST"])
@login_required
def export(incident_id: int) -> Response:
    if not forms.ButtonForm().validate_on_submit():
        abort(400)
    lines = listing.export_inquiries(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        keyring=app_store.current_keyring(),
    )
    return csv_download(lines, f"inquiries-incident-{incident_id}.csv")
