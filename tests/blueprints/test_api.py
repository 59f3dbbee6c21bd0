"""The REST API over HTTP: tokens, visibility, intake, timeline, determination, calculator, and
every kind of bad input answered with a JSON error that names the field."""

from __future__ import annotations

import json
from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import Role
from incident_app.services.accounts import api_tokens
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user

INTAKE = {
    "title": "Phishing: payroll mailbox forwarded to outside address",
    "discovered_on": "2026-02-20",
    "description": "SIEM rule 4471 fired on an inbox forwarding rule.",
    "reported_by": "Splunk ES",
    "breach_types": ["hacking"],
    "locations": ["email"],
    "affected_estimate": 120,
    "state_estimates": {"TX": 100, "OK": 20},
}


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _token_for(app, role: Role = Role.RESPONDER, **token_kwargs) -> tuple[object, str]:
    with app.app_context():
        user = make_user(get_session(), role=role)
        _, raw = api_tokens.create_token(
            get_session(),
            actor=user,
            name="test",
            expires_on=token_kwargs.get("expires_on"),
            now=NOW,
        )
    return user, raw


def _bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def _count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(sa.select(sa.func.count()).select_from(model))


# ---- authentication --------------------------------------------------------------------------


def test_openapi_document_needs_no_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json["openapi"] == "3.1.0"
    assert "/api/v1/calculator" in response.json["paths"]


def test_a_call_without_a_token_is_refused_with_401(client):
    response = client.get("/api/v1/incidents")
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert "Authorization: Bearer" in response.json["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_browser_cookie_does_not_authenticate_the_api(app, client, auth):
    with app.app_context():
        officer = make_user(get_session(), role=Role.PRIVACY_OFFICER)
    auth.login(officer.email)
    assert client.get("/").status_code == 200

    response = client.get("/api/v1/incidents")

    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_the_api_needs_no_csrf_token_but_forms_still_do(app, client):
    _, raw = _token_for(app)
    assert (
        client.post(
            "/api/v1/calculator",
            json={"affected_total": 3, "discovered_on": "2026-01-05"},
            headers=_bearer(raw),
        ).status_code
        == 200
    )
    assert (
        client.post("/login", data={"email": "x@example.org", "password": "y"}).status_code == 400
    )


def test_expired_token_is_refused(app, client):
    _, raw = _token_for(app, expires_on=date(2026, 3, 2))
    assert client.get("/api/v1/me", headers=_bearer(raw)).status_code == 200

    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        response = client.get("/api/v1/me", headers=_bearer(raw))

    assert response.status_code == 401
    assert "expired" in response.json["message"]


def test_revoked_token_is_refused(app, client):
    user, raw = _token_for(app)
    with app.app_context():
        token = api_tokens.list_tokens(get_session(), actor=user)[0]
        api_tokens.revoke_token(get_session(), actor=user, token_id=token.id, now=NOW)

    response = client.get("/api/v1/me", headers=_bearer(raw))

    assert response.status_code == 401
    assert response.json == {"error": "unauthorized", "message": "This access token was revoked."}


def test_me_says_who_the_token_acts_as(app, client):
    user, raw = _token_for(app, role=Role.LEGAL)
    body = client.get("/api/v1/me", headers=_bearer(raw)).json
    assert (body["id"], body["role"], body["token"]["name"]) == (user.id, "legal", "test")
    assert raw.startswith(body["token"]["prefix"])


def test_rate_limit_answers_429_with_retry_after(app, client):
    app.config["API_RATE_LIMIT"] = 2
    _, raw = _token_for(app)
    assert client.get("/api/v1/me", headers=_bearer(raw)).status_code == 200
    assert client.get("/api/v1/me", headers=_bearer(raw)).status_code == 200

    response = client.get("/api/v1/me", headers=_bearer(raw))

    assert response.status_code == 429
    assert response.json["error"] == "rate_limited"
    # NOW is exactly on a minute boundary, so the window has all 60 seconds left.
    assert response.headers["Retry-After"] == "60"


# ---- reading incidents -----------------------------------------------------------------------


def test_list_shows_only_incidents_the_owner_can_see_page_by_page(app, client):
    responder, raw = _token_for(app)
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER)
        mine = [
            make_incident(
                session,
                created_by=officer,
                title=f"Mine {n}",
                members={responder: CaseRole.RESPONDER},
            )
            for n in range(3)
        ]
        make_incident(session, created_by=officer, title="Not on my team")

    first = client.get("/api/v1/incidents?per_page=2", headers=_bearer(raw)).json
    second = client.get("/api/v1/incidents?per_page=2&page=2", headers=_bearer(raw)).json

    assert (first["total"], first["pages"], first["page"], first["per_page"]) == (3, 2, 1, 2)
    titles = {item["title"] for item in first["items"] + second["items"]}
    assert titles == {"Mine 0", "Mine 1", "Mine 2"}
    assert {item["id"] for item in first["items"] + second["items"]} == {i.id for i in mine}


