"""The Enrollment codes tab: the identity-protection offer and its code pool (import the
vendor's codes, see how many are free, the state offer lengths), and the export of assigned
codes for the vendor (audited). Codes are assigned by the mail-merge worker, never here."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from werkzeug.wrappers import Response

from incident_app import app_store
from incident_app import clock
from incident_app.blueprints._downloads import csv_download
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.enrolment import forms
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.models.enrolment import CodePool
from incident_app.services.enrolment import importing
from incident_app.services.enrolment import reading

bp = Blueprint("enrolment", __name__, url_prefix="/incidents/<int:incident_id>/codes")
INCIDENT_TABS = [(47, "Enrollment codes", "enrolment.index")]


def _filled(form_class: type[forms.OfferForm], pool: CodePool | None, **kwargs: str) -> Any:
    return form_class(
        formdata=None,
        vendor=pool.vendor if pool else "",
        product=pool.product if pool else "",
        months=pool.offer_months if pool else None,
        url=pool.enrol_url if pool else "",
        phone=pool.enrol_phone if pool else "",
        enrol_by=pool.enrol_by if pool else None,
        **kwargs,
    )


def _page(
    incident_id: int,
    form: forms.ImportForm | None = None,
    status: int = 200,
    offer_form: forms.OfferForm | None = None,
) -> tuple[str, int]:
    view = reading.pool_status(get_session(), actor=current_user, incident_id=incident_id)
    return render_template(
        "enrolment/index.html",
        incident=view.incident,
        view=view,
        form=form or _filled(forms.ImportForm, view.pool),
        offer_form=offer_form or _filled(forms.OfferForm, view.pool, prefix="offer"),
        button=forms.ButtonForm(formdata=None),
        max_mb=current_app.config["CODES_MAX_MB"],
    ), status


@bp.route("/")
@login_required
def index(incident_id: int) -> tuple[str, int]:
    return _page(incident_id)


@bp.route("/imports", methods=["POST"])
@login_required
def upload(incident_id: int) -> Response | tuple[str, int]:
    form = forms.ImportForm()
    if form.validate_on_submit():
        try:
            record = importing.import_codes(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                offer=form.to_offer(),
                upload=form.file.data.stream,
                filename=form.file.data.filename or "",
                keyring=app_store.current_keyring(),
                max_bytes=current_app.config["CODES_MAX_MB"] * 1024 * 1024,
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(f"{record.codes:,} codes imported into the pool.", "success")
            return redirect(url_for("enrolment.index", incident_id=incident_id))
    return _page(incident_id, form=form, status=422)


@bp.route("/offer", methods=["POST"])
@login_required
def offer(incident_id: int) -> Response | tuple[str, int]:
    form = forms.OfferForm(prefix="offer")
    if form.validate_on_submit():
        try:
            changed = importing.update_offer(
                get_session(),
                actor=current_user,
                now=clock.utcnow(),
                incident_id=incident_id,
                offer=form.to_offer(),
            )
        except ValidationFailed as error:
            get_session().rollback()
            show_on_form(form, error)
        else:
            flash(
                "Offer changed. The letters print it: legal must approve them again before "
                "the next mailing."
                if changed
                else "The offer is unchanged.",
                "success" if changed else "info",
            )
            return redirect(url_for("enrolment.index", incident_id=incident_id))
    return _page(incident_id, offer_form=form, status=422)


@bp.route("/export.csv", methods=["POST"])
@login_required
def export(incident_id: int) -> Response:
    if not forms.ButtonForm().validate_on_submit():
        abort(400)
    lines = reading.export_assigned(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        keyring=app_store.current_keyring(),
    )
    return csv_download(lines, f"enrollment-codes-incident-{incident_id}.csv")
