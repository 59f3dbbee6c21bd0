"""Delegated letters: a client that delegates individual notice gets letters on its own
letterhead (generated for its own obligation, approved by legal) and a mailing of its own —
its people only, with print files and manifests of its own; our own mailing leaves them out."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.models.incident import CaseRole
from incident_app.models.mail_batch import MailBatch
from incident_app.services.clients import incident_clients
from incident_app.services.clients import registry
from incident_app.services.letters import generation
from incident_app.services.mail_merge import downloads
from incident_app.services.mail_merge import pages
from incident_app.services.mail_merge import planning
from incident_app.services.mail_merge import worker as mail_worker
from tests.support import mail_merge_helpers
from tests.support.factories import NOW
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import letter_pdf
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import team
from tests.support.mail_merge_helpers import worker
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person

PINE = registry.ClientValues(
    "Pine Hospital",
    "Lee Pine, lee@pine.example",
    delegates_individual_notice=True,
    ba_is_agent=True,
    letterhead_name="Pine Hospital Health System",
    letterhead_address="1 Pine Way\nAlbany, NY 12207",
    signatory_name="Dr. Lee Pine",
    signatory_title="Chief Privacy Officer",
)
ELM = registry.ClientValues("Elm Clinic", "Dana Reyes, dana@elm.example")


@pytest.fixture
def case(session):
    people = team(session)
    pine = registry.create_client(session, actor=people.officer, values=PINE, now=NOW)
    elm = registry.create_client(session, actor=people.officer, values=ELM, now=NOW)
    incident = breach_case(session, officer=people.officer, members={people.legal: CaseRole.LEGAL})
    incident_clients.set_clients(
        session,
        actor=people.officer,
        incident_id=incident.id,
        client_ids=[pine.id, elm.id],
        now=NOW,
    )
    data = csv_bytes(
        person("P1", "Lou", "Larch") + ",Pine Hospital",
        person("P2", "Max", "Maple") + ",Pine Hospital",
        person("E1", "Ann", "Ash") + ",Elm Clinic",
        header=HEADER + ",client",
    )
    import_csv(
        session,
        actor=people.officer,
        incident_id=incident.id,
        data=data,
        store=app_store.current_store(),
    )
    return people, incident, pine, elm


def _pine_letter(session, people, incident, pine, approve=True):
    if approve:
        return mail_merge_helpers.approve(session, people, incident, client_id=pine.id)[0]
    ob = obligation(session, incident, "individual_notice", client_id=pine.id)
    return generation.generate(
        session,
        actor=people.officer,
        now=NOW,
        incident_id=incident.id,
        request=generation.LetterRequest(ob.id, "individual_adult.html"),
        store=app_store.current_store(),
    )


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_clients_letter_is_on_its_letterhead_and_its_mailing_holds_only_its_people(
    session, case
):
    people, incident, pine, _elm = case
    _pine_letter(session, people, incident, pine)

    # Our own mailing has no approved letter of ours; Pine's has its own.
    with pytest.raises(InvalidTransition):
        start(session, people, incident)
    view = pages.overview(session, actor=people.officer, incident_id=incident.id, client_id=pine.id)
    assert [c.name for c in view.delegating] == ["Pine Hospital"]
    assert view.startable and len(view.plan.routed) == 2

    batch = start(session, people, incident, client_id=pine.id)
    assert batch.client_id == pine.id and batch.mail_count == 2
    mail_worker.work(session, worker=worker())
    rows = batch_letters(session, batch)
    assert len(rows) == 2
    text = _text(letter_pdf(rows[0]))
    assert "Pine Hospital Health System" in text and "Dr. Lee Pine" in text
    _name, manifest = downloads.download(
        session,
        actor=people.officer,
        now=LATER,
        incident_id=incident.id,
        batch_id=batch.id,
        what="manifest",
        store=app_store.current_store(),
        chunk_number=1,
    )
    assert b"Larch" in manifest and b"Maple" in manifest
    assert b"Ash" not in manifest  # Elm's patient is Elm's to notify


def test_a_client_that_does_not_delegate_has_no_mailing_of_its_own(session, case):
    people, incident, _pine, elm = case
    with pytest.raises(NotFound):
        pages.overview(session, actor=people.officer, incident_id=incident.id, client_id=elm.id)
    with pytest.raises(NotFound):
        start(session, people, incident, client_id=elm.id)
    assert session.scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0


def test_an_unapproved_client_letter_cannot_be_mailed(session, case):
    people, incident, pine, _elm = case
    _pine_letter(session, people, incident, pine, approve=False)
    with pytest.raises(InvalidTransition, match="not approved by legal"):
        start(session, people, incident, client_id=pine.id)


def test_our_own_mailing_leaves_the_delegating_clients_people_out(session, case):
    _people, incident, pine, elm = case
    ours = planning.plan(session, incident.id, email_enabled=False)
    pines = planning.plan(session, incident.id, email_enabled=False, client_id=pine.id)
    assert len(pines.routed) == 2
    # Elm does not delegate: its patient stays out of Pine's batch and in the plan of ours
    # (a covered entity that notifies its own patients leaves us no letter to approve).
    assert len(ours.routed) == 1
    assert {r.person_id for r in ours.routed}.isdisjoint(r.person_id for r in pines.routed)
    assert elm.id != pine.id


def test_the_obligation_factory_tells_our_own_notice_from_a_delegating_clients(session, case):
    _people, incident, pine, elm = case
    own = obligation(session, incident, "individual_notice")
    pines = obligation(session, incident, "individual_notice", client_id=pine.id)

    assert own.source_key == "" and pines.source_key == f"client:{pine.id}"
    assert len({own.id, pines.id}) == 2
    # Elm does not delegate: it has its 164.410 notice from us, no individual notice of ours.
    assert obligation(session, incident, "ba_to_ce_notice", client_id=elm.id).source_key == (
        f"client:{elm.id}"
    )
    with pytest.raises(sa.exc.NoResultFound):
        obligation(session, incident, "individual_notice", client_id=elm.id)