@pytest.mark.parametrize("query", ["page=0", "per_page=101", "page=x", "status=open"])
def test_bad_list_parameters_are_422_naming_the_parameter(app, client, query):
    _, raw = _token_for(app)
    response = client.get(f"/api/v1/incidents?{query}", headers=_bearer(raw))
    assert response.status_code == 422
    assert list(response.json["fields"]) == [query.split("=")[0]]


def test_an_incident_the_owner_cannot_see_is_404_like_one_that_does_not_exist(app, client):
    _, raw = _token_for(app)
    with app.app_context():
        officer = make_user(get_session(), role=Role.PRIVACY_OFFICER)
        hidden = make_incident(get_session(), created_by=officer)

    for path in (
        f"/api/v1/incidents/{hidden.id}",
        f"/api/v1/incidents/{hidden.id}/timeline",
        f"/api/v1/incidents/{hidden.id}/determination",
        "/api/v1/incidents/999999",
    ):
        response = client.get(path, headers=_bearer(raw))
        assert response.status_code == 404, path
        assert response.json["error"] == "not_found"
    posted = client.post(
        f"/api/v1/incidents/{hidden.id}/timeline",
        headers=_bearer(raw),
        json={"text": "Tried", "category": "other"},
    )
    assert posted.status_code == 404
    assert _count(app, TimelineEntry) == 0


def test_privacy_officer_token_reads_any_incident(app, client):
    _, raw = _token_for(app, role=Role.PRIVACY_OFFICER)
    with app.app_context():
        someone = make_user(get_session())
        incident = make_incident(
            get_session(),
            created_by=someone,
            affected_estimate=42,
            breach_types=["theft"],
            locations=["laptop"],
        )

    body = client.get(f"/api/v1/incidents/{incident.id}", headers=_bearer(raw)).json

    assert body["reference"] == incident.reference
    assert (body["affected_count"], body["breach_types"], body["discovered_on"]) == (
        42,
        ["theft"],
        "2025-09-15",
    )


# ---- intake ----------------------------------------------------------------------------------


def test_create_incident_runs_intake_and_audits_the_token(app, client):
    responder, raw = _token_for(app)
    with app.app_context():
        token_id = api_tokens.list_tokens(get_session(), actor=responder)[0].id

    response = client.post("/api/v1/incidents", json=INTAKE, headers=_bearer(raw))

    assert response.status_code == 201, response.json
    body = response.json
    assert body["reference"] == "BD-2026-0001"
    assert response.headers["Location"] == f"/api/v1/incidents/{body['id']}"
    assert (body["status"], body["affected_count"], body["state_estimates"]) == (
        "reported",
        120,
        {"OK": 20, "TX": 100},
    )
    with app.app_context():
        events = get_session().scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    by_action = {e.action: e for e in events}
    assert by_action["api.write"].actor_id == responder.id
    assert by_action["api.write"].details == {
        "token_id": token_id,
        "token_prefix": raw[:12],
        "method": "POST",
        "path": "/api/v1/incidents",
    }
    assert by_action["incident.opened"].actor_id == responder.id
    assert by_action["incident.opened"].incident_id == body["id"]
    # The intake service ran: the opener leads the case and obligations were computed.
    determination = client.get(
        f"/api/v1/incidents/{body['id']}/determination", headers=_bearer(raw)
    ).json
    assert determination["preview"] is False
    kinds = {o["kind"]: o["due_on"] for o in determination["obligations"]}
    assert kinds["individual_notice"] == "2026-04-21"
    assert kinds["hhs_annual_log"] == "2027-03-01"


