"""The what-if calculator: the real engine on typed-in facts, for every signed-in role."""

from __future__ import annotations

import pytest

from incident_app.db import get_session
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from tests.factories import make_user

FACTS = {
    "discovered_on": "2025-09-15",
    "affected_total": "1500",
    "residents": "TX=900\nOK=500\nAR=100",
}


@pytest.mark.parametrize("role", list(Role))
def test_every_role_gets_the_engines_deadlines(app, client, auth, role):
    with app.app_context():
        user = make_user(get_session(), role=role)
    auth.login(user.email)

    html = client.get("/calculator/", query_string=FACTS).get_data(as_text=True)

    assert "Reportable breach" in html
    assert (
        '<tr data-kind="media_notice" data-jurisdiction="TX"><td>Notice to prominent media'
        "</td><td>TX</td><td>2025-11-14</td>" in html
    )
    assert 'data-kind="media_notice" data-jurisdiction="OK"' not in html


def test_nothing_is_stored(app, client, auth):
    with app.app_context():
        user = make_user(get_session(), role=Role.RESPONDER)
    auth.login(user.email)

    client.get("/calculator/", query_string=FACTS)

    with app.app_context():
        assert get_session().query(Obligation).count() == 0


@pytest.mark.parametrize(
    ("facts", "field_error"),
    [
        (
            {**FACTS, "affected_total": "1000"},
            'id="residents-error">residents_by_state: counts '
            "sum to 1500, more than affected_total (1000)",
        ),
        (
            {**FACTS, "residents": "ZZ=5"},
            'id="residents-error">residents_by_state: unknown state code &#39;ZZ&#39;',
        ),
        ({**FACTS, "residents": "TX 900"}, 'id="residents-error">Write each line as STATE=count'),
        (
            {**FACTS, "ba_discovered_on": "2025-09-10", "ba_notified_on": "2025-09-01"},
            'id="ba_notified_on-error">business_associate.notified_covered_entity_on: 2025-09-01 '
            "is before",
        ),
        (
            {**FACTS, "le_statement": "written", "le_stated_on": "2025-09-20"},
            'id="le_delay_until-error">law_enforcement_delay.delay_until: a written statement',
        ),
    ],
    ids=[
        "states-above-total",
        "unknown-state",
        "malformed-line",
        "ba-notified-early",
        "written-without-period",
    ],
)
def test_facts_the_engine_rejects_are_shown_on_their_field(app, client, auth, facts, field_error):
    with app.app_context():
        user = make_user(get_session(), role=Role.LEGAL)
    auth.login(user.email)

    html = client.get("/calculator/", query_string=facts).get_data(as_text=True)

    assert field_error in html
    assert 'id="result"' not in html


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/calculator/", query_string=FACTS)

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_an_unbounded_residents_list_gets_a_message_not_a_500(app, client, auth):
    with app.app_context():
        user = make_user(get_session(), role=Role.RESPONDER)
    auth.login(user.email)

    response = client.get("/calculator/", query_string={**FACTS, "residents": "TX=1\n" * 2000})

    assert response.status_code < 500
    assert 'id="residents-error">Keep it under 5000 characters' in response.get_data(as_text=True)
