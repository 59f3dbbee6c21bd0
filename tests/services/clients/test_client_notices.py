"""The 164.410 notice to each client with its identities, supplements, sent and acknowledged;
client contacts invited with MFA required and confined to their own client's slice."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa

from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.client import ClientNotice
from incident_app.models.client import IncidentClient
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from incident_app.services.accounts import mfa
from incident_app.services.clients import contacts
from incident_app.services.clients import incident_clients
from incident_app.services.clients import notices
from incident_app.services.clients import portal
from incident_app.services.clients import registry
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders import deadlines
from tests.support.client_helpers import LATER
from tests.support.client_helpers import append_rows
from tests.support.client_helpers import contact as _contact
from tests.support.client_helpers import draft as _draft
from tests.support.factories import NOW
from tests.support.factories import PASSWORD
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def test_a_notice_carries_the_facts_and_only_that_clients_identities_encrypted(
    session, officer, store, world
):
    incident, elm, _oak = world
    notice = _draft(session, officer, store, incident, elm)

    assert (notice.number, notice.identities_count, notice.sent_at) == (1, 2, None)
    assert notice.content["client_name"] == "Elm Clinic"
    assert notice.content["discovered_on"] == "2025-09-15"
    assert notice.content["what_happened"]
    raw = store.path_for(notice.identities_sha256).read_bytes()
    assert b"Ortiz" not in raw  # encrypted at rest
    got = notices.identities(
        session, actor=officer, incident_id=incident.id, notice_id=notice.id, store=store, now=NOW
    )
    rows = _rows(got.data)
    assert rows[0][:4] == ["external_id", "first_name", "last_name", "date_of_birth"]
    assert sorted(r[2] for r in rows[1:]) == ["Lee", "Ortiz"]  # no Oak patient
    assert session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.action == "client_notice.identities_downloaded"
        )
    ).one()


def test_supplements_are_append_only_and_carry_only_the_new_people(session, officer, store, world):
    incident, elm, _oak = world
    first = _draft(session, officer, store, incident, elm)
    with pytest.raises(InvalidTransition, match="draft notice to Elm Clinic is waiting"):
        _draft(session, officer, store, incident, elm)
    notices.record_sent(
        session, actor=officer, incident_id=incident.id, notice_id=first.id, now=NOW
    )
    with pytest.raises(ValidationFailed, match="needs something new"):
        _draft(session, officer, store, incident, elm)
    with pytest.raises(InvalidTransition, match="cannot be changed"):
        notices.refuse_edit(
            session, actor=officer, incident_id=incident.id, notice_id=first.id, now=NOW
        )
    with pytest.raises(InvalidTransition, match="cannot be discarded"):
        notices.discard_draft(
            session, actor=officer, incident_id=incident.id, notice_id=first.id, now=NOW
        )

    # The roster grows: a new Elm patient, one already identified, one of Oak's.
    append_rows(
        session,
        officer,
        store,
        incident,
        person("E1", "Ana", "Lee") + ",Elm Clinic",
        person("E3", "Di", "Novak") + ",Elm Clinic",
    )
    second = _draft(
        session,
        officer,
        store,
        incident,
        elm,
        update="Diagnosis codes were also involved.",
        now=LATER,
    )
    assert (second.number, second.label, second.identities_count) == (2, "Supplement 1", 1)
    assert second.content["update"] == "Diagnosis codes were also involved."
    data = notices.identities(
        session, actor=officer, incident_id=incident.id, notice_id=second.id, store=store, now=NOW
    ).data
    assert [r[2] for r in _rows(data)[1:]] == ["Novak"]
    assert first.content["update"] == "" and first.sent_at == NOW  # unchanged
    refused = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "client_notice.edit_refused")
    ).one()
    assert refused.details["number"] == 1


def test_sending_stops_the_reminders_and_shows_on_the_overview(session, officer, store, world):
    incident, elm, oak = world
    notice = _draft(session, officer, store, incident, elm)
    line = _line(session, officer, incident, "Elm Clinic")
    assert line.draft_waiting and line.notice_sent_on is None
    notices.record_sent(
        session, actor=officer, incident_id=incident.id, notice_id=notice.id, now=NOW
    )
    with pytest.raises(InvalidTransition, match="already recorded as sent"):
        notices.record_sent(
            session, actor=officer, incident_id=incident.id, notice_id=notice.id, now=NOW
        )
    line = _line(session, officer, incident, "Elm Clinic")
    assert line.notice_sent_on == NOW.date() and not line.overdue
    assert line.acknowledged_at is None
    obligation_ids = session.execute(
        sa.text("SELECT id, source_key FROM obligation WHERE source_key LIKE 'client:%'")
    ).all()
    met = {key: deadlines.notice_sent(session, oid) for oid, key in obligation_ids}
    assert met[f"client:{elm.id}"] and not met[f"client:{oak.id}"]
    sent = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "client_notice.sent")
    ).one()
    assert sent.actor_id == officer.id


def _line(session, officer, incident, name):
    lines = incident_clients.overview(session, actor=officer, incident_id=incident.id, now=NOW)
    return {line.client.name: line for line in lines}[name]


def test_a_client_removed_after_its_client_notice_was_sent_is_refused_and_audited(
    session, officer, store, world
):
    incident, elm, oak = world
    notice = _draft(session, officer, store, incident, elm)
    notices.record_sent(
        session, actor=officer, incident_id=incident.id, notice_id=notice.id, now=NOW
    )
    with pytest.raises(InvalidTransition, match="Elm Clinic cannot be removed"):
        incident_clients.set_clients(
            session, actor=officer, incident_id=incident.id, client_ids=[oak.id], now=NOW
        )
    names = session.scalar(
        sa.select(sa.func.count())
        .select_from(IncidentClient)
        .where(IncidentClient.incident_id == incident.id)
    )
    assert names == 2
    assert session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "incident.client_removal_refused")
    ).one()


def test_only_roster_readers_draft_or_download(session, officer, store, world):
    incident, elm, _oak = world
    notice = _draft(session, officer, store, incident, elm)
    outsider = make_user(session, role=Role.RESPONDER)
    admin = make_user(session, role=Role.ADMIN)
    with pytest.raises(NotFound):
        _draft(session, outsider, store, incident, elm)
    with pytest.raises(NotAllowed):  # admins see incidents, never PHI
        notices.identities(
            session, actor=admin, incident_id=incident.id, notice_id=notice.id, store=store, now=NOW
        )


# -- client contacts ---------------------------------------------------------------------------


def test_a_contact_is_invited_for_one_client_and_must_enrol_mfa(session, officer, world):
    _incident, elm, _oak = world
    user = _contact(session, officer, elm)
    assert user.role is Role.CLIENT_CONTACT and not user.mfa_enabled
    assert mfa.required_for(get_organisation(session), user)
    assert portal.contact_of(session, user.id).client_id == elm.id
    with pytest.raises(ValidationFailed, match="already exists"):
        _contact(session, officer, elm)
    with pytest.raises(NotAllowed):
        contacts.invite_contact(
            session,
            actor=make_user(session, role=Role.RESPONDER),
            client_id=elm.id,
            email="x@elm.example",
            name="X",
            password=PASSWORD,
            now=NOW,
        )


def test_a_contact_reads_and_acknowledges_only_its_own_clients_sent_notices(
    session, officer, store, world
):
    incident, elm, oak = world
    elm_notice = _draft(session, officer, store, incident, elm)
    oak_notice = _draft(session, officer, store, incident, oak)
    dana = _contact(session, officer, elm)

    def denied() -> int:
        return session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "access.denied", AuditEvent.actor_id == dana.id)
        )

    # A draft is not the client's yet.
    with pytest.raises(NotFound):
        portal.contact_notice(
            session,
            actor=dana,
            client_id=elm.id,
            incident_id=incident.id,
            notice_id=elm_notice.id,
            now=NOW,
        )
    for notice in (elm_notice, oak_notice):
        notices.record_sent(
            session, actor=officer, incident_id=incident.id, notice_id=notice.id, now=NOW
        )
    case = portal.case(session, actor=dana, client_id=elm.id, incident_id=incident.id, now=NOW)
    assert case.people == 2 and [n.id for n in case.notices] == [elm_notice.id]
    assert {o.kind for o in case.obligations} == {"ba_to_ce_notice"}
    people = portal.individuals(
        session,
        actor=dana,
        client_id=elm.id,
        incident_id=incident.id,
        keyring=store.keyring,
        now=NOW,
    )
    assert sorted(p["name"] for p in people) == ["Ana Lee", "Ben Ortiz"]

    before = denied()
    with pytest.raises(NotFound):  # another client's URL
        portal.case(session, actor=dana, client_id=oak.id, incident_id=incident.id, now=NOW)
    with pytest.raises(NotFound):  # another client's notice through its own URL
        notices.acknowledge(
            session,
            actor=dana,
            client_id=elm.id,
            incident_id=incident.id,
            notice_id=oak_notice.id,
            now=NOW,
        )
    with pytest.raises(NotFound):
        notices.identities(
            session,
            actor=dana,
            incident_id=incident.id,
            notice_id=oak_notice.id,
            store=store,
            now=NOW,
            client_id=elm.id,
        )
    assert denied() == before + 3
    assert session.get(ClientNotice, oak_notice.id).acknowledged_at is None

    acked = notices.acknowledge(
        session,
        actor=dana,
        client_id=elm.id,
        incident_id=incident.id,
        notice_id=elm_notice.id,
        now=LATER,
    )
    assert acked.acknowledged_at == LATER and acked.acknowledged_by_id == dana.id
    assert _line(session, officer, incident, "Elm Clinic").acknowledged_at == LATER
    got = notices.identities(
        session,
        actor=dana,
        incident_id=incident.id,
        notice_id=elm_notice.id,
        store=store,
        now=NOW,
        client_id=elm.id,
    )
    assert sorted(r[2] for r in _rows(got.data)[1:]) == ["Lee", "Ortiz"]


def test_staff_are_not_contacts(session, officer, world):
    incident, elm, _oak = world
    with pytest.raises(NotFound):
        portal.case(session, actor=officer, client_id=elm.id, incident_id=incident.id, now=NOW)


# -- a client that delegates individual notice ---------------------------------------------------


def test_a_delegating_clients_own_notices_run_from_our_notice_to_it(session, officer, store):
    pine = registry.create_client(
        session,
        actor=officer,
        values=registry.ClientValues(
            "Pine Hospital",
            "Lee Pine, lee@pine.example",
            delegates_individual_notice=True,
            ba_is_agent=False,
            letterhead_name="Pine Hospital",
            signatory_name="Dr. Lee Pine",
        ),
        now=NOW,
    )
    incident = breach_case(session, officer=officer)  # we discovered it on 2025-09-15
    incident_clients.set_clients(
        session, actor=officer, incident_id=incident.id, client_ids=[pine.id], now=NOW
    )
    data = csv_bytes(
        person("P1", "Lou", "Pine") + ",Pine Hospital",
        person("P2", "Max", "Pine", state="NJ") + ",Pine Hospital",
        header=HEADER + ",client",
    )
    import_csv(session, actor=officer, incident_id=incident.id, data=data, store=store)

    def theirs():
        rows = session.scalars(
            sa.select(Obligation).where(
                Obligation.incident_id == incident.id,
                Obligation.active,
                Obligation.source_key.startswith(f"client:{pine.id}"),
            )
        )
        return {(o.kind, o.jurisdiction): o for o in rows}

    # Not yet notified: the stricter date, our discovery + 60 days.
    assert theirs()[("individual_notice", "US")].effective_due_on == date(2025, 11, 14)
    assert ("hhs_annual_log", "US") in theirs()  # its own 2 people: fewer than 500
    notice = _draft(session, officer, store, incident, pine)
    notices.record_sent(
        session, actor=officer, incident_id=incident.id, notice_id=notice.id, now=NOW
    )
    # An independent contractor's client learns of it from our notice (2026-03-02) + 60 days.
    assert theirs()[("individual_notice", "US")].effective_due_on == date(2026, 5, 1)
    assert theirs()[("individual_notice", "US")].reason.startswith("On behalf of Pine Hospital")
