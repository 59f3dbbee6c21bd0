"""The factory's helpers: secrets, extensions, blueprints, error pages, request hooks, CLI.

BLUEPRINTS and COMMAND_GROUPS are the table of contents of the web app and of `flask --help`:
a new area adds its views module (`incident_app/blueprints/<area>/views.py`, exposing `bp` and
optionally NAV and INCIDENT_TABS) or its command group (`incident_app/cli/<name>.py`) to them.
tests/test_registration.py fails for a module that is not listed.

Just over 400 lines because it is the app's table of contents: the BLUEPRINTS and
COMMAND_GROUPS tuples and their imports, the request hooks and the error handlers.
"""

from __future__ import annotations

import logging
from datetime import datetime
from types import ModuleType
from zoneinfo import ZoneInfo

import click
from flask import Flask
from flask import Response
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session as flask_session
from flask import url_for
from flask_login import current_user
from flask_login import logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from werkzeug.routing import Map
from werkzeug.wrappers import Response as WerkzeugResponse

from config import instance_secret
from incident_app import clock
from incident_app import crypto
from incident_app import logs
from incident_app import passwords
from incident_app.access import Capability
from incident_app.access import can
from incident_app.audit_keys import require_audit_keys
from incident_app.blueprints import _exercise as exercise_banner
from incident_app.blueprints.admin import views as admin_views
from incident_app.blueprints.api import views as api_views
from incident_app.blueprints.assessment import views as assessment_views
from incident_app.blueprints.audit import views as audit_views
from incident_app.blueprints.auth import views as auth_views
from incident_app.blueprints.calculator import views as calculator_views
from incident_app.blueprints.clients import views as clients_views
from incident_app.blueprints.enrolment import views as enrolment_views
from incident_app.blueprints.impact import views as impact_views
from incident_app.blueprints.incidents import views as incidents_views
from incident_app.blueprints.inquiries import views as inquiries_views
from incident_app.blueprints.letters import views as letters_views
from incident_app.blueprints.mailmerge import views as mailmerge_views
from incident_app.blueprints.main import views as main_views
from incident_app.blueprints.notifications import views as notifications_views
from incident_app.blueprints.peers import views as peers_views
from incident_app.blueprints.portal import views as portal_views
from incident_app.blueprints.reports import views as reports_views
from incident_app.blueprints.returns import views as returns_views
from incident_app.blueprints.roster import views as roster_views
from incident_app.blueprints.tokens import views as tokens_views
from incident_app.cli import audit as audit_cli
from incident_app.cli import backup as backup_cli
from incident_app.cli import database as database_cli
from incident_app.cli import deadlines as deadlines_cli
from incident_app.cli import demo as demo_cli
from incident_app.cli import keys as keys_cli
from incident_app.cli import ocr as ocr_cli
from incident_app.cli import rules as rules_cli
from incident_app.cli import scheduler as scheduler_cli
from incident_app.cli import users as users_cli
from incident_app.db import get_session
from incident_app.errors import DomainError
from incident_app.errors import NotAllowed
from incident_app.extensions import csrf
from incident_app.extensions import login_manager
from incident_app.models.user import User
from incident_app.services.accounts import mfa
from incident_app.services.accounts import sessions
from incident_app.services.accounts.signin import record_access_denied
from incident_app.services.accounts.signin import record_logout
from incident_app.services.clients import portal as client_portal
from incident_app.services.incidents.access import get_visible
from incident_app.services.obligations import kinds as obligation_kinds
from incident_app.services.organisation import get_organisation
from incident_app.web_request import CleanRequest

log = logging.getLogger(__name__)

NavEntry = tuple[int, str, str, Capability | None]  # (order, label, endpoint, capability)
IncidentTab = tuple[int, str, str]  # (order, label, endpoint taking incident_id)
ErrorPage = tuple[str | dict[str, str], int]