def test_malformed_json_is_400_and_nothing_is_written(app, client):
    _, raw = _token_for(app)
    response = client.post(
        "/api/v1/incidents",
        data='{"title": "x",',
        content_type="application/json",
        headers=_bearer(raw),
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_json"
    assert "not valid JSON" in response.json["message"]
    assert _count(app, Incident) == 0


@pytest.mark.parametrize("raw_body", ['{"a": NaN}', "[" * 50000 + "]" * 50000, b"\xff\xfe{"])
def test_json_that_python_would_choke_on_is_400(app, client, raw_body):
    _, raw = _token_for(app)
    response = client.post(
        "/api/v1/calculator", data=raw_body, content_type="application/json", headers=_bearer(raw)
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_json"


def test_body_that_is_not_json_is_415(app, client):
    _, raw = _token_for(app)
    response = client.post("/api/v1/incidents", data={"title": "x"}, headers=_bearer(raw))
    assert response.status_code == 415
    assert response.json["error"] == "unsupported_media_type"


def test_wrong_types_are_422_naming_every_field(app, client):
    _, raw = _token_for(app)
    body = {
        **INTAKE,
        "affected_estimate": "120",
        "discovered_on": "20/02/2026",
        "breach_types": "hacking",
        "ba_involved": "yes",
        "title": 7,
    }

    response = client.post("/api/v1/incidents", json=body, headers=_bearer(raw))

    assert response.status_code == 422
    assert response.json["error"] == "validation_failed"
    assert response.json["fields"] == {
        "title": "must be a string",
        "discovered_on": "must be a date as YYYY-MM-DD",
        "breach_types": "must be a list of codes",
        "affected_estimate": "must be a whole number",
        "ba_involved": "must be true or false",
    }
    assert _count(app, Incident) == 0


def test_integral_numbers_are_integers_and_fractions_are_refused(app, client):
    # JSON Schema 2020-12 (OpenAPI 3.1): 914.0 is an integer; 914.5 is not.
    _, raw = _token_for(app)

    refused = client.post(
        "/api/v1/incidents", json={**INTAKE, "affected_estimate": 914.5}, headers=_bearer(raw)
    )
    assert refused.status_code == 422
    assert refused.json["fields"] == {"affected_estimate": "must be a whole number"}
    assert _count(app, Incident) == 0

    accepted = client.post(
        "/api/v1/incidents", json={**INTAKE, "affected_estimate": 914.0}, headers=_bearer(raw)
    )
    assert accepted.status_code == 201, accepted.json
    assert _count(app, Incident) == 1


def test_unknown_and_missing_fields_are_422(app, client):
    _, raw = _token_for(app)
    response = client.post(
        "/api/v1/incidents",
        headers=_bearer(raw),
        json={"titel": "typo", "discovered_on": "2026-02-20"},
    )
    assert response.status_code == 422
    assert response.json["fields"] == {"titel": "unknown field", "title": "required"}


def test_a_body_that_is_not_an_object_is_422(app, client):
    _, raw = _token_for(app)
    response = client.post("/api/v1/incidents", json=[INTAKE], headers=_bearer(raw))
    assert response.status_code == 422
    assert response.json["fields"] == {"body": "must be a JSON object"}


def test_oversized_body_is_413_and_nothing_is_written(app, client):
    _, raw = _token_for(app)
    body = json.dumps({**INTAKE, "description": "x" * (300 * 1024)})

    response = client.post(
        "/api/v1/incidents", data=body, content_type="application/json", headers=_bearer(raw)
    )

    assert response.status_code == 413
    assert response.json == {
        "error": "too_large",
        "message": "The request body is larger than 256 KB.",
    }
    assert _count(app, Incident) == 0


def test_a_rule_the_intake_service_enforces_comes_back_as_a_field_error(app, client):
    _, raw = _token_for(app)
    response = client.post(
        "/api/v1/incidents", headers=_bearer(raw), json={**INTAKE, "discovered_on": "2026-03-09"}
    )
    assert response.status_code == 422
    assert response.json["fields"] == {
        "discovered_on": "The discovery date 2026-03-09 is in the future (today is 2026-03-02)."
    }
    assert _count(app, Incident) == 0
    with app.app_context():
        assert (
            get_session().scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "api.write")
            )
            == 0
        )


