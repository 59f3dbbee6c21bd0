"""Schemathesis against the app's own OpenAPI document, in-process (WSGI), on every backend.

For every operation it sends generated requests, valid ones and deliberately invalid ones, as
a privacy officer's token, and fails on any 500, any status or header the document does not
list, any response body that does not match its schema, and any invalid request accepted.
Deterministic (derandomized Hypothesis, no example database) and bounded: at most
MAX_EXAMPLES examples per operation and mode (positive, negative).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import negative_data_rejection
from schemathesis.specs.openapi.checks import response_headers_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance

from incident_app.db import get_session
from incident_app.models.user import Role
from incident_app.services.accounts import api_tokens
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from tests.support.factories import NOW
from tests.support.factories import make_user

MAX_EXAMPLES = 15  # per operation and mode: at most 30 requests per operation
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _seed(app) -> tuple[str, int]:
    """A privacy officer's token and one real incident (with obligations) to aim at."""
    app.config["API_RATE_LIMIT"] = 1_000_000
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER)
        _, raw = api_tokens.create_token(
            session, actor=officer, name="fuzz", expires_on=None, now=NOW
        )
        incident = incident_intake.open_incident(
            session,
            actor=officer,
            now=NOW,
            facts=incident_facts.IncidentFacts(
                title="Seed", discovered_on=NOW.date(), affected_estimate=40
            ),
        )
    return raw, incident.id


def _run(strategy, headers: dict[str, str], counter: list[int]) -> None:
    @SETTINGS
    @given(case=strategy)
    def exercise(case) -> None:
        counter[0] += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    exercise()


def test_every_operation_conforms_to_the_openapi_document(app):
    raw, incident_id = _seed(app)
    headers = {"Authorization": f"Bearer {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    counter = [0]
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        aimed = {"incident_id": incident_id} if "{incident_id}" in operation.path else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            if aimed:  # half of the ids at random (mostly 404), half the real incident
                strategy |= operation.as_strategy(generation_mode=mode, path_parameters=aimed)
            _run(strategy, headers, counter)

    assert operations == 8
    print(f"schemathesis: {operations} operations, {counter[0]} examples, 0 failures")