# Every web area, registered in this order; each views module exposes `bp`, and may declare
# NAV (menu entries) and INCIDENT_TABS (tabs of the incident pages).
BLUEPRINTS: tuple[ModuleType, ...] = (
    admin_views,
    api_views,
    assessment_views,
    audit_views,
    auth_views,
    calculator_views,
    clients_views,
    enrolment_views,
    impact_views,
    incidents_views,
    inquiries_views,
    letters_views,
    mailmerge_views,
    main_views,
    notifications_views,
    peers_views,
    portal_views,
    reports_views,
    returns_views,
    roster_views,
    tokens_views,
)

# Every `flask` command group (or single command).
COMMAND_GROUPS: tuple[click.Command, ...] = (
    audit_cli.audit_group,
    backup_cli.backup_group,
    database_cli.db_group,
    deadlines_cli.deadlines_command,
    demo_cli.demo_group,
    keys_cli.keys_group,
    ocr_cli.ocr_group,
    rules_cli.rules_group,
    scheduler_cli.scheduler_command,
    users_cli.users_group,
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def configure_logging(app: Flask) -> None:
    if not app.testing:
        logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])


def require_secrets(app: Flask) -> None:
    """Production refuses to start without SECRET_KEY; development keeps one in instance/."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config["ENV_NAME"] == "development":
        app.config["SECRET_KEY"] = instance_secret("secret_key")
        return
    raise SystemExit(
        "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
        "value (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
    )


def init_keys(app: Flask) -> None:
    """The data key ring (PHI, files, TOTP secrets). Production refuses to start without
    BREACHDESK_DATA_KEYS and BREACHDESK_INDEX_KEY; development keeps them in instance/."""
    app.extensions["keyring"] = crypto.require_keys(app.config)
    # The audit key (issue 24): outside the database like the data keys; production refuses
    # to start without BREACHDESK_AUDIT_KEYS.
    app.extensions["audit_keys"] = require_audit_keys(app.config)


def bind_audit_keys(app: Flask) -> None:
    """Every session the app makes signs its audit events with the audit key
    (services/audit.py reads it from `session.info`)."""
    info: dict[str, object] = {}
    app.extensions["audit_keys"].bind_to(info)
    app.extensions["sessionmaker"].configure(info=info)


def configure_passwords(app: Flask) -> None:
    passwords.configure(
        time_cost=app.config["ARGON2_TIME_COST"],
        memory_cost=app.config["ARGON2_MEMORY_COST"],
        parallelism=app.config["ARGON2_PARALLELISM"],
    )


class _DatabaseId(IntegerConverter):
    """`<int:…>` limited to what an INTEGER column holds: a larger id is a 404 route miss
    instead of PostgreSQL's "integer out of range" error (a 500) in the first query."""

    def __init__(self, url_map: Map, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)  # type: ignore[arg-type]


def init_extensions(app: Flask) -> None:
    app.url_map.converters["int"] = _DatabaseId  # before any blueprint adds a rule
    app.request_class = CleanRequest  # no NUL in form or query values (PostgreSQL refuses it)
    login_manager.init_app(app)
    csrf.init_app(app)
    app.jinja_env.autoescape = True
    app.jinja_env.filters["localtime"] = _localtime
    # The one table of obligation labels (services/obligations/kinds.py), for every template.
    app.jinja_env.filters["kind_label"] = obligation_kinds.label


