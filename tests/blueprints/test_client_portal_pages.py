"""Business-associate mode pages: per-client 164.410 notices with identities (the officer's
side) and the client portal (a client contact's only pages, MFA first, 404 + audit outside)."""

from __future__ import annotations

import csv
import io
import re

import pyotp
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.client import ClientNotice
from incident_app.models.user import Role
from incident_app.services.accounts import api_tokens
from incident_app.services.clients import contacts
from incident_app.services.clients import incident_clients
from incident_app.services.clients import notices
from incident_app.services.clients import registry
from tests.conftest import csrf_token
from tests.support.factories import NOW
from tests.support.factories import PASSWORD
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person


@pytest.fixture
def world(app):
    with app.app_context():
        session = get_session()
        store = app_store.current_store()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        elm, oak = (
            registry.create_client(
                session, actor=officer, values=registry.ClientValues(name, contact), now=NOW
            )
            for name, contact in (
                ("Elm Clinic", "Dana Reyes, dana@elm.example"),
                ("Oak Practice", "Sam Oak, sam@oak.example"),
            )
        )
        incident = breach_case(session, officer=officer)
        incident_clients.set_clients(
            session, actor=officer, incident_id=incident.id, client_ids=[elm.id, oak.id], now=NOW
        )
        data = csv_bytes(
            person("E1", "Ana", "Lee") + ",Elm Clinic",
            person("O1", "Cy", "Oakes") + ",Oak Practice",
            header=HEADER + ",client",
        )
        import_csv(session, actor=officer, incident_id=incident.id, data=data, store=store)
        sent = {}
        for client in (elm, oak):
            notice = notices.draft_notice(
                session,
                actor=officer,
                incident_id=incident.id,
                client_id=client.id,
                update="",
                store=store,
                now=NOW,
            )
            notices.record_sent(
                session, actor=officer, incident_id=incident.id, notice_id=notice.id, now=NOW
            )
            sent[client.name] = notice.id
        dana = contacts.invite_contact(
            session,
            actor=officer,
            client_id=elm.id,
            email="dana@elm.example",
            name="Dana Reyes",
            password=PASSWORD,
            now=NOW,
        ).user
        return {
            "officer": officer,
            "dana": dana,
            "elm": elm.id,
            "oak": oak.id,
            "incident": incident.id,
            "elm_notice": sent["Elm Clinic"],
            "oak_notice": sent["Oak Practice"],
        }


