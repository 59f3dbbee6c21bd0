"""The REST API, /api/v1: token-authenticated JSON over the same services as the web pages.

Cookies never authenticate a call: every request needs `Authorization: Bearer <token>` (except
the OpenAPI document), which is why this blueprint alone is exempt from CSRF protection.
Errors are JSON: {"error": code, "message": text, "fields": {field: problem}}.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask import url_for
from werkzeug.exceptions import HTTPException

from incident_app import clock
from incident_app.blueprints.api import calculator_schema
from incident_app.blueprints.api import representations as show
from incident_app.blueprints.api import schemas
from incident_app.blueprints.api.openapi import EXERCISE_CHOICES
from incident_app.blueprints.api.openapi import document
from incident_app.db import get_session
from incident_app.errors import DomainError
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.extensions import csrf
from incident_app.models.incident import IncidentStatus
from incident_app.models.timeline import ActionCategory
from incident_app.services import organisation
from incident_app.services.accounts import api_tokens
from incident_app.services.accounts.api_tokens import ApiCaller
from incident_app.services.accounts.api_tokens import RateLimited
from incident_app.services.accounts.api_tokens import TokenRejected
from incident_app.services.accounts.signin import record_access_denied
from incident_app.services.clients import portal as client_portal
from incident_app.services.incidents import access as incident_access
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from incident_app.services.incidents import listing as incident_list
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import NOT_FOUND
from incident_app.services.obligations import evaluation as obligation_evaluation
from incident_app.services.obligations import reading as obligation_reading

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_BODY_BYTES = 256 * 1024
MAX_ID = 2**31 - 1
PUBLIC_ENDPOINTS = {"api.openapi_json"}
QUERY_PARAMETERS = {"api.incident_index": {"page", "per_page", "status", "exercises"}}
# The calculator form's field names (what evaluation.what_if reports) → BreachFacts names.
CALCULATOR_NAMES = {form: facts for facts, form in obligation_evaluation.CALCULATOR_FIELDS.items()}


# ---- authentication, limits, errors ----------------------------------------------------------


@bp.before_request
def _authenticate() -> None:
    request.max_content_length = current_app.config.get("API_MAX_BODY_BYTES", MAX_BODY_BYTES)
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise TokenRejected(
            "Send a personal access token as 'Authorization: Bearer <token>'. "
            "Create one on your account's Access tokens page."
        )
    g.api_caller = api_tokens.authenticate(
        get_session(),
        raw_token=raw.strip(),
        now=clock.utcnow(),
        limit=current_app.config.get("API_RATE_LIMIT", 120),
        window_seconds=current_app.config.get("API_RATE_WINDOW_SECONDS", 60),
    )
    if client_portal.is_contact(g.api_caller.user):
        # A client contact reads only its portal: the API answers as for a thing not there.
        raise client_portal.deny(
            get_session(), actor=g.api_caller.user, path=request.path, now=clock.utcnow()
        )
    _check_incident_visible()
    _check_query_parameters()


def _check_incident_visible() -> None:
    """404 for an incident the token's owner cannot see comes first, before any body is read."""
    incident_id = (request.view_args or {}).get("incident_id")
    if incident_id is None:
        return
    if incident_id > MAX_ID:
        raise NotFound(NOT_FOUND)  # larger than any stored id (and than the column holds)
    incident_access.get_incident(get_session(), actor=g.api_caller.user, incident_id=incident_id)


def _check_query_parameters() -> None:
    unknown = set(request.args) - QUERY_PARAMETERS.get(request.endpoint or "", set())
    if unknown:
        raise schemas.BodyInvalid({name: "unknown query parameter" for name in sorted(unknown)})


def _caller() -> ApiCaller:
    return g.api_caller


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    response = current_app.json.response(body)
    response.status_code = status
    return response


DOMAIN_CODES = {
    401: "unauthorized",
    403: "not_allowed",
    404: "not_found",
    409: "conflict",
    422: "validation_failed",
    429: "rate_limited",
}


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    get_session().rollback()
    if isinstance(error, NotAllowed) and "api_caller" in g:
        record_access_denied(
            get_session(), actor=_caller().user, path=request.path, now=clock.utcnow()
        )
    fields = None
    if isinstance(error, ValidationFailed) and error.field:
        fields = {_api_field(error.field): str(error)}
    response = error_response(
        error.status_code, DOMAIN_CODES.get(error.status_code, "error"), str(error), fields
    )
    if isinstance(error, TokenRejected):
        response.headers["WWW-Authenticate"] = 'Bearer realm="BreachDesk API"'
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _api_field(field: str) -> str:
    if request.endpoint == "api.calculator":
        return CALCULATOR_NAMES.get(field, field)
    return {"state_counts": "state_estimates"}.get(field, field)