def _localtime(value: datetime | None, zone: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A UTC timestamp shown in the organisation's zone (templates: `at | localtime(zone)`)."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime(fmt)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """Sessions carry `id:session_version`; a bumped version (password change,
    deactivation) makes every older session anonymous."""
    try:
        raw_id, raw_version = user_id.split(":", 1)
        user = get_session().get(User, int(raw_id))
    except ValueError:
        return None
    if user is None or not user.active or str(user.session_version) != raw_version:
        return None
    return user


def register_blueprints(app: Flask) -> None:
    """Register the `bp` of every module in BLUEPRINTS; collect its optional `NAV` entries for
    the menu and `INCIDENT_TABS` for the incident pages.

    NAV is a list of (order, label, endpoint, capability-or-None).
    """
    nav: list[NavEntry] = []
    tabs: list[IncidentTab] = []
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
        nav.extend(getattr(module, "NAV", ()))
        tabs.extend(getattr(module, "INCIDENT_TABS", ()))
    app.extensions["nav"] = sorted(nav, key=lambda entry: entry[0])
    app.extensions["incident_tabs"] = sorted(tabs, key=lambda entry: entry[0])
    app.context_processor(_navigation)
    app.context_processor(exercise_banner.template_globals)


def _navigation() -> dict[str, object]:
    def nav_items() -> list[dict[str, object]]:
        if client_portal.is_contact(current_user):
            return [{"label": "Your notices", "url": url_for("portal.index"), "active": True}]
        items = []
        for _order, label, endpoint, capability in current_app.extensions["nav"]:
            if capability is None or can(current_user, capability):
                items.append(
                    {
                        "label": label,
                        "url": url_for(endpoint),
                        "active": request.endpoint == endpoint,
                    }
                )
        return items

    def incident_tabs(incident_id: int) -> list[dict[str, object]]:
        """The tabs of an incident's pages; areas declare INCIDENT_TABS = [(order, label,
        endpoint taking incident_id)] in their views module."""
        return [
            {
                "label": label,
                "url": url_for(endpoint, incident_id=incident_id),
                "active": request.endpoint == endpoint,
            }
            for _order, label, endpoint in current_app.extensions["incident_tabs"]
        ]

    return {"nav_items": nav_items, "incident_tabs": incident_tabs}


def register_commands(app: Flask) -> None:
    for command in COMMAND_GROUPS:
        app.cli.add_command(command)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _error_page(status: int, title: str, message: str) -> ErrorPage:
    if _wants_json():
        return {"error": title, "message": message}, status
    return render_template("errors/error.html", status=status, title=title, message=message), status


TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Not possible right now",
    413: "Too large",
    422: "Please check your input",
    429: "Too many requests",
    500: "Something went wrong",
}


def _domain_error(error: DomainError) -> ErrorPage:
    get_session().rollback()
    if isinstance(error, NotAllowed):
        actor = current_user if current_user.is_authenticated else None
        record_access_denied(get_session(), actor=actor, path=request.path, now=clock.utcnow())
    status = error.status_code
    return _error_page(status, TITLES.get(status, "Error"), str(error))


def _csrf_error(error: CSRFError) -> ErrorPage:
    return _error_page(
        400,
        "Form expired",
        "The form was missing its security token or it expired. Go back, reload the page "
        "and try again. Nothing was changed.",
    )


def _http_error(
    error: HTTPException,
) -> ErrorPage | tuple[str | dict[str, str], int, list[tuple[str, str]]] | HTTPException:
    if error.code is None or error.code < 400:
        return error
    body, status = _error_page(
        error.code, TITLES.get(error.code, error.name), error.description or ""
    )
    # Keep the exception's own headers (RFC 9110: Allow on 405, Retry-After, …), not its type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return body, status, headers


def _unexpected_error(error: Exception) -> ErrorPage:
    # The single place that catches Exception: log it, never show internals.
    log.exception("Unhandled error on %s %s", request.method, request.path)
    get_session().rollback()
    return _error_page(500, TITLES[500], "The error has been logged. Nothing was changed.")


def register_request_hooks(app: Flask) -> None:
    app.before_request(_enforce_session_rules)
    app.before_request(_confine_client_contacts)
    app.before_request(_incident_gate)
    app.after_request(_security_headers)


# Pages a signed-in user may reach while MFA enrolment is still required of them.
# Public pages (the invitation link too: whoever is signed in on this browser, the link's
# person sets a password and signs in afresh) and what enrolment itself needs.
_ENROLMENT_ENDPOINTS = {
    "auth.mfa_setup",
    "auth.logout",
    "auth.accept_invitation",
    "static",
    "main.healthz",
    "main.readyz",
}


def _enforce_session_rules() -> WerkzeugResponse | None:
    """Server-side session checks on every request: revoked session, idle and absolute
    timeouts (164.312(a)(2)(iii)), and MFA enrolment when the organisation requires it."""
    if request.blueprint == "api" or not current_user.is_authenticated:
        return None  # the API authenticates by token only; a browser cookie is ignored there
    reason = _session_ended()
    if reason is not None:
        return _sign_out(reason)
    if not request.path.startswith("/static/"):
        flask_session["last_seen"] = clock.utcnow().timestamp()
    return _require_mfa_enrolment()


def _session_ended() -> str | None:
    now = clock.utcnow()
    if not sessions.check(
        get_session(), user_id=current_user.id, token=flask_session.get("sid"), now=now
    ):
        return "revoked"
    idle = current_app.config["IDLE_TIMEOUT_MINUTES"] * 60
    absolute = current_app.config["ABSOLUTE_SESSION_HOURS"] * 3600
    stamp = now.timestamp()
    if stamp - flask_session.get("last_seen", stamp) > idle:
        return "idle_timeout"
    if stamp - flask_session.get("login_at", stamp) > absolute:
        return "absolute_timeout"
    return None


_SIGN_OUT_MESSAGES = {
    "idle_timeout": "You were signed out after a period of inactivity.",
    "absolute_timeout": "Your session reached its maximum length; please sign in again.",
    "revoked": "This session was ended. Please sign in again.",
}


def _sign_out(reason: str) -> WerkzeugResponse:
    record_logout(
        get_session(),
        actor=current_user,
        now=clock.utcnow(),
        reason=reason,
        token=flask_session.get("sid"),
    )
    logout_user()
    flask_session.clear()
    flash(_SIGN_OUT_MESSAGES[reason], "info")
    return redirect(url_for("auth.login"))


def _require_mfa_enrolment() -> WerkzeugResponse | None:
    if current_user.mfa_enabled or request.endpoint in _ENROLMENT_ENDPOINTS:
        return None
    if not mfa.required_for(get_organisation(get_session()), current_user):
        return None
    flash(
        "Your organisation requires a second sign-in factor. Set up your authenticator "
        "app to continue.",
        "warning",
    )
    return redirect(url_for("auth.mfa_setup"))


# The only pages a client contact may reach besides its portal (sign-in, its own password).
_CONTACT_ENDPOINTS = _ENROLMENT_ENDPOINTS | {
    "auth.login",
    "auth.second_factor",
    "auth.change_password",
}


def _confine_client_contacts() -> WerkzeugResponse | None:
    """A client contact (business-associate mode) reads only its client's slice: every page
    outside the portal answers 404 and is audited, before any handler runs; the portal's
    services check the client of each URL (services/clients/portal.py)."""
    if request.blueprint == "api" or not current_user.is_authenticated:
        return None  # the API never looks at the cookie: it refuses a contact's token itself
    if not client_portal.is_contact(current_user):
        return None
    if request.blueprint == "portal" or request.endpoint in _CONTACT_ENDPOINTS:
        return None
    if request.endpoint == "main.dashboard":
        return redirect(url_for("portal.index"))
    raise client_portal.deny(
        get_session(), actor=current_user, path=request.path, now=clock.utcnow()
    )


def _incident_gate() -> None:
    """Defence in depth for every page under /incidents/<incident_id>/…: a signed-in user
    who may not see the incident gets 404 before any handler or form validation runs, so
    no route can leak the incident's existence by answering 302/403/422 first. Services
    still check access themselves; the token-authenticated API checks in its own layer."""
    incident_id = (request.view_args or {}).get("incident_id")
    if incident_id is None or request.blueprint in ("api", "portal"):
        return  # the API never looks at the browser cookie; the portal checks its client
    if not current_user.is_authenticated:
        return
    get_visible(get_session(), actor=current_user, incident_id=incident_id)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    if current_app.config.get("HSTS"):
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return response
