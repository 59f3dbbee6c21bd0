"""The hostile form values from issue 24 §2, each once: a clear message, a 4xx, nothing written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.incident import Incident
from incident_app.models.task import Task
from incident_app.models.user import Role
from tests.blueprints.test_incident_pages import INTAKE
from tests.conftest import csrf_token
from tests.support.factories import make_incident
from tests.support.factories import make_user

BIG = str(2**63)


def _post(client, path, data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, path)})


def _count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def officer(app):
    with app.app_context():
        return make_user(get_session(), role=Role.PRIVACY_OFFICER)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"occurred_to": "9999-12-31T23:59"}, "year 1900–2199"),
        ({"occurred_from": "0001-01-01T00:00"}, "year 1900–2199"),
        ({"discovered_on": "9999-12-31"}, "year 1900–2199"),
        ({"affected_estimate": BIG}, "whole number between"),
        ({"eu_data_subjects": BIG}, "whole number between"),
        ({"occurred_zone": "A" * 300}, "IANA time zone"),
        ({"occurred_zone": "../../etc/passwd"}, "IANA time zone"),
    ],
)
def test_hostile_intake_values_get_a_message_and_write_nothing(
    app, client, auth, officer, change, message
):
    auth.login(officer.email)
    response = _post(client, "/incidents/new", {**INTAKE, **change})
    assert response.status_code == 422, response.status_code
    assert message in response.get_data(as_text=True)
    assert _count(app, Incident) == 0


def test_a_task_for_a_huge_assignee_id_gets_a_message(app, client, auth, officer):
    with app.app_context():
        incident = make_incident(get_session(), created_by=officer, members={})
    auth.login(officer.email)
    response = _post(
        client,
        f"/incidents/{incident.id}/tasks",
        {"title": "Retrieve the fax", "assignee_id": BIG, "status": "open"},
    )
    assert response.status_code == 422
    assert "team" in response.get_data(as_text=True)
    assert _count(app, Task) == 0


def test_a_nul_character_in_a_form_or_query_value_is_dropped(app, client, auth, officer):
    """PostgreSQL text cannot hold U+0000: before issue 24 it made any text field a 500 there."""
    auth.login(officer.email)
    response = _post(client, "/incidents/new", {**INTAKE, "title": "Lost\x00 laptop"})
    assert response.status_code == 302
    with app.app_context():
        assert get_session().scalar(sa.select(Incident.title)) == "Lost laptop"
    assert client.get("/incidents/?q=Lost\x00").status_code == 200