def test_a_role_that_cannot_open_incidents_gets_403_and_it_is_audited(app, client):
    auditor, raw = _token_for(app, role=Role.AUDITOR)
    response = client.post("/api/v1/incidents", json=INTAKE, headers=_bearer(raw))
    assert response.status_code == 403
    assert response.json["error"] == "not_allowed"
    assert _count(app, Incident) == 0
    with app.app_context():
        denied = get_session().scalars(sa.select(AuditEvent)).all()
    assert [(e.action, e.actor_id) for e in denied if e.action != "api_token.created"] == [
        ("access.denied", auditor.id)
    ]


# ---- timeline --------------------------------------------------------------------------------


def test_team_member_logs_an_action_on_the_timeline(app, client):
    responder, raw = _token_for(app)
    with app.app_context():
        incident = make_incident(
            get_session(), created_by=responder, members={responder: CaseRole.RESPONDER}
        )

    response = client.post(
        f"/api/v1/incidents/{incident.id}/timeline",
        headers=_bearer(raw),
        json={
            "text": "Disabled the forwarding rule.",
            "category": "containment",
            "occurred_at": "2026-03-02T14:05:00Z",
        },
    )

    assert response.status_code == 201, response.json
    assert (response.json["kind"], response.json["category"], response.json["occurred_at"]) == (
        "action",
        "containment",
        "2026-03-02T14:05:00+00:00",
    )
    listed = client.get(f"/api/v1/incidents/{incident.id}/timeline", headers=_bearer(raw)).json
    assert [item["text"] for item in listed["items"]] == ["Disabled the forwarding rule."]
    with app.app_context():
        actions = get_session().scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["api.write", "timeline.action_logged"]


def test_timeline_entry_in_the_future_is_422(app, client):
    responder, raw = _token_for(app)
    with app.app_context():
        incident = make_incident(
            get_session(), created_by=responder, members={responder: CaseRole.RESPONDER}
        )
    response = client.post(
        f"/api/v1/incidents/{incident.id}/timeline",
        headers=_bearer(raw),
        json={"text": "Later", "category": "other", "occurred_at": "2026-03-03T00:00:00Z"},
    )
    assert response.status_code == 422
    assert response.json["fields"] == {"occurred_at": "The time of the action is in the future."}


def test_timestamp_without_time_zone_is_422(app, client):
    responder, raw = _token_for(app)
    with app.app_context():
        incident = make_incident(
            get_session(), created_by=responder, members={responder: CaseRole.RESPONDER}
        )
    response = client.post(
        f"/api/v1/incidents/{incident.id}/timeline",
        headers=_bearer(raw),
        json={"text": "x", "category": "nope", "occurred_at": "2026-03-01T10:00:00"},
    )
    assert response.status_code == 422
    assert set(response.json["fields"]) == {"category", "occurred_at"}


