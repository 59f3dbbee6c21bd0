"""The 164.410 notice to each client of an incident (draft, supplements, sent, identities) and
inviting a client's contacts. Thin views: one service call each; the services check access and
audit every read of the identities."""

from __future__ import annotations

from functools import partial

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from werkzeug.wrappers import Response

from incident_app import app_store
from incident_app import clock
from incident_app.access import Capability
from incident_app.blueprints._downloads import csv_download
from incident_app.blueprints._downloads import download
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._invite import invitation_delivery
from incident_app.blueprints._invite import send_again
from incident_app.blueprints.clients.blueprint import bp
from incident_app.blueprints.clients.forms import ConfirmForm
from incident_app.blueprints.clients.forms import DraftNoticeForm
from incident_app.blueprints.clients.forms import InviteContactForm
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.services.clients import contacts
from incident_app.services.clients import letter as client_letter
from incident_app.services.clients import notices

NOTICE = "/incidents/<int:incident_id>/client-notices/<int:client_notice_id>"


def _back(incident_id: int) -> Response:
    return redirect(url_for("clients.incident_clients", incident_id=incident_id))


@bp.route("/incidents/<int:incident_id>/clients/<int:client_id>/notices", methods=["POST"])
@login_required
def draft_notice(incident_id: int, client_id: int) -> Response:
    form = DraftNoticeForm()
    if not form.validate_on_submit():
        flash("Keep what is new under 4,000 characters.", "error")
        return _back(incident_id)
    try:
        notice = notices.draft_notice(
            get_session(),
            actor=current_user,
            incident_id=incident_id,
            client_id=client_id,
            update=form.update.data or "",
            store=app_store.current_store(),
            now=clock.utcnow(),
        )
    except (ValidationFailed, InvalidTransition) as error:
        flash(str(error), "error")
        return _back(incident_id)
    flash(f"{notice.label} drafted with {notice.identities_count} individual(s).", "success")
    return redirect(url_for("clients.notice", incident_id=incident_id, client_notice_id=notice.id))


@bp.route(NOTICE)
@login_required
def notice(incident_id: int, client_notice_id: int) -> str:
    found = notices.get_notice(
        get_session(), actor=current_user, incident_id=incident_id, notice_id=client_notice_id
    )
    return render_template(
        "clients/notice.html",
        notice=found,
        changes=client_letter.supplement_changes(get_session(), found),
        incident_id=incident_id,
        confirm_form=ConfirmForm(),
        draft_form=DraftNoticeForm(update=found.content.get("update", "")),
        portal=False,
    )


@bp.route(f"{NOTICE}/identities.csv")
@login_required
def notice_identities(incident_id: int, client_notice_id: int) -> Response:
    got = notices.identities(
        get_session(),
        actor=current_user,
        incident_id=incident_id,
        notice_id=client_notice_id,
        store=app_store.current_store(),
        now=clock.utcnow(),
    )
    return csv_download(got.data, got.filename)


@bp.route(f"{NOTICE}/letter.pdf")
@login_required
def notice_pdf(incident_id: int, client_notice_id: int) -> Response:
    name, data = client_letter.notice_pdf(
        get_session(),
        actor=current_user,
        incident_id=incident_id,
        notice_id=client_notice_id,
        now=clock.utcnow(),
    )
    return download(data, content_type="application/pdf", filename=name)


@bp.route(f"{NOTICE}/sent", methods=["POST"])
@login_required
def notice_sent(incident_id: int, client_notice_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        try:
            notices.record_sent(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                notice_id=client_notice_id,
                now=clock.utcnow(),
            )
        except InvalidTransition as error:
            flash(str(error), "error")
        else:
            flash("Recorded as sent to the client.", "success")
    return redirect(
        url_for("clients.notice", incident_id=incident_id, client_notice_id=client_notice_id)
    )


@bp.route(f"{NOTICE}/redraft", methods=["POST"])
@login_required
def notice_redraft(incident_id: int, client_notice_id: int) -> Response:
    form = DraftNoticeForm()
    if not form.validate_on_submit():
        flash("Keep what is new under 4,000 characters.", "error")
        return _back(incident_id)
    try:
        fresh = notices.redraft(
            get_session(),
            actor=current_user,
            incident_id=incident_id,
            notice_id=client_notice_id,
            update=form.update.data or "",
            store=app_store.current_store(),
            now=clock.utcnow(),
        )
    except (ValidationFailed, InvalidTransition) as error:
        flash(str(error), "error")
        return _back(incident_id)
    flash(f"{fresh.label} redrafted.", "success")
    return redirect(url_for("clients.notice", incident_id=incident_id, client_notice_id=fresh.id))


@bp.route(f"{NOTICE}/discard", methods=["POST"])
@login_required
def notice_discard(incident_id: int, client_notice_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        try:
            notices.discard_draft(
                get_session(),
                actor=current_user,
                incident_id=incident_id,
                notice_id=client_notice_id,
                now=clock.utcnow(),
            )
        except InvalidTransition as error:
            flash(str(error), "error")
        else:
            flash("Draft discarded.", "success")
    return _back(incident_id)


@bp.route("/clients/<int:client_id>/contacts", methods=["POST"])
@capability_required(Capability.MANAGE_CLIENTS)
def invite_contact(client_id: int) -> Response:
    form = InviteContactForm(prefix="contact")  # apart from the client form on one page
    if form.validate_on_submit():
        try:
            link = contacts.invite_contact(
                get_session(),
                actor=current_user,
                client_id=client_id,
                email=form.email.data or "",
                name=form.name.data or "",
                password=form.first_password(),
                now=clock.utcnow(),
                delivery=invitation_delivery(),
            )
        except ValidationFailed as error:
            flash(str(error), "error")
        else:
            how = "An email with a one-time link to set their password is on its way. "
            flash(
                f"{link.user.email} invited. {how if form.first_password() is None else ''}"
                "They must set up an authenticator app at first sign-in and then see only this "
                "client's notices.",
                "success",
            )
    else:
        flash("Give the contact's name and email.", "error")
    return redirect(url_for("clients.edit", client_id=client_id))


@bp.route("/clients/<int:client_id>/contacts/<int:user_id>/invitation", methods=["POST"])
@capability_required(Capability.MANAGE_CLIENTS)
def resend_invitation(client_id: int, user_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        send_again(
            partial(
                contacts.resend_invitation,
                get_session(),
                actor=current_user,
                client_id=client_id,
                user_id=user_id,
                now=clock.utcnow(),
            )
        )
    return redirect(url_for("clients.edit", client_id=client_id))
