"""Object ids from another incident never work through this incident's URLs (IDOR)."""

from __future__ import annotations

import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from incident_app.services.obligations import sync as obligation_sync
from tests.conftest import csrf_token
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user


def test_an_obligation_of_another_incident_cannot_be_overridden(app, client, auth) -> None:
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        mine = make_incident(session, created_by=officer, affected_estimate=20)
        theirs = make_incident(session, created_by=officer, affected_estimate=20)
        obligation_sync.sync(session, incident=theirs, now=NOW)
        session.commit()
        target = session.scalars(
            sa.select(Obligation.id).where(Obligation.incident_id == theirs.id)
        ).first()
    auth.login("po@example.org")
    token = csrf_token(client, f"/incidents/{mine.id}/deadlines")

    response = client.post(
        f"/incidents/{mine.id}/deadlines/{target}/override",
        data={"due_on": "2025-10-01", "reason": "wrong incident", "csrf_token": token},
    )

    assert response.status_code == 404
    with app.app_context():
        assert get_session().get(Obligation, target).override_due_on is None
