"""Request bodies of the REST API: one description per body, used both to check what a client
sent and to write the OpenAPI document, so the two cannot disagree.

`parse` collects every problem (field name → message) before giving up, rejects unknown
fields, and converts ISO 8601 dates and timestamps into Python values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

from incident_app.models.timeline import ActionCategory
from incident_app.rules.facts import STATE_CODES
from incident_app.services import options

MAX_COUNT = 1_000_000_000  # more people than the US has; also keeps counts in a 32-bit column
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
NO_NUL = "^[^\\u0000]*$"  # PostgreSQL text cannot hold NUL characters


class BodyInvalid(Exception):
    """The body does not match its description; `fields` maps field names to messages."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in fields.items()))
        self.fields = dict(fields)


@dataclass(frozen=True)
class Field:
    """One property of a JSON body. `kind` is one of: string, text, integer, boolean, date,
    date-time, choice (one code from `choices`), choices (a list of them), counts (USPS code →
    count) or object (with `fields`)."""

    name: str
    kind: str
    description: str = ""
    required: bool = False
    nullable: bool = False
    max_length: int = 200
    choices: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()


def parse(spec: tuple[Field, ...], body: Any, *, prefix: str = "") -> dict[str, Any]:
    """The body's values converted (dates as `date`, …), keyed by field name; only fields the
    client sent are present. Raises BodyInvalid naming every bad field."""
    if not isinstance(body, dict):
        raise BodyInvalid({prefix.rstrip(".") or "body": "must be a JSON object"})
    known = {f.name: f for f in spec}
    errors = {prefix + name: "unknown field" for name in body if name not in known}
    values: dict[str, Any] = {}
    for item in spec:
        if item.name not in body:
            if item.required:
                errors[prefix + item.name] = "required"
            continue
        try:
            values[item.name] = _convert(item, body[item.name], prefix)
        except BodyInvalid as error:
            errors.update(error.fields)
    if errors:
        raise BodyInvalid(errors)
    return values


def _convert(item: Field, value: Any, prefix: str) -> Any:
    name = prefix + item.name
    if value is None:
        if item.nullable:
            return None
        raise BodyInvalid({name: "must not be null"})
    if item.kind == "object":
        return parse(item.fields, value, prefix=name + ".")
    converter = _CONVERTERS[item.kind]
    try:
        return converter(item, value)
    except ValueError as error:
        raise BodyInvalid({name: str(error)}) from None


