"""Who sees and works on which incident: roles plus per-incident membership."""

from __future__ import annotations

import pytest

from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.models.incident import CaseRole
from incident_app.models.user import Role
from incident_app.services.incidents import access as incident_access
from tests.support.factories import make_incident
from tests.support.factories import make_user


@pytest.fixture
def world(session):
    people = {role: make_user(session, role=role) for role in Role}
    people["member"] = make_user(session, role=Role.RESPONDER)
    people["legal_member"] = make_user(session, role=Role.LEGAL)
    incident = make_incident(
        session,
        created_by=people[Role.PRIVACY_OFFICER],
        members={people["member"]: CaseRole.RESPONDER, people["legal_member"]: CaseRole.LEGAL},
    )
    make_incident(session, created_by=people[Role.PRIVACY_OFFICER])  # nobody's team
    return people, incident


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        (Role.ADMIN, 2),
        (Role.PRIVACY_OFFICER, 2),
        (Role.AUDITOR, 2),
        (Role.RESPONDER, 0),
        (Role.LEGAL, 0),
        ("member", 1),
        ("legal_member", 1),
    ],
)
def test_visible_incidents_by_role_and_membership(session, world, who, sees) -> None:
    people, _ = world

    rows = session.scalars(incident_access.visible_incidents(people[who])).all()

    assert len(rows) == sees


@pytest.mark.parametrize("who", [Role.RESPONDER, Role.LEGAL])
def test_non_members_get_not_found_not_forbidden(session, world, who) -> None:
    people, incident = world

    with pytest.raises(NotFound):
        incident_access.get_visible(session, actor=people[who], incident_id=incident.id)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        (Role.PRIVACY_OFFICER, None),
        ("member", None),
        (Role.AUDITOR, NotAllowed),
        ("legal_member", NotAllowed),
        (Role.RESPONDER, NotFound),
    ],
)
def test_who_may_change_an_incident(session, world, who, outcome) -> None:
    people, incident = world
    call = lambda: incident_access.get_workable(  # noqa: E731
        session, actor=people[who], incident_id=incident.id
    )

    if outcome is None:
        assert call() is incident
    else:
        with pytest.raises(outcome):
            call()


def test_unknown_incident_is_not_found(session, world) -> None:
    people, _ = world

    with pytest.raises(NotFound):
        incident_access.get_visible(session, actor=people[Role.ADMIN], incident_id=999_999)
