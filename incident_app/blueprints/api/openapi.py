"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Request bodies come from schemas.py (the same descriptions that check the requests); the
response shapes below mirror representations.py. tests/blueprints/test_api_schemathesis.py
sends generated requests and fails when a response does not match this document.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from incident_app.blueprints.api import calculator_schema
from incident_app.blueprints.api import schemas
from incident_app.models.incident import IncidentStatus
from incident_app.models.timeline import ActionCategory
from incident_app.models.timeline import EntryKind

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object whose properties are all required except `optional`."""
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


EXERCISE_CHOICES = {"exclude": False, "include": None, "only": True}
INCIDENT_SUMMARY = {
    "id": INTEGER,
    "reference": STRING,
    "title": STRING,
    "status": {"type": "string", "enum": [s.value for s in IncidentStatus]},
    "exercise": BOOLEAN,  # a tabletop drill (issue 23), listed only on request
    "discovered_on": nullable(DATE),
    "affected_count": INTEGER,
    "next_due_on": nullable(DATE),
    "created_at": DATETIME,
    "updated_at": DATETIME,
}
INCIDENT_DETAIL = {
    **INCIDENT_SUMMARY,
    "description": STRING,
    "how_found": STRING,
    "reported_by": STRING,
    "occurred_from": nullable(DATETIME),
    "occurred_to": nullable(DATETIME),
    "discovered_by": STRING,
    "diligence_known_on": nullable(DATE),
    "breach_types": {"type": "array", "items": STRING},
    "breach_type_other": STRING,
    "locations": {"type": "array", "items": STRING},
    "location_other": STRING,
    "phi_types": {"type": "array", "items": STRING},
    "safeguards": {"type": "array", "items": STRING},
    "systems_involved": STRING,
    "affected_estimate": INTEGER,
    "roster_total": nullable(INTEGER),
    "state_estimates": {"type": "object", "additionalProperties": INTEGER},
    "ba_involved": BOOLEAN,
    "ba_name": STRING,
    "part2_records": BOOLEAN,
    "licensed_facility_states": {"type": "array", "items": STRING},
    "eu_data_subjects": INTEGER,
    "gdpr_aware_at": nullable(DATETIME),
    "gdpr_high_risk": nullable(BOOLEAN),
    "gdpr_controller": BOOLEAN,
    "materiality_determined_on": nullable(DATE),
    "closed_at": nullable(DATETIME),
}
TIMELINE_ENTRY = {
    "id": INTEGER,
    "incident_id": INTEGER,
    "kind": {"type": "string", "enum": [k.value for k in EntryKind]},
    "category": nullable({"type": "string", "enum": [c.value for c in ActionCategory]}),
    "text": STRING,
    "occurred_at": DATETIME,
    "recorded_at": DATETIME,
    "actor_id": nullable(INTEGER),
    "corrects_id": nullable(INTEGER),
}
# `label` comes from the one table of kinds (services/obligations/kinds.py); `due_at` is the
# UTC instant of a clock counted in hours (GDPR Art. 33's 72 hours), else null.
STORED_OBLIGATION = {
    "id": INTEGER,
    "kind": STRING,
    "label": STRING,
    "jurisdiction": STRING,
    "source_key": STRING,
    "due_on": nullable(DATE),
    "due_at": nullable(DATETIME),
    "computed_due_on": nullable(DATE),
    "override_due_on": nullable(DATE),
    "days_left": nullable(INTEGER),
    "citation": STRING,
    "reason": STRING,
    "detail": {"type": "object", "additionalProperties": STRING},
}
RULES_OBLIGATION = {
    "kind": STRING,
    "label": STRING,
    "jurisdiction": STRING,
    "due_on": nullable(DATE),
    # Set (UTC) for clocks counted in hours, e.g. GDPR Art. 33's 72 hours.
    "due_at": nullable(DATETIME),
    "citation": STRING,
    "reason": STRING,
    "detail": {"type": "object", "additionalProperties": STRING},
}


def _component_schemas() -> dict[str, Any]:
    return {
        "Error": obj(
            {
                "error": STRING,
                "message": STRING,
                "fields": {"type": "object", "additionalProperties": STRING},
            },
            optional=("fields",),
        ),
        "Me": obj(
            {
                "id": INTEGER,
                "name": STRING,
                "email": STRING,
                "role": STRING,
                "token": obj(
                    {
                        "id": INTEGER,
                        "name": STRING,
                        "prefix": STRING,
                        "expires_at": nullable(DATETIME),
                    }
                ),
            }
        ),
        "IncidentSummary": obj(INCIDENT_SUMMARY),
        "Incident": obj(INCIDENT_DETAIL),
        "IncidentPage": obj(
            {
                "items": {"type": "array", "items": ref("IncidentSummary")},
                "page": INTEGER,
                "per_page": INTEGER,
                "total": INTEGER,
                "pages": INTEGER,
            }
        ),
        "TimelineEntry": obj(TIMELINE_ENTRY),
        "Timeline": obj({"items": {"type": "array", "items": ref("TimelineEntry")}}),
        "Obligation": obj(STORED_OBLIGATION),
        "IncidentDetermination": obj(
            {
                "incident_id": INTEGER,
                "preview": BOOLEAN,
                "reportable": BOOLEAN,
                "computed_reportable": BOOLEAN,
                "override": nullable(obj({"reportable": BOOLEAN, "reason": STRING})),
                "reason": STRING,
                "treated_discovery_on": nullable(DATE),
                "warnings": {"type": "array", "items": STRING},
                "error": nullable(STRING),
                "obligations": {"type": "array", "items": ref("Obligation")},
            }
        ),
        "Determination": obj(
            {
                "reportable": BOOLEAN,
                "reason": STRING,
                "treated_discovery_on": nullable(DATE),
                "obligations": {"type": "array", "items": obj(RULES_OBLIGATION)},
                "warnings": {"type": "array", "items": STRING},
            }
        ),
        "IncidentInput": schemas.json_schema(schemas.incident_body()),
        "TimelineInput": schemas.json_schema(schemas.timeline_body()),
        "CalculatorInput": schemas.json_schema(calculator_schema.calculator_body()),
    }


ERRORS = {
    "400": "The body is not valid JSON.",
    "401": "No usable token (missing, unknown, expired, revoked, or owner deactivated).",
    "403": "The token's owner may read this but not change it.",
    "404": "No such incident, or the token's owner is not on its team.",
    "409": "Not possible in the incident's current state.",
    "413": "The body is larger than 256 KB.",
    "415": "The body is not sent as application/json.",
    "422": "A field is missing, unknown, of the wrong type or breaks a rule; see `fields`.",
    "429": "Rate limit reached; retry after the number of seconds in Retry-After.",
}


def _error_responses(codes: tuple[str, ...]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code in codes:
        responses[code] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    if "429" in responses:
        responses["429"]["headers"] = {
            "Retry-After": {"schema": INTEGER, "description": "Seconds to wait."}
        }
    return responses


READ_ERRORS = ("401", "404", "422", "429")
WRITE_ERRORS = ("400", "401", "403", "404", "409", "413", "415", "422", "429")


def _ok(status: str, schema: str, description: str) -> dict[str, Any]:
    return {
        status: {
            "description": description,
            "content": {"application/json": {"schema": ref(schema)}},
        }
    }


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}


INCIDENT_ID = {
    "name": "incident_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
}


def _operation(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "security": [{"bearer": []}], "responses": responses, **extra}


def _paths() -> dict[str, Any]:
    return {
        "/api/v1/me": {
            "get": _operation(
                "Who the token acts as",
                {**_ok("200", "Me", "The token's owner."), **_error_responses(("401", "429"))},
            )
        },
        "/api/v1/incidents": {
            "get": _operation(
                "Incidents the token's owner may see, newest first",
                {
                    **_ok("200", "IncidentPage", "One page of incidents."),
                    **_error_responses(("401", "422", "429")),
                },
                parameters=[
                    {
                        "name": "page",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100000},
                    },
                    {
                        "name": "per_page",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": [s.value for s in IncidentStatus]},
                    },
                    {
                        "name": "exercises",
                        "in": "query",
                        "description": "Tabletop exercises: left out (exclude, the default), "
                        "listed with the real incidents (include) or alone (only).",
                        "schema": {"type": "string", "enum": list(EXERCISE_CHOICES)},
                    },
                ],
            ),
            "post": _operation(
                "Open an incident (intake from a SIEM or ticketing system)",
                {**_ok("201", "Incident", "The new incident."), **_error_responses(WRITE_ERRORS)},
                requestBody=_body("IncidentInput"),
            ),
        },
        "/api/v1/incidents/{incident_id}": {
            "get": _operation(
                "One incident",
                {**_ok("200", "Incident", "The incident."), **_error_responses(READ_ERRORS)},
                parameters=[INCIDENT_ID],
            )
        },
        "/api/v1/incidents/{incident_id}/timeline": {
            "get": _operation(
                "The incident's timeline, oldest first",
                {**_ok("200", "Timeline", "The entries."), **_error_responses(READ_ERRORS)},
                parameters=[INCIDENT_ID],
            ),
            "post": _operation(
                "Log an action on the timeline",
                {**_ok("201", "TimelineEntry", "The new entry."), **_error_responses(WRITE_ERRORS)},
                parameters=[INCIDENT_ID],
                requestBody=_body("TimelineInput"),
            ),
        },
        "/api/v1/incidents/{incident_id}/determination": {
            "get": _operation(
                "The breach determination and notification obligations",
                {
                    **_ok("200", "IncidentDetermination", "Determination and obligations."),
                    **_error_responses(READ_ERRORS),
                },
                parameters=[INCIDENT_ID],
            )
        },
        "/api/v1/calculator": {
            "post": _operation(
                "What-if: run hypothetical facts through the rules engine (nothing is stored)",
                {
                    **_ok("200", "Determination", "What the rules conclude."),
                    **_error_responses(("400", "401", "403", "413", "415", "422", "429")),
                },
                requestBody=_body("CalculatorInput"),
            )
        },
    }


@cache
def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "BreachDesk API",
            "version": "1.0.0",
            "description": (
                "HIPAA breach incidents over JSON. Authenticate with a personal access token "
                "(Authorization: Bearer <token>), created on your account's Access tokens page; "
                "it acts with your role and incident memberships. Errors are "
                '{"error", "message", "fields"}. Dates are ISO 8601.'
            ),
        },
        "paths": _paths(),
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