@bp.errorhandler(schemas.BodyInvalid)
def _body_invalid(error: schemas.BodyInvalid) -> Response:
    count = len(error.fields)
    return error_response(
        422,
        "validation_failed",
        f"The request has {count} problem{'s' if count != 1 else ''}; see fields.",
        error.fields,
    )


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    get_session().rollback()
    status = error.code or 500
    if status == 413:
        limit = request.max_content_length or MAX_BODY_BYTES
        return error_response(
            413, "too_large", f"The request body is larger than {limit // 1024} KB."
        )
    code = (error.name or "error").lower().replace(" ", "_")
    response = error_response(status, code, error.description or error.name)
    for name, value in error.get_headers():  # RFC 9110: Allow on 405, …
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _json_body() -> Any:
    """The parsed JSON body. 415 unless it is sent as application/json; 400 when malformed."""
    if not request.is_json:
        return_type = request.mimetype or "none"
        raise _Problem(
            415, "unsupported_media_type", f"Send the body as application/json (got {return_type})."
        )
    data = request.get_data(cache=True)
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise _Problem(400, "invalid_json", f"The body is not valid JSON: {error}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class _Problem(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@bp.errorhandler(_Problem)
def _problem(error: _Problem) -> Response:
    return error_response(error.status, error.code, str(error))


def _int_arg(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise schemas.BodyInvalid({name: f"must be a whole number from 1 to {maximum}"})
    return int(raw)


def _status_arg() -> IncidentStatus | None:
    raw = request.args.get("status")
    if raw is None:
        return None
    try:
        return IncidentStatus(raw)
    except ValueError:
        known = ", ".join(s.value for s in IncidentStatus)
        raise schemas.BodyInvalid({"status": f"must be one of: {known}"}) from None


def _exercises_arg() -> bool | None:
    """Tabletop exercises are left out of the listing unless asked for (issue 23): a script
    counting incidents must not count drills as breaches."""
    raw = request.args.get("exercises", "exclude")
    if raw not in EXERCISE_CHOICES:
        known = ", ".join(EXERCISE_CHOICES)
        raise schemas.BodyInvalid({"exercises": f"must be one of: {known}"})
    return EXERCISE_CHOICES[raw]


# ---- endpoints -------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi_json() -> dict[str, Any]:
    return document()


@bp.get("/me")
def me() -> dict[str, Any]:
    caller = _caller()
    token = caller.token
    return {
        "id": caller.user.id,
        "name": caller.user.name,
        "email": caller.user.email,
        "role": caller.user.role.value,
        "token": {
            "id": token.id,
            "name": token.name,
            "prefix": token.prefix,
            "expires_at": show.iso(token.expires_at),
        },
    }


@bp.get("/incidents")
def incident_index() -> dict[str, Any]:
    session, now = get_session(), clock.utcnow()
    filters = incident_list.ListFilters(
        status=_status_arg(), page=_int_arg("page", 1, 100_000), exercises=_exercises_arg()
    )
    page = incident_list.list_incidents(
        session,
        actor=_caller().user,
        filters=filters,
        today=organisation.local_today(session, now),
        per_page=_int_arg("per_page", 25, 100),
    )
    return show.incident_page(page)


@bp.post("/incidents")
def incident_create() -> tuple[dict[str, Any], int, dict[str, str]]:
    values = schemas.parse(schemas.incident_body(), _json_body())
    facts = incident_facts.IncidentFacts(**_tuples(values))
    session, now, caller = get_session(), clock.utcnow(), _caller()
    api_tokens.record_call(session, caller=caller, method="POST", path=request.path, now=now)
    incident = incident_intake.open_incident(session, actor=caller.user, facts=facts, now=now)
    location = url_for("api.incident_read", incident_id=incident.id)
    return show.incident_detail(incident), 201, {"Location": location}


def _tuples(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: tuple(value) if isinstance(value, list) else value for name, value in values.items()
    }


@bp.get("/incidents/<int:incident_id>")
def incident_read(incident_id: int) -> dict[str, Any]:
    incident = incident_access.get_incident(
        get_session(), actor=_caller().user, incident_id=incident_id
    )
    return show.incident_detail(incident)


@bp.get("/incidents/<int:incident_id>/timeline")
def timeline_index(incident_id: int) -> dict[str, Any]:
    items = timeline.entries(get_session(), actor=_caller().user, incident_id=incident_id)
    return {"items": [show.timeline_entry(item.entry) for item in items]}


@bp.post("/incidents/<int:incident_id>/timeline")
def timeline_create(incident_id: int) -> tuple[dict[str, Any], int]:
    values = schemas.parse(schemas.timeline_body(), _json_body())
    session, now, caller = get_session(), clock.utcnow(), _caller()
    action = timeline.ActionInput(
        occurred_at=values.get("occurred_at", now),
        category=ActionCategory(values["category"]),
        text=values["text"],
    )
    api_tokens.record_call(session, caller=caller, method="POST", path=request.path, now=now)
    entry = timeline.log_action(
        session, actor=caller.user, incident_id=incident_id, action=action, now=now
    )
    return show.timeline_entry(entry), 201


@bp.get("/incidents/<int:incident_id>/determination")
def determination(incident_id: int) -> dict[str, Any]:
    session = get_session()
    page = obligation_reading.determination_page(
        session,
        actor=_caller().user,
        incident_id=incident_id,
        today=organisation.local_today(session, clock.utcnow()),
    )
    return show.determination(page)


@bp.post("/calculator")
def calculator() -> dict[str, Any]:
    values = schemas.parse(calculator_schema.calculator_body(), _json_body())
    result = obligation_evaluation.what_if(actor=_caller().user, facts=values)
    return show.calculation(result)
