"""Client registry pages (officers and admins) and an incident's clients with the overview."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from incident_app import app_store
from incident_app import clock
from incident_app.access import Capability
from incident_app.access import can
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.clients import notice_views  # noqa: F401 - registers its routes on bp
from incident_app.blueprints.clients.blueprint import bp
from incident_app.blueprints.clients.forms import ClientForm
from incident_app.blueprints.clients.forms import ConfirmForm
from incident_app.blueprints.clients.forms import DraftNoticeForm
from incident_app.blueprints.clients.forms import FileForm
from incident_app.blueprints.clients.forms import IncidentClientsForm
from incident_app.blueprints.clients.forms import InviteContactForm
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.services.accounts import invitations
from incident_app.services.clients import contacts as client_contacts
from incident_app.services.clients import incident_clients as client_links
from incident_app.services.clients import notices as client_notices
from incident_app.services.clients import registry
from incident_app.services.incidents.access import get_visible
from incident_app.services.organisation import business_associate_mode
from incident_app.services.organisation import get_organisation

NAV = [(85, "Clients", "clients.index", Capability.MANAGE_CLIENTS)]
INCIDENT_TABS = [(45, "Clients", "clients.incident_clients")]


@bp.route("/clients")
@capability_required(Capability.MANAGE_CLIENTS)
def index() -> str:
    return render_template(
        "clients/index.html", clients=registry.list_clients(get_session(), actor=current_user)
    )


@bp.route("/clients/new", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_CLIENTS)
def new() -> tuple[str, int] | Response:
    form = ClientForm()
    if form.validate_on_submit():
        try:
            client = registry.create_client(
                get_session(), actor=current_user, values=form.to_values(), now=clock.utcnow()
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(f"Client {client.name} added.", "success")
            return redirect(url_for("clients.edit", client_id=client.id))
    return render_template("clients/edit.html", form=form, client=None), _status(form)


@bp.route("/clients/<int:client_id>", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_CLIENTS)
def edit(client_id: int) -> tuple[str, int] | Response:
    client = registry.get_client(get_session(), actor=current_user, client_id=client_id)
    form = ClientForm(obj=client, contacts=registry.contacts_text(client.contacts))
    if not form.is_submitted():
        form.period_count.data = client.notice_period_count
        form.period_unit.data = client.notice_period_unit.value if client.notice_period_unit else ""
        agent = client.business_associate_is_agent
        form.ba_is_agent.data = "" if agent is None else ("yes" if agent else "no")
    if form.validate_on_submit():
        try:
            registry.update_client(
                get_session(),
                actor=current_user,
                client_id=client_id,
                values=form.to_values(),
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Client saved. Deadlines of its open incidents recalculated.", "success")
            return redirect(url_for("clients.edit", client_id=client_id))
    client = registry.get_client(get_session(), actor=current_user, client_id=client_id)
    incidents = client_links.client_incidents(get_session(), client_id=client_id)
    return render_template(
        "clients/edit.html",
        form=form,
        client=client,
        incidents=incidents,
        file_form=FileForm(),
        contacts=client_contacts.list_contacts(
            get_session(), actor=current_user, client_id=client_id
        ),
        has_password=invitations.has_password,
        invite_form=InviteContactForm(prefix="contact"),
        confirm_form=ConfirmForm(),
    ), _status(form)


@bp.route("/clients/<int:client_id>/baa", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_CLIENTS)
def baa(client_id: int) -> Response:
    form = FileForm()
    if form.is_submitted():
        return _attach_baa(client_id, form)
    client, data = registry.read_baa(
        get_session(),
        actor=current_user,
        client_id=client_id,
        store=app_store.current_store(),
        now=clock.utcnow(),
    )
    return FlaskResponse(
        data,
        mimetype=client.baa_content_type,
        headers={"Content-Disposition": f'attachment; filename="{client.baa_filename}"'},
    )


def _attach_baa(client_id: int, form: FileForm) -> Response:
    upload = form.file.data if isinstance(form.file.data, FileStorage) else None
    if not form.validate() or upload is None:
        flash("Choose the agreement's file.", "error")
        return redirect(url_for("clients.edit", client_id=client_id))
    try:
        registry.attach_baa(
            get_session(),
            actor=current_user,
            client_id=client_id,
            filename=upload.filename or "",
            data=upload.read(registry.BAA_MAX_BYTES + 1),
            store=app_store.current_store(),
            now=clock.utcnow(),
        )
    except ValidationFailed as error:
        flash(str(error), "error")
    else:
        flash("Business associate agreement on file.", "success")
    return redirect(url_for("clients.edit", client_id=client_id))


@bp.route("/incidents/<int:incident_id>/clients", methods=["GET", "POST"])
@login_required
def incident_clients(incident_id: int) -> tuple[str, int] | Response:
    session = get_session()
    incident = get_visible(session, actor=current_user, incident_id=incident_id)
    form = IncidentClientsForm()
    if form.validate_on_submit():
        try:
            client_links.set_clients(
                session,
                actor=current_user,
                incident_id=incident_id,
                client_ids=form.client_ids.data or [],
                now=clock.utcnow(),
            )
        except (ValidationFailed, InvalidTransition) as error:
            flash(str(error), "error")
        else:
            flash("Clients saved. Per-client deadlines recalculated.", "success")
        return redirect(url_for("clients.incident_clients", incident_id=incident_id))
    lines = client_links.overview(
        session, actor=current_user, incident_id=incident_id, now=clock.utcnow()
    )
    # Naming clients is offered in business-associate mode (or to undo names given before).
    offered = business_associate_mode(get_organisation(session)) or bool(lines)
    registry_clients = (
        registry.list_clients(session, actor=current_user)
        if offered and can(current_user, Capability.MANAGE_CLIENTS)
        else []
    )
    return render_template(
        "clients/incident.html",
        incident=incident,
        lines=lines,
        notices=client_notices.by_client(session, incident_id=incident.id),
        draft_form=DraftNoticeForm(),
        confirm_form=ConfirmForm(),
        form=form,
        registry_clients=registry_clients,
        chosen={line.client.id for line in lines},
        ba_mode=offered,
        ack_days=get_organisation(session).client_ack_business_days,
    ), 200


def _status(form: ClientForm) -> int:
    return 422 if form.errors or form.form_errors else 200
