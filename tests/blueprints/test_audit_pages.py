"""The audit viewer: who may read it, filters, safe CSV, signed JSON, reads are audited."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.user import Role
from incident_app.services import audit
from incident_app.services.audit_log import signing_key
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user


@pytest.fixture
def auditor(app):
    with app.app_context():
        session = get_session()
        user = make_user(session, role=Role.AUDITOR, email="aud@example.org")
        audit.record(
            session,
            actor=None,
            actor_label='=HYPERLINK("http://x")',
            action="auth.login_failed",
            at=NOW,
            details={"reason": "unknown_email"},
        )
        audit.record(session, actor=user, action="user.created", at=NOW, incident_id=7)
        session.commit()
        return user


def _actions(app) -> list[str]:
    with app.app_context():
        return list(get_session().scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.mark.parametrize("role", [Role.RESPONDER, Role.LEGAL, Role.ADMIN])
def test_only_auditors_and_privacy_officers_read_the_trail(app, client, auth, role) -> None:
    with app.app_context():
        make_user(get_session(), role=role, email="x@example.org")
    auth.login("x@example.org")

    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_auditor_filters_and_the_read_is_audited(app, client, auth, auditor) -> None:
    auth.login(auditor.email)

    response = client.get("/audit/?action=user.&incident=7")

    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "has not been verified yet" in page
    assert "1 matching event;" in page and "user.created" in page
    assert "HYPERLINK" not in page
    assert _actions(app)[-1] == "audit.viewed"


def test_the_page_shows_when_and_by_what_the_chain_was_last_verified(
    app, client, auth, auditor, runner
) -> None:
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    auth.login(auditor.email)

    page = client.get("/audit/").get_data(as_text=True)

    assert "Chain verified" in page and "by system (cli)" in page
    assert "every MAC and 0 signed checkpoints matched" in page


def test_the_page_shows_a_broken_chain_from_the_last_verification(
    app, client, auth, auditor, runner
) -> None:
    with app.app_context():
        session = get_session()
        session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 1).values(action="x.y"))
        session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1
    auth.login(auditor.email)

    page = client.get("/audit/").get_data(as_text=True)

    assert "Chain BROKEN" in page and "at event #1" in page and "edited" in page


def test_csv_export_neutralises_formulas(app, client, auth, auditor) -> None:
    auth.login(auditor.email)

    response = client.get("/audit/export.csv")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    labels = [row["actor"] for row in rows]
    assert '\'=HYPERLINK("http://x")' in labels
    assert not any(label.startswith("=") for label in labels)
    assert _actions(app)[-1] == "audit.exported"


def test_signed_json_carries_the_chain_head_and_a_valid_signature(
    app, client, auth, auditor
) -> None:
    auth.login(auditor.email)

    document = client.get("/audit/export.json").json

    body = document["body"]
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = signing_key(app.config["SECRET_KEY"])
    expected = hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()
    assert document["signature"]["value"] == expected
    assert body["chain"]["ok"] is True and len(body["chain"]["head_hash"]) == 64
    body["events"][0]["action"] = "edited"
    tampered = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hmac.new(key, tampered.encode(), hashlib.sha256).hexdigest() != expected


def test_injection_looking_filters_are_harmless(app, client, auth, auditor) -> None:
    auth.login(auditor.email)

    response = client.get("/audit/?actor=%27%3B+DROP+TABLE+audit_event%3B--&action=%25_")

    assert response.status_code == 200 and b"0 matching events" in response.data


def test_the_incident_filter_takes_the_reference_people_know(app, client, auth, auditor) -> None:
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER)
        incident = make_incident(session, created_by=officer)
        other = make_incident(session, created_by=officer)
        for case in (incident, other):
            audit.record(
                session, actor=officer, action="incident.viewed", at=NOW, incident_id=case.id
            )
        session.commit()
        reference, other_reference = incident.reference, other.reference
    auth.login(auditor.email)

    page = client.get(f"/audit/?incident={reference.lower()}").get_data(as_text=True)

    assert "Incident (reference, e.g. BD-2025-0003)" in page
    assert "1 matching event;" in page and f"<td>{reference}</td>" in page
    assert other_reference not in page.split("<tbody>")[1]
    bad = client.get("/audit/?incident=case 7").get_data(as_text=True)
    assert "Enter the incident&#39;s reference, like BD-2025-0003." in bad
