"""Business-associate mode through the real services: the client registry, the clients an
incident names, the roster's client column, per-client deadlines, removal after notice."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.client import Client
from incident_app.models.client import IncidentClient
from incident_app.models.incident import CaseRole
from incident_app.models.letter import NoticeMethod
from incident_app.models.obligation import Obligation
from incident_app.models.roster import ImportStatus
from incident_app.models.user import Role
from incident_app.services.clients import incident_clients
from incident_app.services.clients import registry
from incident_app.services.clients.registry import ClientValues
from incident_app.services.letters import generation
from incident_app.services.letters import notices
from incident_app.services.letters import review
from incident_app.services.letters.notices import NoticeInput
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person
from tests.support.roster_helpers import store_at
from tests.support.roster_helpers import upload

ELM = ClientValues("Elm Clinic", "Dana Reyes, privacy@elm.example, 555-0100")
OAK = ClientValues(
    "Oak Practice", "Sam Oak, sam@oak.example", period_count=5, period_unit="business_days"
)
PINE = ClientValues(
    "Pine Hospital",
    "Lee Pine, lee@pine.example",
    delegates_individual_notice=True,
    letterhead_name="Pine Hospital",
    signatory_name="Dr. Lee Pine",
)


def period(count, unit):
    return ClientValues("X", "A, a@b.example", period_count=count, period_unit=unit)


def oak_with(days):
    return ClientValues(
        "Oak Practice", "Sam Oak, sam@oak.example", period_count=days, period_unit="calendar_days"
    )


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


@pytest.fixture
def clients(session, officer):
    return [
        registry.create_client(session, actor=officer, values=values, now=NOW)
        for values in (ELM, OAK, PINE)
    ]


@pytest.fixture
def case(session, officer, clients):
    # discovered 2025-09-15 (a Monday): + 60 days = 2025-11-14; + 5 business days = 09-22
    incident = breach_case(session, officer=officer)
    incident_clients.set_clients(
        session, actor=officer, incident_id=incident.id, client_ids=[c.id for c in clients], now=NOW
    )
    return incident


def client_rows(session, incident_id):
    return {
        (row.kind, row.source_key): row
        for row in session.scalars(
            sa.select(Obligation).where(
                Obligation.incident_id == incident_id,
                Obligation.active,
                Obligation.source_key.like("client:%"),
            )
        )
    }


# -- registry ---------------------------------------------------------------------------------


def test_a_client_is_registered_with_contacts_and_period(session, clients):
    elm, oak, _ = clients
    assert elm.contacts == [
        {"name": "Dana Reyes", "email": "privacy@elm.example", "phone": "555-0100"}
    ]
    assert oak.notice_period_label == "5 business days after discovery"
    assert session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "client.created").limit(1)
    )


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (ClientValues("", "A, a@b.example"), "name", "Give the client's name"),
        (ClientValues("Elm Clinic", "A, a@b.example"), "name", "already exists"),
        (ClientValues("X", ""), "contacts", "at least one privacy contact"),
        (ClientValues("X", "A, not-an-email"), "contacts", "line 1"),
        (ClientValues("X", "A, a@b.example", period_count=5), "period_count", "Give both"),
        (
            ClientValues("X", "A, a@b.example", period_count=0, period_unit="calendar_days"),
            "period_count",
            "at least 1",
        ),
        (
            ClientValues("X", "A, a@b.example", period_count=5, period_unit="weeks"),
            "period_unit",
            "calendar days or",
        ),
        (
            ClientValues("X", "A, a@b.example", delegates_individual_notice=True),
            "letterhead_name",
            "letterhead",
        ),
    ],
)
def test_bad_client_values_are_refused_and_nothing_is_written(
    session, officer, clients, values, field, message
):
    with pytest.raises(ValidationFailed) as raised:
        registry.create_client(session, actor=officer, values=values, now=NOW)
    assert raised.value.field == field
    assert message in str(raised.value)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Client)) == 3


def test_only_officers_and_admins_manage_clients(session, clients):
    responder = make_user(session, role=Role.RESPONDER)
    with pytest.raises(NotAllowed):
        registry.list_clients(session, actor=responder)
    admin = make_user(session, role=Role.ADMIN)
    assert len(registry.list_clients(session, actor=admin)) == 3


def test_the_baa_goes_to_the_encrypted_store_and_reads_back_audited(
    session, officer, clients, tmp_path
):
    store = store_at(tmp_path)
    data = b"%PDF-1.4 business associate agreement"
    registry.attach_baa(
        session,
        actor=officer,
        client_id=clients[0].id,
        filename="../elm BAA.pdf",
        data=data,
        store=store,
        now=NOW,
    )
    client, back = registry.read_baa(
        session, actor=officer, client_id=clients[0].id, store=store, now=NOW
    )
    assert back == data
    assert client.baa_filename == "elm BAA.pdf"
    stored = next(path for path in (tmp_path / "files").rglob("*") if path.is_file())
    assert data not in stored.read_bytes()  # encrypted at rest
    actions = set(session.scalars(sa.select(AuditEvent.action)))
    assert {"client.baa_attached", "client.baa_downloaded"} <= actions


def test_a_renamed_executable_is_not_accepted_as_a_baa(session, officer, clients, tmp_path):
    with pytest.raises(ValidationFailed) as raised:
        registry.attach_baa(
            session,
            actor=officer,
            client_id=clients[0].id,
            filename="baa.pdf",
            data=b"MZ\x90\x00 not a pdf",
            store=store_at(tmp_path),
            now=NOW,
        )
    assert raised.value.field == "baa"


# -- per-client obligations --------------------------------------------------------------------


def test_each_client_gets_the_statutory_notice_and_its_contract_deadline(session, case, clients):
    elm, oak, pine = clients
    rows = client_rows(session, case.id)

    assert rows[("ba_to_ce_notice", f"client:{elm.id}")].due_on == date(2025, 11, 14)
    assert rows[("ba_to_ce_notice", f"client:{oak.id}")].due_on == date(2025, 11, 14)
    assert rows[("ba_to_ce_contract", f"client:{oak.id}")].due_on == date(2025, 9, 22)
    assert ("ba_to_ce_contract", f"client:{elm.id}") not in rows
    assert ("ba_to_ce_notice", f"client:{pine.id}") in rows


def test_changing_a_clients_period_moves_its_deadline(session, officer, case, clients):
    oak = clients[1]
    registry.update_client(
        session,
        actor=officer,
        client_id=oak.id,
        values=ClientValues(
            "Oak Practice", "Sam Oak, sam@oak.example", period_count=10, period_unit="calendar_days"
        ),
        now=NOW,
    )
    assert client_rows(session, case.id)[("ba_to_ce_contract", f"client:{oak.id}")].due_on == (
        date(2025, 9, 25)
    )


def test_a_contract_longer_than_the_statute_is_capped_and_warned(session, officer, case, clients):
    oak = clients[1]
    registry.update_client(
        session,
        actor=officer,
        client_id=oak.id,
        values=ClientValues(
            "Oak Practice", "Sam Oak, sam@oak.example", period_count=90, period_unit="calendar_days"
        ),
        now=NOW,
    )
    row = client_rows(session, case.id)[("ba_to_ce_contract", f"client:{oak.id}")]
    assert row.due_on == date(2025, 11, 14)
    assert row.detail["capped_by_statute"] == "yes"


def test_the_overview_shows_counts_due_dates_and_overdue(session, officer, case, clients, tmp_path):
    store = store_at(tmp_path)
    header = HEADER + ",client"
    data = csv_bytes(
        person("M1") + ",Elm Clinic",
        person("M2", state="NJ", city="Newark", zip_code="07102") + ",elm clinic",
        person("M3", first="Bo") + ",Oak Practice",
        person("M4", first="Cy") + ",Pine Hospital",
        header=header,
    )
    record = import_csv(session, actor=officer, incident_id=case.id, data=data, store=store)
    assert record.status is ImportStatus.COMMITTED

    lines = {
        line.client.name: line
        for line in incident_clients.overview(session, actor=officer, incident_id=case.id, now=NOW)
    }
    assert lines["Elm Clinic"].people == 2
    assert lines["Elm Clinic"].by_state == {"NY": 1, "NJ": 1}
    assert lines["Oak Practice"].due == date(2025, 9, 22)
    assert lines["Oak Practice"].overdue  # NOW is 2026-03-02
    assert lines["Pine Hospital"].people == 1


def test_a_roster_row_with_an_unknown_or_blank_client_is_refused_row_by_row(
    session, officer, case, tmp_path
):
    store = store_at(tmp_path)
    data = csv_bytes(
        person("M1") + ",Elm Clinic",
        person("M2") + ",Birch Dental",
        person("M3") + ",",
        header=HEADER + ",client",
    )
    record = import_csv(session, actor=officer, incident_id=case.id, data=data, store=store)

    assert (record.rows_accepted, record.rows_rejected) == (1, 2)
    report = list(csv.reader(io.StringIO(store.read_verified(record.report_sha256).decode())))
    by_row = {int(r[0]): r for r in report[1:]}
    assert by_row[3][1:3] == ["client", "rejected"]
    assert "'Birch Dental' is not one of this incident's clients" in by_row[3][3]
    assert "Elm Clinic, Oak Practice, Pine Hospital" in by_row[3][3]
    assert by_row[4][1] == "client" and "the client is blank" in by_row[4][3]


def test_a_roster_without_a_client_column_waits_for_the_mapping(session, officer, case, tmp_path):
    record = upload(
        session,
        actor=officer,
        incident_id=case.id,
        data=csv_bytes(person("M1")),
        store=store_at(tmp_path),
    )
    assert record.status is ImportStatus.NEEDS_MAPPING


# -- removing a client ------------------------------------------------------------------------


def test_removing_a_client_before_its_notice_drops_its_deadlines(session, officer, case, clients):
    elm, oak, pine = clients
    incident_clients.set_clients(
        session, actor=officer, incident_id=case.id, client_ids=[elm.id, pine.id], now=NOW
    )
    assert not [key for key in client_rows(session, case.id) if key[1] == f"client:{oak.id}"]


def test_removing_a_client_after_its_notice_was_sent_is_refused_and_audited(
    session, officer, case, clients
):
    elm = clients[0]
    legal = make_user(session, role=Role.LEGAL)
    _add_member(session, case, legal)
    ob = client_rows(session, case.id)[("ba_to_ce_notice", f"client:{elm.id}")]
    letter = generation.generate(
        session,
        actor=officer,
        now=NOW,
        incident_id=case.id,
        request=generation.LetterRequest(
            ob.id, "ba_to_ce.html", "Dana Reyes, Elm Clinic", ("1 Elm St", "Albany, NY 12207")
        ),
        store=app_store.current_store(),
    )
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=case.id, letter_id=letter.id
    )
    review.approve(
        session,
        actor=legal,
        now=NOW,
        incident_id=case.id,
        letter_id=letter.id,
        store=app_store.current_store(),
        expected_sha256=letter.current_version.sha256,
    )
    notices.mark_sent(
        session,
        actor=officer,
        now=NOW,
        incident_id=case.id,
        letter_id=letter.id,
        notice=NoticeInput(NoticeMethod.FIRST_CLASS_MAIL, date(2025, 9, 20)),
    )

    with pytest.raises(InvalidTransition) as raised:
        incident_clients.set_clients(
            session,
            actor=officer,
            incident_id=case.id,
            client_ids=[c.id for c in clients[1:]],
            now=NOW,
        )
    assert "Elm Clinic cannot be removed" in str(raised.value)
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(IncidentClient)
            .where(IncidentClient.incident_id == case.id)
        )
        == 3
    )
    refused = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "incident.client_removal_refused")
    ).one()
    assert refused.details["clients"] == ["Elm Clinic"]
    line = {
        x.client.name: x
        for x in incident_clients.overview(session, actor=officer, incident_id=case.id, now=NOW)
    }["Elm Clinic"]
    assert line.notice_sent_on == date(2025, 9, 20) and not line.overdue


def _add_member(session, incident, user):
    from incident_app.models.incident import IncidentMember

    session.add(IncidentMember(incident_id=incident.id, user_id=user.id, case_role=CaseRole.LEGAL))
    session.commit()


def test_an_unknown_client_cannot_be_named(session, officer, case):
    with pytest.raises(ValidationFailed):
        incident_clients.set_clients(
            session, actor=officer, incident_id=case.id, client_ids=[99999], now=NOW
        )


def test_client_incidents_lists_every_incident_that_touched_it(session, officer, case, clients):
    assert [i.id for i in incident_clients.client_incidents(session, client_id=clients[0].id)] == [
        case.id
    ]