def test_legal_reviewer_on_the_team_reads_but_cannot_log(app, client):
    legal, raw = _token_for(app, role=Role.LEGAL)
    with app.app_context():
        officer = make_user(get_session(), role=Role.PRIVACY_OFFICER)
        incident = make_incident(get_session(), created_by=officer, members={legal: CaseRole.LEGAL})

    assert client.get(f"/api/v1/incidents/{incident.id}", headers=_bearer(raw)).status_code == 200
    response = client.post(
        f"/api/v1/incidents/{incident.id}/timeline",
        headers=_bearer(raw),
        json={"text": "x", "category": "other"},
    )
    assert response.status_code == 403
    assert _count(app, TimelineEntry) == 0


# ---- calculator ------------------------------------------------------------------------------


def test_calculator_returns_the_determination_with_iso_dates(app, client):
    _, raw = _token_for(app)
    response = client.post(
        "/api/v1/calculator",
        headers=_bearer(raw),
        json={
            "discovered_on": "2025-09-15",
            "affected_total": 100,
            "residents_by_state": {"NY": 100},
        },
    )

    assert response.status_code == 200, response.json
    body = response.json
    assert body["reportable"] is True
    assert body["treated_discovery_on"] == "2025-09-15"
    due = {(o["kind"], o["jurisdiction"]): o["due_on"] for o in body["obligations"]}
    # 60 days after Sept 15 is Nov 14; the annual log is due 60 days after Dec 31, 2025.
    assert due[("individual_notice", "US")] == "2025-11-14"
    assert due[("hhs_annual_log", "US")] == "2026-03-01"


def test_calculator_low_probability_is_not_reportable(app, client):
    _, raw = _token_for(app)
    body = client.post(
        "/api/v1/calculator",
        headers=_bearer(raw),
        json={
            "discovered_on": "2025-09-15",
            "affected_total": 100,
            "low_probability_of_compromise": True,
        },
    ).json
    assert (body["reportable"], body["obligations"]) == (False, [])


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"discovered_on": "2025-09-15", "affected_total": 10, "residents_by_state": {"TX": 11}},
            {"residents_by_state"},
        ),
        (
            {
                "discovered_on": "2025-09-15",
                "affected_total": 10,
                "business_associate": {
                    "discovered_on": "2025-09-10",
                    "notified_covered_entity_on": "2025-09-01",
                },
            },
            {"business_associate.notified_covered_entity_on"},
        ),
        (
            {
                "discovered_on": "2025-09-15",
                "affected_total": 10,
                "law_enforcement_delay": {"statement": "email", "stated_on": "2025-13-01"},
            },
            {"law_enforcement_delay.statement", "law_enforcement_delay.stated_on"},
        ),
        (
            {"affected_total": -1, "exception": "oops", "phi_secured": 1},
            {"discovered_on", "affected_total", "exception", "phi_secured"},
        ),
        ({"discovered_on": None, "affected_total": 10}, {"discovered_on"}),
    ],
)
def test_calculator_bad_facts_name_the_breach_facts_field(app, client, body, fields):
    _, raw = _token_for(app)
    response = client.post("/api/v1/calculator", json=body, headers=_bearer(raw))
    assert response.status_code == 422
    assert set(response.json["fields"]) == fields


# ---- calculator: issue #17's facts and obligations --------------------------------------------