def _enrol(client) -> None:
    page = client.get("/account/mfa").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    token = csrf_token(client, "/account/mfa")
    client.post("/account/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})


def _pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _denied(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(
            get_session().scalars(
                sa.select(AuditEvent.details["path"].as_string()).where(
                    AuditEvent.action == "access.denied", AuditEvent.actor_id == user_id
                )
            )
        )


def test_a_contact_enrols_mfa_first_then_reads_and_acknowledges_its_notice(
    app, client, auth, world
):
    case = f"/portal/clients/{world['elm']}/incidents/{world['incident']}"
    auth.login("dana@elm.example")
    for path in ("/", case, f"/incidents/{world['incident']}"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.headers["Location"] == "/account/mfa"

    _enrol(client)
    assert client.get("/").headers["Location"] == "/portal/"
    home = client.get("/portal/").get_data(as_text=True)
    assert "Elm Clinic" in home and "Oak Practice" not in home
    assert "1 notice awaiting your acknowledgement" in home
    page = client.get(case).get_data(as_text=True)
    assert "Your individuals affected: <strong>1</strong>" in page
    notice_url = f"{case}/notices/{world['elm_notice']}"
    assert "Acknowledge receipt" in client.get(notice_url).get_data(as_text=True)
    ids = client.get(f"{notice_url}/identities.csv")
    assert ids.status_code == 200
    rows = list(csv.reader(io.StringIO(ids.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[2] for r in rows[1:]] == ["Lee"]
    letter = client.get(f"{notice_url}/letter.pdf")
    assert letter.status_code == 200 and letter.mimetype == "application/pdf"
    text = _pdf_text(letter.data)
    assert "Elm Clinic" in text and "164.410" in text and "identified 1 individuals" in text
    people = client.get(f"{case}/individuals").get_data(as_text=True)
    assert "Ana Lee" in people and "Oakes" not in people

    done = client.post(
        f"{notice_url}/acknowledge", data={"csrf_token": csrf_token(client, notice_url)}
    )
    assert done.status_code == 302
    assert "You acknowledged receipt" in client.get(notice_url).get_data(as_text=True)
    with app.app_context():
        assert get_session().get(ClientNotice, world["elm_notice"]).acknowledged_at is not None
    client.post("/logout", data={"csrf_token": csrf_token(client, "/portal/")})
    auth.login("po@example.org")
    overview = client.get(f"/incidents/{world['incident']}/clients").get_data(as_text=True)
    assert "acknowledged" in overview and "not yet acknowledged" in overview  # Elm yes, Oak no
    assert "Notice, all acknowledged" in overview  # Elm
    # Oak's notice was sent on 2026-03-02 (the factories' NOW): long past 5 business days.
    assert re.search(
        r'<td class="overdue">Notice, 1 unacknowledged<br><span class="hint">Latest: Notice, '
        r"sent 2026-03-02, not yet acknowledged</span><br><strong class=\"overdue\">"
        r"1 acknowledgement overdue \(over 5 business days\)</strong>",
        overview,
    )
    assert client.get("/portal/").status_code == 404  # the officer has no portal


def test_a_contact_opening_anything_outside_its_slice_gets_404_and_an_audit(
    app, client, auth, world
):
    auth.login("dana@elm.example")
    _enrol(client)
    incident, elm, oak = world["incident"], world["elm"], world["oak"]
    outside = [
        f"/portal/clients/{oak}/incidents/{incident}",  # another client's URL
        f"/portal/clients/{oak}/incidents/{incident}.json",  # … and its JSON resource
        f"/portal/clients/{elm}/incidents/{incident}/notices/{world['oak_notice']}",
        f"/portal/clients/{elm}/incidents/{incident}/notices/{world['oak_notice']}/identities.csv",
        f"/portal/clients/{elm}/incidents/{incident + 999}",  # another incident
        f"/incidents/{incident}",  # the incident's own pages
        f"/incidents/{incident}/clients",
        f"/incidents/{incident}/roster/",
        "/clients",
        f"/clients/{elm}",
        "/admin/users",
        "/incidents/",
        "/account/tokens",
    ]
    for path in outside:
        assert client.get(path).status_code == 404, path
    assert len(_denied(app, world["dana"].id)) == len(outside)
    assert client.get(f"/portal/clients/{elm}/incidents/{incident}.json").json["individuals"] == 1

    with app.app_context():
        _token, raw = api_tokens.create_token(
            get_session(), actor=world["dana"], name="x", expires_on=None, now=NOW
        )
    api = client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 404
    assert "/api/v1/incidents" in _denied(app, world["dana"].id)


def test_the_officer_drafts_sends_and_downloads_and_a_sent_notice_cannot_be_redrafted(
    app, client, auth, world
):
    auth.login("po@example.org")
    incident, elm = world["incident"], world["elm"]
    page = f"/incidents/{incident}/clients"
    token = csrf_token(client, page)
    drafted = client.post(
        f"/incidents/{incident}/clients/{elm}/notices",
        data={"csrf_token": token, "update": "Diagnosis codes were also exposed."},
        follow_redirects=True,
    )
    assert b"needs something new" not in drafted.data
    assert b"Supplement 1" in drafted.data and b"Record as sent" in drafted.data
    supplement = re.search(r'href="([^"]+/letter.pdf)"', drafted.get_data(as_text=True))
    text = _pdf_text(client.get(supplement.group(1)).data)
    flat = " ".join(text.split())
    assert "Supplement 1 to our notice of " in flat and ": what is new" in flat
    assert "What we have learned: Diagnosis codes were also exposed." in flat
    assert flat.index("what is new") < flat.index("What happened")

    sent_url = f"/incidents/{incident}/client-notices/{world['elm_notice']}"
    refused = client.post(
        f"{sent_url}/redraft",
        data={"csrf_token": token, "update": "rewrite history"},
        follow_redirects=True,
    )
    assert b"A sent notice cannot be changed" in refused.data
    with app.app_context():
        session = get_session()
        first = session.get(ClientNotice, world["elm_notice"])
        assert first.content["update"] == ""
        assert session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action == "client_notice.edit_refused")
        ).one()
    download = client.get(f"{sent_url}/identities.csv")
    assert download.status_code == 200 and b"Lee" in download.data
