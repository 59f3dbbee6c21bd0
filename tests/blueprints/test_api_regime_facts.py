"""POST /api/v1/incidents with the regimes beyond HIPAA: the same facts as the intake form,
refused with 422 naming the field when wrong, and documented in the OpenAPI document."""

from __future__ import annotations

import pytest

from incident_app.db import get_session
from incident_app.models.incident import Incident
from incident_app.models.user import Role
from incident_app.services.organisation import get_organisation
from tests.blueprints.test_api import INTAKE
from tests.blueprints.test_api import _bearer
from tests.blueprints.test_api import _count
from tests.blueprints.test_api import _frozen_clock  # noqa: F401 - autouse fixture
from tests.blueprints.test_api import _token_for

REGIMES = {
    "part2_records": True,
    "licensed_facility_states": ["CA", "TX"],
    "eu_data_subjects": 9,
    "gdpr_aware_at": "2026-02-21T09:15:00+01:00",
    "gdpr_high_risk": None,
    "gdpr_controller": True,
}


def _public(app) -> None:
    with app.app_context():
        get_organisation(get_session()).public_company = True
        get_session().commit()


def test_intake_accepts_the_regime_facts_and_shows_them(app, client):
    _public(app)
    _, raw = _token_for(app, Role.PRIVACY_OFFICER)

    response = client.post(
        "/api/v1/incidents",
        json={**INTAKE, **REGIMES, "materiality_determined_on": "2026-02-24"},
        headers=_bearer(raw),
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert body["part2_records"] is True
    assert body["licensed_facility_states"] == ["CA", "TX"]
    # 09:15 at UTC+1 is 08:15 UTC.
    assert body["gdpr_aware_at"] == "2026-02-21T08:15:00+00:00"
    assert (body["eu_data_subjects"], body["gdpr_high_risk"], body["gdpr_controller"]) == (
        9,
        None,
        True,
    )
    assert body["materiality_determined_on"] == "2026-02-24"
    determination = client.get(
        f"/api/v1/incidents/{body['id']}/determination", headers=_bearer(raw)
    ).json
    by_kind = {o["kind"]: o for o in determination["obligations"]}
    # GDPR Art. 33(1): 72 hours after 2026-02-21 08:15 UTC.
    assert by_kind["supervisory_authority_notice"]["due_at"] == "2026-02-24T08:15:00+00:00"
    assert by_kind["individual_notice"]["due_at"] is None
    assert any("high-risk assessment" in w for w in determination["warnings"])


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"gdpr_aware_at": "2026-02-21T09:15:00"}, "gdpr_aware_at", "with Z or an offset"),
        ({"gdpr_aware_at": None}, "gdpr_aware_at", "became aware"),
        ({"eu_data_subjects": -1}, "eu_data_subjects", "between 0 and"),
        ({"eu_data_subjects": 0}, "eu_data_subjects", "no EU/EEA data subjects"),
        ({"licensed_facility_states": ["CA", "ZZ"]}, "licensed_facility_states", "'ZZ'"),
        ({"licensed_facility_states": "CA"}, "licensed_facility_states", "list of codes"),
        (
            {"materiality_determined_on": "2026-02-19"},
            "materiality_determined_on",
            "before the incident was discovered (2026-02-20)",
        ),
        ({"gdpr_controller": None}, "gdpr_controller", "must not be null"),
    ],
)
def test_bad_regime_facts_are_422_naming_the_field(app, client, change, field, message):
    _public(app)
    _, raw = _token_for(app, Role.PRIVACY_OFFICER)

    response = client.post(
        "/api/v1/incidents", json={**INTAKE, **REGIMES, **change}, headers=_bearer(raw)
    )

    assert response.status_code == 422, response.json
    assert message in response.json["fields"][field]
    assert _count(app, Incident) == 0


def test_materiality_from_a_company_that_is_not_public_is_422(app, client):
    _, raw = _token_for(app, Role.PRIVACY_OFFICER)

    response = client.post(
        "/api/v1/incidents",
        json={**INTAKE, "materiality_determined_on": "2026-02-24"},
        headers=_bearer(raw),
    )

    assert response.status_code == 422
    assert "not marked as a public company" in response.json["fields"]["materiality_determined_on"]
    assert _count(app, Incident) == 0


def test_the_openapi_document_describes_the_regime_facts(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]

    intake = schemas["IncidentInput"]["properties"]
    assert intake["gdpr_aware_at"]["anyOf"][0]["format"] == "date-time"
    assert "PR" in intake["licensed_facility_states"]["items"]["enum"]
    assert intake["eu_data_subjects"]["minimum"] == 0
    assert "42 CFR 2.16" in intake["part2_records"]["description"]
    assert {"part2_records", "gdpr_aware_at", "materiality_determined_on"} <= set(
        schemas["Incident"]["required"]
    )
    assert "due_at" in schemas["Obligation"]["required"]