def test_calculator_takes_the_new_facts_and_returns_due_at_and_labels(app, client):
    _, raw = _token_for(app)
    response = client.post(
        "/api/v1/calculator",
        headers=_bearer(raw),
        json={
            "discovered_on": "2026-03-02",
            "affected_total": 6000,
            "residents_by_state": {"NY": 5500, "IL": 20},
            "entity_role": "covered_entity",
            "part2_records": True,
            "licensed_facility_states": ["CA"],
            "notices_sent": {"individuals_on": None, "hhs_on": "2026-03-20", "media_on": None},
            "gdpr": {
                "aware_at": "2026-03-02T15:30:00+01:00",
                "data_subjects": 12,
                "high_risk": True,
                "controller": True,
            },
            "materiality_determined_on": "2026-03-05",
        },
    )

    assert response.status_code == 200, response.json
    found = {(o["kind"], o["jurisdiction"]): o for o in response.json["obligations"]}
    art33 = found[("supervisory_authority_notice", "EU")]
    assert art33["due_at"] == "2026-03-05T14:30:00+00:00"  # 72 hours after 14:30 UTC
    assert art33["due_on"] == "2026-03-05"
    assert art33["label"] == "Notice to the supervisory authority"
    assert found[("individual_notice", "US")]["due_at"] is None
    assert found[("cra_notice", "NY")]["label"] == "Notice to consumer reporting agencies"
    assert found[("sec_8k_notice", "US")]["due_on"] == "2026-03-11"  # 4 business days
    assert found[("part2_hhs_notice", "US")]["detail"]["mirrors"] == "hhs_notice"
    assert ("data_subject_notice", "EU") in found
    # IL's AG notice runs 5 business days from the HHS notice, recorded as sent on 03-20.
    il_ag = found[("state_regulator_notice", "IL")]
    assert il_ag["due_on"] == "2026-03-27"
    assert "recorded as sent on 2026-03-20" in il_ag["detail"]["basis"]
    assert all(o["label"] for o in response.json["obligations"])


@pytest.mark.parametrize(
    ("extra", "fields"),
    [
        ({"gdpr": {"aware_at": "2026-03-02T10:00:00", "data_subjects": 3}}, {"gdpr.aware_at"}),
        (
            {"gdpr": {"aware_at": "2026-03-02T10:00:00Z", "data_subjects": 0}},
            {"gdpr.data_subjects"},
        ),
        ({"gdpr": {"data_subjects": 3}}, {"gdpr.aware_at"}),
        ({"entity_role": "hospital"}, {"entity_role"}),
        (
            {
                "entity_role": "phr_vendor",
                "business_associate": {"discovered_on": "2026-03-01"},
            },
            {"entity_role"},
        ),
        ({"licensed_facility_states": ["ZZ"]}, {"licensed_facility_states"}),
        ({"notices_sent": {"hhs_on": "2026-02-01"}}, {"notices_sent.hhs_on"}),
        ({"materiality_determined_on": "2026-02-01"}, {"materiality_determined_on"}),
        ({"notices_sent": {"sent_on": "2026-03-05"}}, {"notices_sent.sent_on"}),
        (
            {"gdpr": {"aware_at": "9999-12-31T23:00:00Z", "data_subjects": 3}},
            {"gdpr.aware_at"},
        ),
    ],
    ids=[
        "naive-aware-at",
        "zero-data-subjects",
        "aware-at-missing",
        "unknown-role",
        "phr-vendor-with-ba-facts",
        "unknown-facility-state",
        "hhs-notice-before-discovery",
        "materiality-before-discovery",
        "unknown-notice-field",
        "deadline-past-9999",
    ],
)
def test_calculator_rejects_bad_new_facts_naming_the_field(app, client, extra, fields):
    _, raw = _token_for(app)
    body = {"discovered_on": "2026-03-02", "affected_total": 10, **extra}

    response = client.post("/api/v1/calculator", json=body, headers=_bearer(raw))

    assert response.status_code == 422, response.json
    assert set(response.json["fields"]) == fields


def test_the_openapi_document_describes_the_new_facts_and_due_at(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]

    facts = schemas["CalculatorInput"]["properties"]
    for name in (
        "entity_role",
        "part2_records",
        "licensed_facility_states",
        "notices_sent",
        "gdpr",
        "materiality_determined_on",
    ):
        assert name in facts
    gdpr = facts["gdpr"]["anyOf"][0]
    assert gdpr["required"] == ["aware_at", "data_subjects"]
    assert gdpr["properties"]["aware_at"]["format"] == "date-time"
    result = schemas["Determination"]["properties"]["obligations"]["items"]
    assert {"due_at", "label"} <= set(result["required"])
    assert {"due_at", "label"} <= set(schemas["Obligation"]["required"])
