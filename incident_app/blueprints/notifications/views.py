"""The bell, the notification list, calendar feed links and the ICS feed, email delivery
status and reminder plans for admins."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required

from incident_app import clock
from incident_app.access import Capability
from incident_app.blueprints._helpers import capability_required
from incident_app.blueprints._helpers import show_on_form
from incident_app.blueprints.notifications.forms import ButtonForm
from incident_app.blueprints.notifications.forms import PlanForm
from incident_app.db import get_session
from incident_app.errors import ValidationFailed
from incident_app.services.obligations import kinds as obligation_kinds
from incident_app.services.reminders import calendar_feed
from incident_app.services.reminders import notifications
from incident_app.services.reminders import plans as reminder_plans

bp = Blueprint("notifications", __name__)
NAV = [
    (70, "Calendar", "notifications.calendar", None),
    (85, "Reminders", "notifications.plans", Capability.MANAGE_SETTINGS),
    (86, "Email", "notifications.email_status", Capability.MANAGE_SETTINGS),
]


@bp.app_context_processor
def _bell() -> dict[str, object]:
    def notification_bell() -> dict[str, int] | None:
        if not current_user.is_authenticated:
            return None
        session = get_session()
        return {
            "unread": notifications.unread_count(session, actor=current_user),
            "email_failing": notifications.failing_email_count(session, actor=current_user),
        }

    return {"notification_bell": notification_bell}


@bp.route("/notifications/")
@login_required
def index() -> str:
    notes = notifications.list_for(
        get_session(), actor=current_user, unread_only=request.args.get("unread") == "1"
    )
    return render_template("notifications/list.html", notes=notes, form=ButtonForm())


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int) -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    notifications.mark_read(
        get_session(), actor=current_user, notification_id=notification_id, now=clock.utcnow()
    )
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read() -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    count = notifications.mark_all_read(get_session(), actor=current_user, now=clock.utcnow())
    flash(f"{count} notification{'s' if count != 1 else ''} marked read.", "success")
    return redirect(url_for("notifications.index"))


@bp.route("/calendar", methods=["GET"])
@login_required
def calendar() -> str:
    token = calendar_feed.current_token(get_session(), actor=current_user)
    return render_template(
        "notifications/calendar.html", token=token, feed_url=None, form=ButtonForm()
    )


@bp.route("/calendar/token", methods=["POST"])
@login_required
def issue_token() -> str:
    if not ButtonForm().validate_on_submit():
        abort(400)
    secret = calendar_feed.issue_token(get_session(), actor=current_user, now=clock.utcnow())
    # Shown on this response only: the database keeps just its hash.
    feed_url = current_app.config["APP_BASE_URL"] + url_for("notifications.feed", token=secret)
    token = calendar_feed.current_token(get_session(), actor=current_user)
    return render_template(
        "notifications/calendar.html", token=token, feed_url=feed_url, form=ButtonForm()
    )


@bp.route("/calendar/token/revoke", methods=["POST"])
@login_required
def revoke_token() -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    if calendar_feed.revoke_token(get_session(), actor=current_user, now=clock.utcnow()):
        flash("Calendar link revoked: calendars subscribed to it stop updating.", "success")
    return redirect(url_for("notifications.calendar"))


@bp.route("/calendar/<token>.ics")
def feed(token: str) -> Response:
    """Authenticated by the secret token alone (calendar apps cannot sign in)."""
    ics = calendar_feed.feed(
        get_session(),
        token=token,
        now=clock.utcnow(),
        base_url=current_app.config["APP_BASE_URL"],
        client=request.remote_addr or "",
    )
    return Response(
        ics,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'inline; filename="breachdesk.ics"'},
    )


@bp.route("/admin/email")
@capability_required(Capability.MANAGE_SETTINGS)
def email_status() -> str:
    status = notifications.email_delivery_status(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        configured=bool(current_app.config.get("SMTP_HOST")),
    )
    return render_template("notifications/email.html", status=status)


@bp.route("/admin/reminders", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_SETTINGS)
def plans() -> str | Response:
    form = PlanForm()
    if form.validate_on_submit():
        try:
            reminder_plans.set_plan(
                get_session(),
                actor=current_user,
                kind=form.kind.data,
                days_before=form.to_days(),
                overdue_daily=form.overdue_daily.data,
                now=clock.utcnow(),
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash("Reminder plan saved. It applies from the next sweep.", "success")
            return redirect(url_for("notifications.plans"))
    stored = reminder_plans.plans(get_session())
    return render_template(
        "notifications/plans.html",
        form=form,
        stored=stored,
        labels=obligation_kinds.DEADLINE_LABELS,
        default=reminder_plans.Plan(),
    )