def _string(item: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if len(value) > item.max_length:
        raise ValueError(f"must be at most {item.max_length} characters")
    return value


def _integer(item: Field, value: Any) -> int:
    # JSON true/false are not counts. JSON Schema 2020-12 (OpenAPI 3.1) counts a number with a
    # zero fractional part as an integer: 914.0 is 914, 914.5 is refused.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    if not 0 <= value <= MAX_COUNT:
        raise ValueError(f"must be between 0 and {MAX_COUNT:,}")
    return value


def _boolean(item: Field, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _date(item: Field, value: Any) -> date:
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a calendar date") from None


def _datetime(item: Field, value: Any) -> datetime:
    if not isinstance(value, str) or not ISO_DATETIME.fullmatch(value):
        raise ValueError("must be a timestamp as YYYY-MM-DDTHH:MM:SS with Z or an offset")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a valid time") from None


def _choice(item: Field, value: Any) -> str:
    if value not in item.choices:
        raise ValueError("must be one of: " + ", ".join(item.choices))
    return value


def _choices(item: Field, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError("must be a list of codes")
    unknown = [v for v in value if not isinstance(v, str) or v not in item.choices]
    if unknown:
        raise ValueError(f"unknown code(s) {unknown!r}; known: " + ", ".join(item.choices))
    if len(set(value)) != len(value):
        raise ValueError("lists a code twice")
    return tuple(value)


def _counts(item: Field, value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError("must be an object of two-letter USPS state codes to counts")
    for state, count in value.items():
        if state not in STATE_CODES:
            raise ValueError(f"unknown state code {state!r} (use USPS codes such as TX)")
        _integer(item, count)
    return dict(value)


_CONVERTERS = {
    "string": _string,
    "text": _string,
    "integer": _integer,
    "boolean": _boolean,
    "date": _date,
    "date-time": _datetime,
    "choice": _choice,
    "choices": _choices,
    "counts": _counts,
}


# ---- OpenAPI -------------------------------------------------------------------------------


def json_schema(spec: tuple[Field, ...]) -> dict[str, Any]:
    """The OpenAPI 3.1 (JSON Schema 2020-12) schema object of a body described by `spec`."""
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {item.name: _property(item) for item in spec},
    }
    required = [item.name for item in spec if item.required]
    if required:
        schema["required"] = required
    return schema


def _property(item: Field) -> dict[str, Any]:
    if item.kind == "object":
        schema = json_schema(item.fields)
    else:
        schema = dict(_PROPERTY_SCHEMAS[item.kind](item))
    if item.nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    if item.description:
        schema["description"] = item.description
    return schema


_PROPERTY_SCHEMAS = {
    "string": lambda f: {"type": "string", "maxLength": f.max_length, "pattern": NO_NUL},
    "text": lambda f: {"type": "string", "maxLength": f.max_length, "pattern": NO_NUL},
    "integer": lambda f: {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
    "boolean": lambda f: {"type": "boolean"},
    "date": lambda f: {"type": "string", "format": "date", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
    "date-time": lambda f: {"type": "string", "format": "date-time"},
    "choice": lambda f: {"type": "string", "enum": list(f.choices)},
    "choices": lambda f: {
        "type": "array",
        "uniqueItems": True,
        "items": {"type": "string", "enum": list(f.choices)},
    },
    "counts": lambda f: {
        "type": "object",
        "propertyNames": {"enum": sorted(STATE_CODES)},
        "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
    },
}


# ---- the bodies ----------------------------------------------------------------------------


def _codes(list_name: str) -> tuple[str, ...]:
    return tuple(option.code for option in options.ocr_options(list_name))


def incident_body() -> tuple[Field, ...]:
    """POST /incidents: the intake facts (issue 4's IncidentFacts)."""
    return (
        Field("title", "string", "Short title of the incident.", required=True),
        Field(
            "discovered_on",
            "date",
            "First day the incident was known (164.404(a)(2)).",
            required=True,
        ),
        Field("description", "text", "What happened.", max_length=20000),
        Field("how_found", "text", "How it was found.", max_length=20000),
        Field("reported_by", "string", "Who reported it (person or system)."),
        Field("occurred_from", "date-time", "When it started, if known.", nullable=True),
        Field("occurred_to", "date-time", "When it ended, if known.", nullable=True),
        Field("discovered_by", "string", "Who discovered it."),
        Field(
            "diligence_known_on",
            "date",
            "The day it would have been known with reasonable diligence, if earlier.",
            nullable=True,
        ),
        Field(
            "diligence_justification",
            "text",
            "Why (required with diligence_known_on).",
            max_length=20000,
        ),
        Field("breach_types", "choices", "OCR type(s) of breach.", choices=_codes("breach_types")),
        Field("breach_type_other", "string", "Describes type 'other'.", max_length=300),
        Field(
            "locations",
            "choices",
            "OCR location(s) of the information.",
            choices=_codes("locations"),
        ),
        Field("location_other", "string", "Describes location 'other'.", max_length=300),
        Field("phi_types", "choices", "Types of PHI involved.", choices=_codes("phi_types")),
        Field(
            "safeguards",
            "choices",
            "Safeguards in place before the breach.",
            choices=_codes("safeguards"),
        ),
        Field("systems_involved", "text", "Systems involved.", max_length=20000),
        Field("affected_estimate", "integer", "Estimated number of individuals affected."),
        Field("state_estimates", "counts", "Estimated individuals per USPS state code."),
        Field("ba_involved", "boolean", "A business associate was involved."),
        Field("ba_name", "string", "The business associate."),
        Field("ba_contact", "string", "How to reach the business associate.", max_length=300),
        Field(
            "ba_discovered_on", "date", "When the business associate discovered it.", nullable=True
        ),
        Field("ba_notified_on", "date", "When the business associate notified you.", nullable=True),
        Field(
            "ba_is_agent", "boolean", "The business associate acts as your agent.", nullable=True
        ),
        *regime_fields(),
    )


def regime_fields() -> tuple[Field, ...]:
    """The facts of the regimes beyond HIPAA (Part 2, licensed facilities, GDPR, SEC)."""
    return (
        Field(
            "part2_records",
            "boolean",
            "42 CFR Part 2 (substance use disorder treatment) records are involved (42 CFR 2.16).",
        ),
        Field(
            "licensed_facility_states",
            "choices",
            "USPS codes of the states where the organisation is a licensed health facility "
            "(e.g. CA: Health & Safety Code 1280.15).",
            choices=tuple(sorted(STATE_CODES)),
        ),
        Field("eu_data_subjects", "integer", "EU/EEA data subjects affected (GDPR Art. 33/34)."),
        Field(
            "gdpr_aware_at",
            "date-time",
            "When the organisation became aware of the personal data breach, with Z or an "
            "offset; required when eu_data_subjects is above 0 (Art. 33(1): 72 hours from it).",
            nullable=True,
        ),
        Field(
            "gdpr_high_risk",
            "boolean",
            "Likely to result in a high risk to the data subjects (Art. 34); null: not assessed.",
            nullable=True,
        ),
        Field(
            "gdpr_controller",
            "boolean",
            "The organisation is the controller (false: a processor, which notifies the "
            "controller).",
        ),
        Field(
            "materiality_determined_on",
            "date",
            "When the incident was determined to be material (SEC Form 8-K Item 1.05); only for "
            "an organisation marked as a public company.",
            nullable=True,
        ),
    )


def timeline_body() -> tuple[Field, ...]:
    """POST /incidents/{id}/timeline: one logged action."""
    return (
        Field("text", "text", "What was done.", required=True, max_length=5000),
        Field(
            "category",
            "choice",
            "Kind of action.",
            required=True,
            choices=tuple(c.value for c in ActionCategory),
        ),
        Field("occurred_at", "date-time", "When it was done (default: now)."),
    )
