"""The client portal: a client contact's only pages. Its client's incidents, each with the
client's deadlines, the notices sent to it (with the identities download) and the individuals
they named; the contact acknowledges receipt of each notice.

Every view passes the client id of its URL to services/clients/portal.py, which answers
NotFound (audited) unless the signed-in user is that client's contact; the request hook
`web._confine_client_contacts` keeps contacts out of every other page.
"""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from incident_app import app_store
from incident_app import clock
from incident_app.blueprints._downloads import csv_download
from incident_app.blueprints._downloads import download
from incident_app.db import get_session
from incident_app.services.clients import letter as client_letter
from incident_app.services.clients import notices
from incident_app.services.clients import portal

bp = Blueprint("portal", __name__, url_prefix="/portal")
CASE = "/clients/<int:client_id>/incidents/<int:incident_id>"
NOTICE = f"{CASE}/notices/<int:client_notice_id>"


class AcknowledgeForm(FlaskForm):
    """The acknowledgement button; the CSRF token is its only field."""


@bp.route("/")
@login_required
def index() -> str:
    session = get_session()
    client, incidents = portal.home(session, actor=current_user, now=clock.utcnow())
    awaiting = portal.awaiting_by_incident(session, client.id)
    return render_template(
        "portal/home.html", client=client, incidents=incidents, awaiting=awaiting
    )


@bp.route(CASE)
@login_required
def case(client_id: int, incident_id: int) -> str:
    found = portal.case(
        get_session(),
        actor=current_user,
        client_id=client_id,
        incident_id=incident_id,
        now=clock.utcnow(),
    )
    return render_template("portal/case.html", case=found, form=AcknowledgeForm())


@bp.route(f"{CASE}.json")
@login_required
def case_json(client_id: int, incident_id: int) -> Response:
    found = portal.case(
        get_session(),
        actor=current_user,
        client_id=client_id,
        incident_id=incident_id,
        now=clock.utcnow(),
    )
    return jsonify(portal.as_json(found))


@bp.route(f"{CASE}/individuals")
@login_required
def individuals(client_id: int, incident_id: int) -> str:
    people = portal.individuals(
        get_session(),
        actor=current_user,
        client_id=client_id,
        incident_id=incident_id,
        keyring=app_store.current_store().keyring,
        now=clock.utcnow(),
    )
    return render_template(
        "portal/individuals.html", people=people, client_id=client_id, incident_id=incident_id
    )


@bp.route(NOTICE)
@login_required
def notice(client_id: int, incident_id: int, client_notice_id: int) -> str:
    found = portal.contact_notice(
        get_session(),
        actor=current_user,
        client_id=client_id,
        incident_id=incident_id,
        notice_id=client_notice_id,
        now=clock.utcnow(),
    )
    return render_template(
        "portal/notice.html",
        notice=found,
        changes=client_letter.supplement_changes(get_session(), found),
        form=AcknowledgeForm(),
    )


@bp.route(f"{NOTICE}/letter.pdf")
@login_required
def notice_pdf(client_id: int, incident_id: int, client_notice_id: int) -> Response:
    name, data = client_letter.notice_pdf(
        get_session(),
        actor=current_user,
        incident_id=incident_id,
        notice_id=client_notice_id,
        now=clock.utcnow(),
        client_id=client_id,
    )
    return download(data, content_type="application/pdf", filename=name)


@bp.route(f"{NOTICE}/identities.csv")
@login_required
def identities(client_id: int, incident_id: int, client_notice_id: int) -> Response:
    got = notices.identities(
        get_session(),
        actor=current_user,
        incident_id=incident_id,
        notice_id=client_notice_id,
        store=app_store.current_store(),
        now=clock.utcnow(),
        client_id=client_id,
    )
    return csv_download(got.data, got.filename)


@bp.route(f"{NOTICE}/acknowledge", methods=["POST"])
@login_required
def acknowledge(client_id: int, incident_id: int, client_notice_id: int) -> Response:
    acknowledged = notices.acknowledge(
        get_session(),
        actor=current_user,
        client_id=client_id,
        incident_id=incident_id,
        notice_id=client_notice_id,
        now=clock.utcnow(),
    )
    # CSRFProtect has checked the token before the view runs (every POST of the app).
    flash(f"Receipt of the {acknowledged.label.lower()} acknowledged.", "success")
    return redirect(
        url_for(
            "portal.notice",
            client_id=client_id,
            incident_id=incident_id,
            client_notice_id=client_notice_id,
        )
    )
