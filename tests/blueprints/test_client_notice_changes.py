"""A supplement's change list on screen (the officer's notice page and the client portal) is
the one its PDF prints: both come from services/clients/letter.supplement_changes."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC
from datetime import datetime

import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app.db import get_session
from incident_app.models.incident import Incident
from incident_app.models.letter import NoticeWording
from incident_app.models.user import Role
from incident_app.services.clients import incident_clients
from incident_app.services.clients import letter as client_letter
from incident_app.services.clients import notices
from incident_app.services.clients import registry
from tests.conftest import csrf_token
from tests.support.client_helpers import ELM
from tests.support.client_helpers import append_rows
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person

CHANGES = re.compile(r'<ul class="changes">(.*?)</ul>', re.S)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _a_sent_notice_then_new_facts(app) -> tuple[int, int]:
    """Notice 1 sent; then a new individual, a corrected start date, a new information type,
    step and action: the facts the supplement must list."""
    with app.app_context():
        session = get_session()
        store = app_store.current_store()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        elm = registry.create_client(session, actor=officer, values=ELM, now=NOW)
        incident = breach_case(session, officer=officer)
        incident_clients.set_clients(
            session, actor=officer, incident_id=incident.id, client_ids=[elm.id], now=NOW
        )
        data = csv_bytes(person("E1", "Ana", "Lee") + ",Elm Clinic", header=HEADER + ",client")
        import_csv(session, actor=officer, incident_id=incident.id, data=data, store=store)
        first = notices.draft_notice(
            session,
            actor=officer,
            incident_id=incident.id,
            client_id=elm.id,
            update="",
            store=store,
            now=NOW,
        )
        notices.record_sent(
            session, actor=officer, incident_id=incident.id, notice_id=first.id, now=NOW
        )
        append_rows(session, officer, store, incident, person("E2", "Ben", "Ortiz") + ",Elm Clinic")
        # The team's later findings (set directly: their own pages are tested elsewhere).
        case = session.get(Incident, incident.id)
        case.occurred_from = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)
        wording = session.scalar(
            sa.select(NoticeWording).where(NoticeWording.incident_id == incident.id)
        )
        wording.phi_types = [*wording.phi_types, "Mental health notes"]
        wording.steps_for_individuals = [*wording.steps_for_individuals, "Review your EOBs."]
        wording.what_we_are_doing = [*wording.what_we_are_doing, "Re-imaging every laptop."]
        session.commit()
        return incident.id, elm.id


def test_the_notice_page_lists_the_changes_the_pdf_prints(app, client, auth) -> None:
    incident, elm = _a_sent_notice_then_new_facts(app)
    auth.login("po@example.org")
    token = csrf_token(client, f"/incidents/{incident}/clients")
    page = client.post(
        f"/incidents/{incident}/clients/{elm}/notices",
        data={"csrf_token": token, "update": "The laptop's backup drive was also taken."},
        follow_redirects=True,
    ).get_data(as_text=True)

    listed = CHANGES.search(page)
    assert listed is not None, "no change list on the notice page"
    on_screen = [
        _flat(html.unescape(re.sub(r"<[^>]+>", "", item)))
        for item in re.findall(r"<li>(.*?)</li>", listed.group(1), re.S)
    ]
    pdf_url = re.search(r'href="([^"]+/letter.pdf)"', page).group(1)
    reader = PdfReader(io.BytesIO(client.get(pdf_url).data))
    printed = _flat(" ".join(p.extract_text() for p in reader.pages))

    assert on_screen[0] == "What we have learned: The laptop's backup drive was also taken."
    assert any(line.startswith("1 more individual identified (2 so far)") for line in on_screen)
    assert "The breach began on August 1, 2025 (corrected)." in on_screen
    assert any("added: Mental health notes" in line for line in on_screen), on_screen
    assert any("added: Review your EOBs." in line for line in on_screen)
    assert any("added: Re-imaging every laptop." in line for line in on_screen)
    # The same lines, in the same order, in the letter.
    at = printed.index("what is new")
    for line in on_screen:
        found = printed.find(line, at)
        assert found >= 0, f"{line!r} is on screen but not in the PDF"
        at = found + len(line)
    with app.app_context():
        session = get_session()
        notice = notices.list_notices(session, incident_id=incident, client_id=elm)[-1]
        assert on_screen == client_letter.supplement_changes(session, notice)


def test_a_first_notice_shows_no_change_list(app, client, auth) -> None:
    incident, elm = _a_sent_notice_then_new_facts(app)
    auth.login("po@example.org")
    with app.app_context():
        first = notices.list_notices(get_session(), incident_id=incident, client_id=elm)[0]
    page = client.get(f"/incidents/{incident}/client-notices/{first.id}")
    assert page.status_code == 200 and b'class="changes"' not in page.data
