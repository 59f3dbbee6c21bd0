"""Business-associate mode pages: the client registry and an incident's Clients tab."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.client import Client
from incident_app.models.client import IncidentClient
from incident_app.models.user import Role
from incident_app.services.clients import registry
from incident_app.services.clients.registry import ClientValues
from incident_app.services.organisation import get_organisation
from tests.conftest import csrf_token
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case


@pytest.fixture
def world(app):
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        responder = make_user(session, role=Role.RESPONDER, email="resp@example.org")
        oak = registry.create_client(
            session,
            actor=officer,
            values=ClientValues(
                "Oak Practice",
                "Sam Oak, sam@oak.example",
                period_count=5,
                period_unit="business_days",
            ),
            now=NOW,
        )
        incident = breach_case(session, officer=officer)
        return {"officer": officer, "responder": responder, "oak": oak, "incident": incident}


def test_an_officer_adds_a_client_and_sees_it_listed(client, auth, world):
    auth.login(world["officer"].email)
    token = csrf_token(client, "/clients/new")

    response = client.post(
        "/clients/new",
        data={
            "csrf_token": token,
            "name": "Elm Clinic",
            "contacts": "Dana Reyes, dana@elm.example, 555-0100",
            "period_count": "",
            "period_unit": "",
        },
        follow_redirects=True,
    )

    assert b"Client Elm Clinic added." in response.data
    listing = client.get("/clients").get_data(as_text=True)
    assert "Elm Clinic" in listing and "5 business days after discovery" in listing


def test_a_bad_contact_line_is_shown_on_the_form_and_nothing_is_saved(app, client, auth, world):
    auth.login(world["officer"].email)
    token = csrf_token(client, "/clients/new")

    response = client.post(
        "/clients/new",
        data={"csrf_token": token, "name": "Elm Clinic", "contacts": "Dana, not-an-email"},
    )

    assert response.status_code == 422
    assert b"Contact line 1" in response.data
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Client)) == 1


def test_the_baa_is_uploaded_and_downloaded(client, auth, world):
    auth.login(world["officer"].email)
    oak = world["oak"]
    token = csrf_token(client, f"/clients/{oak.id}")
    data = b"%PDF-1.4 the agreement"

    response = client.post(
        f"/clients/{oak.id}/baa",
        data={"csrf_token": token, "file": (io.BytesIO(data), "oak-baa.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )

    assert b"Business associate agreement on file." in response.data
    download = client.get(f"/clients/{oak.id}/baa")
    assert download.data == data
    assert "oak-baa.pdf" in download.headers["Content-Disposition"]


def test_a_responder_cannot_open_the_registry(client, auth, world):
    auth.login(world["responder"].email)

    assert client.get("/clients").status_code == 403
    assert client.get(f"/clients/{world['oak'].id}").status_code == 403


def test_naming_a_client_shows_its_deadlines_on_the_incident(app, client, auth, world):
    auth.login(world["officer"].email)
    incident, oak = world["incident"], world["oak"]
    url = f"/incidents/{incident.id}/clients"
    token = csrf_token(client, url)

    response = client.post(
        url, data={"csrf_token": token, "client_ids": [str(oak.id)]}, follow_redirects=True
    )

    page = response.get_data(as_text=True)
    assert "Clients saved." in page
    # discovered 2025-09-15: + 60 days = 2025-11-14; 5 business days = 2025-09-22
    assert "2025-11-14" in page and "2025-09-22" in page
    assert "Overdue: 2025-09-22" in page
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(IncidentClient)) == 1


def test_the_naming_form_is_offered_in_business_associate_mode_only(app, client, auth, world):
    auth.login(world["officer"].email)
    url = f"/incidents/{world['incident'].id}/clients"
    off = client.get(url).get_data(as_text=True)
    assert "Business-associate mode is off" in off and "Save clients" not in off
    with app.app_context():
        get_organisation(get_session()).acts_as_business_associate = True
        get_session().commit()
    on = client.get(url).get_data(as_text=True)
    assert "Save clients" in on and "Business-associate mode is off" not in on
