"""The Mailing tab: confirm and start a mail merge from the approved letter variants, follow it
live, pause / resume / cancel, retry failed letters, download print files and manifests
(audited), and record a completed mailing as mailed.
Letters are rendered by the worker, never here."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from flask import Response
from flask import abort
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required

from incident_app import app_store
from incident_app import clock
from incident_app.blueprints import _downloads
from incident_app.blueprints.incidents.blueprint import today as today_in_zone
from incident_app.blueprints.mailmerge.forms import ButtonForm
from incident_app.blueprints.mailmerge.forms import MailedForm
from incident_app.blueprints.mailmerge.forms import StartForm
from incident_app.db import get_session
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.models.mail_batch import Variant
from incident_app.services.mail_merge import batches
from incident_app.services.mail_merge import downloads
from incident_app.services.mail_merge import mailed as mailed_service
from incident_app.services.mail_merge import pages
from incident_app.services.mail_merge import progress as batch_progress

bp = Blueprint("mailmerge", __name__, url_prefix="/incidents/<int:incident_id>/mailing")
INCIDENT_TABS = [(48, "Mailing", "mailmerge.index")]
VARIANT_LABELS = {variant.value: variant.label for variant in Variant}
TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


@bp.context_processor
def _labels() -> dict[str, object]:
    return {"variant_labels": VARIANT_LABELS}


def _client_arg() -> int | None:
    """`?client=<id>`: the mailing of a client that delegates individual notice to us."""
    return request.args.get("client", type=int)


def _index_page(
    incident_id: int, status: int = 200, client_id: int | None = None
) -> tuple[str, int]:
    view = pages.overview(
        get_session(), actor=current_user, incident_id=incident_id, client_id=client_id
    )
    return render_template(
        "mailmerge/index.html", incident=view.incident, view=view, button=ButtonForm()
    ), status


@bp.route("/")
@login_required
def index(incident_id: int) -> tuple[str, int]:
    return _index_page(incident_id, client_id=_client_arg())


@bp.route("/confirm")
@login_required
def confirm(incident_id: int) -> str | Response:
    """What starting the mailing will do (counts, variants, print files), before it does."""
    try:
        summary = pages.confirmation(
            get_session(), actor=current_user, incident_id=incident_id, client_id=_client_arg()
        )
    except InvalidTransition as error:
        flash(str(error), "error")
        return redirect(url_for("mailmerge.index", incident_id=incident_id, client=_client_arg()))
    form = StartForm(
        expected_people=summary.people, client_id=summary.client.id if summary.client else None
    )
    return render_template(
        "mailmerge/confirm.html", incident=summary.incident, summary=summary, form=form
    )


@bp.route("/start", methods=["POST"])
@login_required
def start(incident_id: int) -> Response | tuple[str, int]:
    form = StartForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        batch = batches.start_batch(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            keyring=app_store.current_keyring(),
            store=app_store.current_store(),
            expected_people=form.expected_people.data,
            client_id=form.client_id.data,
        )
    except (InvalidTransition, ValidationFailed) as error:
        flash(str(error), "error")
        return _index_page(incident_id, status=409)
    flash("Mailing queued: the worker renders it chunk by chunk.", "success")
    return redirect(url_for("mailmerge.batch", incident_id=incident_id, batch_id=batch.id))


@bp.route("/<int:batch_id>")
@login_required
def batch(incident_id: int, batch_id: int) -> str:
    page = pages.batch_page(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        batch_id=batch_id,
    )
    return render_template(
        "mailmerge/batch.html",
        incident=page.incident,
        page=page,
        button=ButtonForm(),
        mailed_form=MailedForm(mailed_on=today_in_zone()),
    )


@bp.route("/<int:batch_id>/mailed", methods=["POST"])
@login_required
def mailed(incident_id: int, batch_id: int) -> Response:
    """Record the completed mailing as mailed on a date (feeds proof of notice)."""
    form = MailedForm()
    back = redirect(url_for("mailmerge.batch", incident_id=incident_id, batch_id=batch_id))
    if not form.validate_on_submit():
        flash("Enter the date the letters were mailed.", "error")
        return back
    try:
        result = mailed_service.record_mailed(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            batch_id=batch_id,
            mailed_on=form.mailed_on.data,
        )
    except (InvalidTransition, ValidationFailed) as error:
        flash(f"Not recorded: {error}", "error")
        return back
    flash(_mailed_message(result), "success")
    return back


def _mailed_message(result: mailed_service.Mailed) -> str:
    text = f"{_people(result.people)} recorded as mailed."
    if result.notices:
        return text + " Everyone is notified: the notice to individuals is recorded as sent."
    waiting = result.still_waiting
    return text + f" {_people(waiting)} {'is' if waiting == 1 else 'are'} still waiting."


def _people(count: int) -> str:
    return f"{count:,} {'person' if count == 1 else 'people'}"


@bp.route("/<int:batch_id>/progress.json")
@login_required
def progress(incident_id: int, batch_id: int) -> Response:
    return jsonify(
        batch_progress.progress(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            batch_id=batch_id,
        )
    )


ACTIONS: dict[str, tuple[Callable[..., object], str]] = {
    "pause": (batches.pause, "Mailing paused after the letters being written."),
    "resume": (batches.resume, "Mailing resumed where it stopped."),
    "cancel": (batches.cancel, "Mailing cancelled; finished print files are kept."),
    "retry": (batches.retry, "Failed letters queued again in a new chunk."),
}


@bp.route("/<int:batch_id>/<any(pause, resume, cancel, retry):action>", methods=["POST"])
@bp.route(
    "/<int:batch_id>/letters/<int:letter_id>/retry", methods=["POST"], defaults={"action": "retry"}
)
@login_required
def control(incident_id: int, batch_id: int, action: str, letter_id: int | None = None) -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    service, done = ACTIONS[action]
    extra = {"letter_id": letter_id} if action == "retry" else {}
    try:
        service(
            get_session(),
            actor=current_user,
            now=clock.utcnow(),
            incident_id=incident_id,
            batch_id=batch_id,
            **extra,
        )
    except InvalidTransition as error:
        flash(str(error), "error")
    else:
        flash(done, "success")
    return redirect(url_for("mailmerge.batch", incident_id=incident_id, batch_id=batch_id))


@bp.route("/<int:batch_id>/proof.pdf", defaults={"what": "proof", "number": None})
@bp.route("/<int:batch_id>/manifest.csv", defaults={"what": "manifest", "number": None})
@bp.route("/<int:batch_id>/chunks/<int:number>/print.pdf", defaults={"what": "print"})
@bp.route("/<int:batch_id>/chunks/<int:number>/manifest.csv", defaults={"what": "manifest"})
@login_required
def download(incident_id: int, batch_id: int, what: str, number: int | None) -> Response:
    name, data = downloads.download(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        incident_id=incident_id,
        batch_id=batch_id,
        what=what,
        store=app_store.current_store(),
        chunk_number=number,
    )
    kind = name.rsplit(".", 1)[1]
    return _downloads.download(
        data,
        content_type=TYPES[kind],
        filename=name,
        bom=kind == "csv",
        headers={"Cache-Control": "no-store"},
    )
