"""Tabletop exercises through the web (issue 23): marked at intake and never changed after, the
EXERCISE banner on every page about one (never on a page the user may not see), left out of
the API listing unless asked for, its HHS portal JSON refused; the call-centre FAQ's export
refused before approval with the reason."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import time_machine

from incident_app import app_store
from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.user import Role
from incident_app.services.accounts import api_tokens
from incident_app.services.letters import generation
from incident_app.services.letters.faq import FAQ_TEMPLATE
from tests.blueprints.test_incident_pages import INTAKE
from tests.conftest import csrf_token
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation

BANNER = 'data-testid="exercise-banner"'


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(app):
    with app.app_context():
        session = get_session()
        return {
            "officer": make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org"),
            "member": make_user(session, role=Role.RESPONDER, email="member@example.org"),
            "outsider": make_user(session, role=Role.RESPONDER, email="outsider@example.org"),
        }


@pytest.fixture
def drill(app, people):
    with app.app_context():
        return make_incident(
            get_session(),
            created_by=people["officer"],
            title="Drill: phishing",
            exercise=True,
            members={people["member"]: CaseRole.RESPONDER},
        )


def test_intake_marks_an_exercise_and_the_mark_cannot_be_changed_afterwards(app, client, auth):
    with app.app_context():
        make_user(get_session(), role=Role.PRIVACY_OFFICER, email="po@example.org")
    auth.login("po@example.org")
    token = csrf_token(client, "/incidents/new")

    response = client.post("/incidents/new", data={**INTAKE, "exercise": "y", "csrf_token": token})

    assert response.status_code == 302
    with app.app_context():
        incident = get_session().scalars(sa.select(Incident)).one()
        assert incident.exercise is True
        opened = (
            get_session()
            .scalars(sa.select(AuditEvent).where(AuditEvent.action == "incident.opened"))
            .one()
        )
        assert opened.details["exercise"] is True
    detail = client.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert BANNER in detail and "Exercise " in client.get(
        f"/incidents/{incident.id}/timeline"
    ).get_data(as_text=True)

    # The facts form has no such field; a forged one is ignored.
    facts = client.get(f"/incidents/{incident.id}/facts").get_data(as_text=True)
    assert 'name="exercise"' not in facts
    token = csrf_token(client, f"/incidents/{incident.id}/facts")
    saved = client.post(
        f"/incidents/{incident.id}/facts",
        data={**INTAKE, "title": "Renamed drill", "exercise": "", "csrf_token": token},
    )
    assert saved.status_code == 302
    with app.app_context():
        assert get_session().get(Incident, incident.id).title == "Renamed drill"
        assert get_session().get(Incident, incident.id).exercise is True


def test_a_real_intake_is_not_an_exercise(app, client, auth):
    with app.app_context():
        make_user(get_session(), role=Role.PRIVACY_OFFICER, email="po@example.org")
    auth.login("po@example.org")
    token = csrf_token(client, "/incidents/new")

    client.post("/incidents/new", data={**INTAKE, "csrf_token": token})

    with app.app_context():
        incident = get_session().scalars(sa.select(Incident)).one()
    assert incident.exercise is False
    assert BANNER not in client.get(f"/incidents/{incident.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    ["", "/facts", "/team", "/timeline", "/tasks", "/evidence", "/letters/", "/roster/"],
)
def test_every_page_of_the_drill_carries_the_banner(client, auth, drill, path):
    auth.login("member@example.org")

    response = client.get(f"/incidents/{drill.id}{path}")

    assert response.status_code == 200, path
    assert BANNER in response.get_data(as_text=True)


def test_the_banner_never_reveals_a_drill_to_someone_off_its_team(client, auth, drill):
    auth.login("outsider@example.org")

    response = client.get(f"/incidents/{drill.id}")

    assert response.status_code == 404
    assert BANNER not in response.get_data(as_text=True)


def test_the_api_leaves_drills_out_of_the_listing_unless_asked(app, client, people, drill):
    with app.app_context():
        real = make_incident(get_session(), created_by=people["officer"], title="Real one")
        _, raw = api_tokens.create_token(
            get_session(), actor=people["officer"], name="t", expires_on=None, now=NOW
        )
    bearer = {"Authorization": f"Bearer {raw}"}

    default = client.get("/api/v1/incidents", headers=bearer).json
    included = client.get("/api/v1/incidents?exercises=include", headers=bearer).json
    only = client.get("/api/v1/incidents?exercises=only", headers=bearer).json
    wrong = client.get("/api/v1/incidents?exercises=maybe", headers=bearer)

    assert [(i["id"], i["exercise"]) for i in default["items"]] == [(real.id, False)]
    assert default["total"] == 1
    assert {i["id"] for i in included["items"]} == {real.id, drill.id}
    assert [(i["id"], i["exercise"]) for i in only["items"]] == [(drill.id, True)]
    assert wrong.status_code == 422 and list(wrong.json["fields"]) == ["exercises"]


def test_a_drills_hhs_portal_json_is_refused(app, client, auth, people):
    with app.app_context():
        session = get_session()
        incident = breach_case(session, officer=people["officer"], exercise=True)
        letter = generation.generate(
            session,
            actor=people["officer"],
            now=NOW,
            incident_id=incident.id,
            request=generation.LetterRequest(
                obligation(session, incident, "hhs_notice").id, "hhs_packet.html"
            ),
            store=app_store.current_store(),
        )
    auth.login("po@example.org")

    response = client.get(f"/incidents/{incident.id}/letters/{letter.id}/hhs.json")

    assert response.status_code == 409
    assert "tabletop exercise" in response.get_data(as_text=True)


def test_exporting_the_faq_before_approval_is_refused_with_the_reason(app, client, auth, people):
    with app.app_context():
        session = get_session()
        incident = breach_case(session, officer=people["officer"])
        letter = generation.generate(
            session,
            actor=people["officer"],
            now=NOW,
            incident_id=incident.id,
            request=generation.LetterRequest(
                obligation(session, incident, "individual_notice").id, FAQ_TEMPLATE
            ),
            store=app_store.current_store(),
        )
    auth.login("po@example.org")
    page = client.get(f"/incidents/{incident.id}/letters/{letter.id}").get_data(as_text=True)
    assert 'data-testid="faq-export"' in page and "Mark as sent" not in page

    response = client.get(
        f"/incidents/{incident.id}/letters/{letter.id}/faq.pdf", follow_redirects=True
    )

    assert response.mimetype == "text/html"
    assert "Not exported: the call-centre FAQ" in response.get_data(as_text=True)
    with app.app_context():
        exported = get_session().scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "letter.faq_exported")
        )
    assert exported == 0


def test_the_incident_list_marks_drills_and_filters_them(app, client, auth, people, drill):
    with app.app_context():
        make_incident(get_session(), created_by=people["officer"], title="Real one")
    auth.login("po@example.org")

    everything = client.get("/incidents/").get_data(as_text=True)
    real_only = client.get("/incidents/?exercises=real").get_data(as_text=True)
    drills = client.get("/incidents/?exercises=only").get_data(as_text=True)

    assert "Real one" in everything and "Drill: phishing" in everything
    assert everything.count('class="badge exercise"') == 1
    assert "Real one" in real_only and "Drill: phishing" not in real_only
    assert "Drill: phishing" in drills and "Real one" not in drills
    wrong = client.get("/incidents/?exercises=maybe")
    assert wrong.status_code == 200 and "Not a valid choice" in wrong.get_data(as_text=True)
