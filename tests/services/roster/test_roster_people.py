"""Roster people services: access, search, notice tracking, returned mail, key rotation."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_app.crypto import KeyRing
from incident_app.crypto import key_id_of
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import CaseRole
from incident_app.models.roster import NoticeMethod
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.services import key_rotation
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import exports as roster_exports
from incident_app.services.roster import people as roster_people
from incident_app.services.roster import returns as roster_returns
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person
from tests.support.roster_helpers import ring
from tests.support.roster_helpers import store_at


@pytest.fixture
def setup(session, tmp_path: Path):
    lead = make_user(session, role=Role.RESPONDER)
    incident = make_incident(session, created_by=lead, members={lead: CaseRole.LEAD})
    store = store_at(tmp_path)
    import_csv(
        session,
        actor=lead,
        incident_id=incident.id,
        store=store,
        data=csv_bytes(
            person("MRN1", "Ana"), person("MRN2", "Bo"), person("MRN3", "Cy", deceased="Y")
        ),
    )
    return lead, incident, store


def test_search_by_external_id_uses_the_blind_index(session, setup) -> None:
    lead, incident, store = setup
    page = roster_people.list_people(
        session,
        actor=lead,
        now=NOW,
        incident_id=incident.id,
        keyring=store.keyring,
        external_id=" mrn2 ",
    )
    assert page.total == 1 and page.searched
    phi = roster_people.view_person(
        session,
        actor=lead,
        now=NOW,
        incident_id=incident.id,
        person_id=page.people[0].id,
        keyring=store.keyring,
    ).phi
    assert phi["fn"] == "Bo"
    everyone = roster_people.list_people(
        session,
        actor=lead,
        now=NOW,
        incident_id=incident.id,
        keyring=store.keyring,
        per_page=2,
        page=2,
    )
    assert (everyone.total, everyone.pages, len(everyone.people)) == (3, 2, 1)


def test_admins_and_outsiders_do_not_see_phi(session, setup) -> None:
    _lead, incident, store = setup
    admin = make_user(session, role=Role.ADMIN)
    outsider = make_user(session, role=Role.RESPONDER)
    auditor = make_user(session, role=Role.AUDITOR)
    with pytest.raises(NotAllowed, match="only the incident's team"):
        roster_counts.overview(session, actor=admin, incident_id=incident.id)
    with pytest.raises(NotFound):
        roster_counts.overview(session, actor=outsider, incident_id=incident.id)
    assert (
        roster_counts.overview(session, actor=auditor, incident_id=incident.id).can_change is False
    )
    with pytest.raises(NotAllowed):
        roster_exports.export_roster(
            session, actor=auditor, now=NOW, incident_id=incident.id, keyring=store.keyring
        )


def test_notice_statuses_feed_the_insufficient_contact_count(session, setup) -> None:
    lead, incident, store = setup
    page = roster_people.list_people(
        session,
        actor=lead,
        now=NOW,
        incident_id=incident.id,
        keyring=store.keyring,
        external_id="MRN1",
    )
    person_id = page.people[0].id
    with pytest.raises(ValidationFailed, match="Say when and how"):
        roster_people.set_notice_status(
            session,
            actor=lead,
            now=NOW,
            incident_id=incident.id,
            person_id=person_id,
            status=NoticeStatus.MAILED,
        )
    roster_people.set_notice_status(
        session,
        actor=lead,
        now=NOW,
        incident_id=incident.id,
        person_id=person_id,
        status=NoticeStatus.MAILED,
        method=NoticeMethod.MAIL,
        on=NOW.date(),
    )
    assert incident.insufficient_contact_living == 0
    roster_people.set_notice_status(
        session,
        actor=lead,
        now=NOW,
        incident_id=incident.id,
        person_id=person_id,
        status=NoticeStatus.RETURNED_MAIL,
    )
    session.refresh(incident)
    assert incident.insufficient_contact_living == 1


def test_returns_csv_is_all_or_nothing(session, setup) -> None:
    lead, incident, store = setup
    with pytest.raises(ValidationFailed, match="Row 3: returned_on 2099-01-01 is in the future"):
        roster_returns.import_returns(
            session,
            actor=lead,
            now=NOW,
            incident_id=incident.id,
            upload=io.BytesIO(b"MRN,returned_on\nMRN1,\nMRN2,2099-01-01\n"),
            keyring=store.keyring,
            max_bytes=10_000,
        )
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(RosterPerson)
            .where(RosterPerson.notice_status == NoticeStatus.RETURNED_MAIL)
        )
        == 0
    )
    with pytest.raises(ValidationFailed, match="needs an external_id column"):
        roster_returns.import_returns(
            session,
            actor=lead,
            now=NOW,
            incident_id=incident.id,
            upload=io.BytesIO(b"name\nAna\n"),
            keyring=store.keyring,
            max_bytes=10_000,
        )

    result = roster_returns.import_returns(
        session,
        actor=lead,
        now=NOW,
        incident_id=incident.id,
        upload=io.BytesIO(b"external_id\nMRN1\nMRN3\nMRN9\n"),
        keyring=store.keyring,
        max_bytes=10_000,
    )
    assert (result.matched, result.not_found) == (2, [4])
    session.refresh(incident)
    assert incident.insufficient_contact_living == 1  # MRN3 is deceased: not counted


def test_the_rotation_hook_reencrypts_roster_blobs_in_batches(session, setup) -> None:
    _lead, incident, store = setup
    old = ring()
    new = KeyRing([("k2", bytes(range(64, 96))), ("k1", bytes(range(32)))], bytes(range(32, 64)))
    assert ("roster", roster_people.rotate_roster) in key_rotation.ROTATIONS

    assert roster_people.rotate_roster(session, new, 2) == 3
    assert roster_people.rotate_roster(session, new, 2) == 0  # nothing left to do
    rows = session.scalars(sa.select(RosterPerson)).all()
    assert {key_id_of(r.phi) for r in rows} == {"k2"}
    assert sorted(roster_people.decrypt(new, r)["fn"] for r in rows) == ["Ana", "Bo", "Cy"]
    with pytest.raises(Exception, match="k2"):
        roster_people.decrypt(old, rows[0])
