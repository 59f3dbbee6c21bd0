"""One world for the security suites: two incidents with one of every object, eight personas.

Incident A holds a task, a timeline entry, evidence, an assessment version, letters with a
version, a recorded notice and its proof, a roster import and person, costs, an outage, a
corrective action and a review; incident B holds the same, so B's ids can be pushed through A's
URLs (IDOR). Each persona has a signed-in test client (anonymous has none signed in), an API
token, a notification, a spare API token and a spare session of its own.

The world is built once per module inside an outer transaction. `World.request` runs every
request inside a SAVEPOINT that is rolled back afterwards and restores the persona's cookies,
so requests that change things (sign out, revoke, delete) never disturb the next request.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

import pyotp
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from incident_app import app_store
from incident_app import clock
from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.client import ClientContact
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.notification import Notification
from incident_app.models.roster import RosterPerson
from incident_app.models.security import UserSession
from incident_app.models.timeline import ActionCategory
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import assessment
from incident_app.services import corrective_actions
from incident_app.services import evidence
from incident_app.services import review
from incident_app.services.accounts import api_tokens
from incident_app.services.accounts import invitations
from incident_app.services.accounts import sessions
from incident_app.services.clients import incident_clients
from incident_app.services.clients import notices as client_notices
from incident_app.services.clients import registry as client_registry
from incident_app.services.impact import costs as impact_costs
from incident_app.services.impact import disruptions as impact_disruptions
from incident_app.services.incidents import checklists
from incident_app.services.incidents import lifecycle
from incident_app.services.incidents import tasks
from incident_app.services.incidents import timeline
from incident_app.services.letters import generation
from incident_app.services.letters import notices
from incident_app.services.letters import proofs
from incident_app.services.letters import review as letter_review
from incident_app.services.letters.faq import FAQ_TEMPLATE
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders import calendar_feed
from tests.conftest import CSRF_INPUT
from tests.conftest import make_config
from tests.support.factories import NOW
from tests.support.factories import PASSWORD
from tests.support.factories import make_user
from tests.support.invitation_helpers import latest_token
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import person
from tests.support.roster_helpers import upload as roster_upload

PERSONAS = (
    "anonymous",
    "admin",
    "privacy_officer",
    "responder",
    "legal",
    "auditor",
    "responder_member",
    "legal_member",
    "client_contact",
)
ROLES = {
    "admin": Role.ADMIN,
    "privacy_officer": Role.PRIVACY_OFFICER,
    "responder": Role.RESPONDER,
    "legal": Role.LEGAL,
    "auditor": Role.AUDITOR,
    "responder_member": Role.RESPONDER,
    "legal_member": Role.LEGAL,
    "client_contact": Role.CLIENT_CONTACT,
}
PNG = base64.b64decode(  # a 1×1 grey pixel
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
)
COOKIE = "breachdesk_session"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
LOCAL = datetime(2026, 2, 20, 9, 30)


@dataclass
class Persona:
    name: str
    client: FlaskClient
    user: User | None = None
    api_token: str = ""
    csrf: str = ""
    own: dict[str, Any] = field(default_factory=dict)
    cookie: str | None = None


@dataclass
class World:
    app: Flask
    connection: sa.Connection
    personas: dict[str, Persona]
    a: dict[str, Any]
    b: dict[str, Any]
    common: dict[str, Any]
    requests: int = 0

    def request(self, persona: str, method: str, url: str, **kwargs: Any) -> TestResponse:
        """One request as `persona`, its writes rolled back and its cookies restored."""
        who = self.personas[persona]
        savepoint = self.connection.begin_nested()
        try:
            last = self.connection.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0
            response = who.client.open(url, method=method, **kwargs)
            response.get_data()
            response.close()
            # What the request did, as the audit trail saw it (access.denied is a refusal).
            response.audited = [
                action
                for action in self.connection.scalars(
                    sa.select(AuditEvent.action).where(AuditEvent.id > last).order_by(AuditEvent.id)
                )
                if action != "access.denied"
            ]
        finally:
            savepoint.rollback()
            _restore_cookie(who)
        self.requests += 1
        return response

    def post_form(
        self, persona: str, url: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> TestResponse:
        body = {"csrf_token": self.personas[persona].csrf, **(data or {})}
        return self.request(persona, "POST", url, data=body, **kwargs)

    def count(self, model: type) -> int:
        with self.app.app_context():
            return get_session().scalar(sa.select(sa.func.count()).select_from(model))


def _restore_cookie(who: Persona) -> None:
    if who.cookie is None:
        who.client.delete_cookie(COOKIE)
    else:
        who.client.set_cookie(COOKIE, who.cookie)


def build_world(engine: sa.Engine, tmp: Path) -> Iterator[World]:
    """Yield the world; everything it wrote is rolled back when the generator resumes."""
    app = _make_app(engine, tmp)
    with engine.connect() as connection:
        transaction = connection.begin()
        app.extensions["sessionmaker"].configure(
            bind=connection, join_transaction_mode="create_savepoint"
        )
        try:
            with app.app_context():
                users = _users(get_session())
                client_id = _client(get_session(), users)
                a = _incident_objects(get_session(), users, client_id, team=True)
                b = _incident_objects(get_session(), users, client_id, team=False)
                common = {**_common_objects(get_session(), users), "client_id": client_id}
                # The mail-merge worker expires what it loaded: read the users back in full.
                users = {name: get_session().get(User, user.id) for name, user in users.items()}
            personas = {name: _persona(app, name, users.get(name)) for name in PERSONAS}
            with app.app_context():
                for persona in personas.values():
                    _own_objects(get_session(), persona)
            yield World(app, connection, personas, a, b, common)
        finally:
            transaction.rollback()


def _make_app(engine: sa.Engine, tmp: Path) -> Flask:
    from incident_app import create_app

    app = create_app(
        make_config(
            engine,
            tmp,
            EVIDENCE_MAX_BYTES=64 * 1024,
            MAX_CONTENT_LENGTH=2 * 1024 * 1024,
            API_RATE_LIMIT=100_000,
        )
    )
    app.extensions["engine"].dispose()
    app.extensions["engine"] = engine
    return app


def _users(session: sa.orm.Session) -> dict[str, User]:
    users = {
        name: make_user(session, role=role, email=f"{name}@example.org")
        for name, role in ROLES.items()
    }
    users["spare"] = make_user(session, role=Role.RESPONDER, email="spare@example.org")
    users["legal_b"] = make_user(session, role=Role.LEGAL, email="legal-b@example.org")
    org = get_organisation(session)
    org.logo, org.logo_mime = PNG, "image/png"
    org.acts_as_business_associate = True  # a billing company with clients (and patients)
    session.commit()
    return users


def _incident_objects(
    session: sa.orm.Session, users: dict[str, User], client_id: int, *, team: bool
) -> dict[str, Any]:
    officer = users["privacy_officer"]
    members = (
        {
            users["responder_member"]: CaseRole.RESPONDER,
            users["legal_member"]: CaseRole.LEGAL,
            users["spare"]: CaseRole.RESPONDER,
        }
        if team
        else {users["spare"]: CaseRole.RESPONDER, users["legal_b"]: CaseRole.LEGAL}
    )
    incident = breach_case(session, officer=officer, members=members)
    ids: dict[str, Any] = {"incident_id": incident.id, "number": 1, "year": 2025}
    ids["member_id"] = session.scalar(
        sa.select(IncidentMember.id).where(
            IncidentMember.incident_id == incident.id, IncidentMember.user_id == users["spare"].id
        )
    )
    ids["obligation_id"] = obligation(session, incident, "individual_notice").id
    ids.update(_case_records(session, officer, incident.id))
    ids.update(
        _letter_records(
            session,
            officer,
            users["legal_member" if team else "legal_b"],
            incident.id,
            ids["obligation_id"],
        )
    )
    hhs = generation.generate(
        session,
        actor=officer,
        now=NOW,
        incident_id=incident.id,
        request=generation.LetterRequest(
            obligation(session, incident, "hhs_notice").id, "hhs_packet.html"
        ),
        store=app_store.current_store(),
    )
    ids["hhs_letter_id"] = hhs.id
    ids.update(_roster_records(session, officer, incident.id, client_id))
    ids.update(_impact_records(session, officer, users["spare"], incident.id))
    ids.update(_mail_batch(session, officer, incident.id))
    ids["inquiry_id"] = _inquiry(session, officer, incident.id)
    ids["transition_to"] = lifecycle.allowed_transitions(session.get(Incident, incident.id))[
        0
    ].value
    ids["outsider_id"], ids["spare_id"] = users["responder"].id, users["spare"].id
    return ids


def _case_records(session: sa.orm.Session, officer: User, incident_id: int) -> dict[str, int]:
    task = tasks.create_task(
        session,
        actor=officer,
        incident_id=incident_id,
        now=NOW,
        task=tasks.TaskInput(title="Call the insurer"),
    )
    timeline.log_action(
        session,
        actor=officer,
        incident_id=incident_id,
        now=NOW,
        action=timeline.ActionInput(
            occurred_at=NOW, category=ActionCategory.CONTAINMENT, text="Remote wipe requested"
        ),
    )
    entry = session.scalars(
        sa.select(TimelineEntry.id).where(
            TimelineEntry.incident_id == incident_id, TimelineEntry.text == "Remote wipe requested"
        )
    ).one()
    stored = evidence.upload_evidence(
        session,
        actor=officer,
        incident_id=incident_id,
        now=NOW,
        upload=evidence.Upload(
            filename=f"police-report-{incident_id}.txt",
            stream=io.BytesIO(f"Report {incident_id}".encode()),
        ),
        description="Police report",
        store=app_store.current_store(),
        max_bytes=64 * 1024,
    )
    version = assessment.save_assessment(
        session,
        actor=officer,
        incident_id=incident_id,
        sign=False,
        now=NOW,
        answers={
            "phi_involved": "yes",
            "use_permitted": "no",
            "safeguard": "none",
            "f3_acquired": "unknown",
            "conclusion": "breach",
        },
    )
    return {
        "task_id": task.id,
        "entry_id": entry,
        "evidence_id": stored.evidence.id,
        "assessment_version_id": version.id,
    }


def _letter_records(
    session: sa.orm.Session, officer: User, legal: User, incident_id: int, obligation_id: int
) -> dict[str, int]:
    letter = generation.generate(
        session,
        actor=officer,
        now=NOW,
        incident_id=incident_id,
        request=generation.LetterRequest(obligation_id, "individual_adult.html"),
        store=app_store.current_store(),
    )
    letter_review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=incident_id, letter_id=letter.id
    )
    letter_review.approve(
        session,
        actor=legal,
        now=NOW,
        incident_id=incident_id,
        letter_id=letter.id,
        store=app_store.current_store(),
        expected_sha256=letter.current_version.sha256,
    )
    notice = notices.mark_sent(
        session,
        actor=officer,
        now=NOW,
        incident_id=incident_id,
        letter_id=letter.id,
        notice=notices.NoticeInput(
            method=notices.NoticeMethod.FIRST_CLASS_MAIL, sent_on=date(2025, 11, 1)
        ),
    )
    proof = proofs.attach_proof(
        session,
        actor=officer,
        now=NOW,
        incident_id=incident_id,
        notice_id=notice.id,
        upload=proofs.ProofUpload(
            filename="affidavit.txt",
            content_type="text/plain",
            stream=io.BytesIO(b"Mailed by the print vendor."),
        ),
        store=app_store.current_store(),
    )
    faq = generation.generate(  # the call-centre FAQ, approved (issue 23)
        session,
        actor=officer,
        now=NOW,
        incident_id=incident_id,
        request=generation.LetterRequest(obligation_id, FAQ_TEMPLATE),
        store=app_store.current_store(),
    )
    letter_review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=incident_id, letter_id=faq.id
    )
    letter_review.approve(
        session,
        actor=legal,
        now=NOW,
        incident_id=incident_id,
        letter_id=faq.id,
        store=app_store.current_store(),
        expected_sha256=faq.current_version.sha256,
    )
    return {
        "letter_id": letter.id,
        "letter_version_id": letter.current_version.id,
        "notice_id": notice.id,
        "proof_id": proof.id,
        "faq_letter_id": faq.id,
    }


def _roster_records(
    session: sa.orm.Session, officer: User, incident_id: int, client_id: int
) -> dict[str, int]:
    """The roster of a billing company's breach (the incident names the client Elm Clinic,
    so the roster has a client column), and the notice sent to Elm with its identities."""
    incident_clients.set_clients(
        session, actor=officer, incident_id=incident_id, client_ids=[client_id], now=NOW
    )
    data = csv_bytes(
        person(f"P-{incident_id}-1") + ",Elm Clinic",
        person(f"P-{incident_id}-2", "Ben", "Ortiz") + ",Elm Clinic",
        header=HEADER + ",client",
    )
    store = app_store.current_store()
    record = roster_upload(session, actor=officer, incident_id=incident_id, data=data, store=store)
    from tests.support.roster_helpers import run_worker

    run_worker(session, store)
    person_id = session.scalars(
        sa.select(RosterPerson.id)
        .where(RosterPerson.incident_id == incident_id)
        .order_by(RosterPerson.id)
    ).first()
    notice = client_notices.draft_notice(
        session,
        actor=officer,
        incident_id=incident_id,
        client_id=client_id,
        update="",
        store=store,
        now=NOW,
    )
    client_notices.record_sent(
        session, actor=officer, incident_id=incident_id, notice_id=notice.id, now=NOW
    )
    return {"import_id": record.id, "person_id": person_id, "client_notice_id": notice.id}


def _impact_records(
    session: sa.orm.Session, officer: User, owner: User, incident_id: int
) -> dict[str, int]:
    cost = impact_costs.record_cost(
        session,
        actor=officer,
        incident_id=incident_id,
        now=NOW,
        cost=impact_costs.CostInput(
            category="outside_counsel",
            basis="actual",
            amount="1,200.00",
            currency="USD",
            spent_on=date(2026, 2, 3),
            vendor="Counsel LLP",
        ),
    )
    outage = impact_disruptions.record_disruption(
        session,
        actor=officer,
        incident_id=incident_id,
        now=NOW,
        disruption=impact_disruptions.DisruptionInput(
            kind="billing_halt",
            system="Claims feed",
            started_at=LOCAL,
            ended_at=LOCAL.replace(hour=17),
        ),
    )
    action = corrective_actions.create_action(
        session,
        actor=officer,
        incident_id=incident_id,
        now=NOW,
        action=corrective_actions.ActionInput("policies", "", owner.id, date(2026, 4, 1)),
    )
    review.save_review(
        session,
        actor=officer,
        incident_id=incident_id,
        now=NOW,
        review=review.ReviewInput(root_cause="Unencrypted laptop disk."),
    )
    return {"cost_id": cost.id, "disruption_id": outage.id, "action_id": action.id}


def _mail_batch(session: sa.orm.Session, officer: User, incident_id: int) -> dict[str, Any]:
    """A mail-merge batch of the roster, worked through once (proof, chunk, manifest)."""
    from incident_app.models.mail_batch import LetterState
    from incident_app.models.mail_batch import MailLetter
    from incident_app.services.mail_merge import batches
    from incident_app.services.mail_merge import worker as mail_merge_worker

    store = app_store.current_store()
    batch = batches.start_batch(
        session, actor=officer, now=NOW, incident_id=incident_id, keyring=store.keyring, store=store
    )
    mail_merge_worker.work(
        session,
        worker=mail_merge_worker.Worker(keyring=store.keyring, store=store, clock=lambda: NOW),
    )
    letter = session.scalars(
        sa.select(MailLetter).where(MailLetter.batch_id == batch.id).order_by(MailLetter.id)
    ).first()
    printed = session.scalars(
        sa.select(MailLetter.letter_code)
        .where(MailLetter.batch_id == batch.id, MailLetter.id != letter.id)
        .order_by(MailLetter.id)
    ).first()
    letter.state = LetterState.FAILED  # so "retry this letter" has something to retry
    session.commit()
    return {
        "batch_id": batch.id,
        "mail_letter_id": letter.id,
        "action": "pause",
        "letter_code": printed,  # a printed letter, for returned mail
    }


def _inquiry(session: sa.orm.Session, officer: User, incident_id: int) -> int:
    """An address change from someone not on the roster (issue 23): its page shows the
    link-to-a-person and new-address forms."""
    from incident_app.models.inquiry import FoundBy
    from incident_app.models.inquiry import InquiryCategory
    from incident_app.models.inquiry import InquiryChannel
    from incident_app.services.inquiries import recording

    return recording.record_inquiry(
        session,
        actor=officer,
        now=NOW,
        incident_id=incident_id,
        keyring=app_store.current_keyring(),
        entry=recording.InquiryInput(
            found_by=FoundBy.NOT_ON_ROSTER,
            channel=InquiryChannel.PHONE,
            category=InquiryCategory.ADDRESS_CHANGE,
            summary="Moved; asked whether her records were in the file.",
            caller_name="Dana Whit",
        ),
    ).id


def _common_objects(session: sa.orm.Session, users: dict[str, User]) -> dict[str, Any]:
    template = checklists.save_template(
        session,
        actor=users["admin"],
        now=NOW,
        values=checklists.TemplateInput(
            name="Lost device", breach_types=("loss",), items=(checklists.ItemInput("Wipe it", 1),)
        ),
    )
    calendar = calendar_feed.issue_token(session, actor=users["privacy_officer"], now=NOW)
    return {
        "template_id": template.id,
        "user_id": users["spare"].id,
        "contact_user_id": users["client_contact"].id,
        "invite_token": _invitation(session, users["admin"]),
        "token": calendar,
        "filename": "css/app.css",
        "year": 2025,
    }


def _invitation(session: sa.orm.Session, admin: User) -> str:
    """An open invitation link (issued now: the page checks expiry against the real clock)."""
    keyring = app_store.current_keyring()
    delivery = invitations.Delivery("http://localhost", keyring, hours=72)
    invitations.create_user(
        session,
        actor=admin,
        email="invited@example.org",
        name="Ivy Invited",
        role=Role.RESPONDER,
        delivery=delivery,
        now=clock.utcnow(),
    )
    return latest_token(session, keyring, "invited@example.org")


def _client(session: sa.orm.Session, users: dict[str, User]) -> int:
    """Elm Clinic, a covered-entity client with its BAA on file and its contact (the
    client_contact persona, authenticator enrolled: contacts must use one)."""
    client = client_registry.create_client(
        session,
        actor=users["admin"],
        values=client_registry.ClientValues("Elm Clinic", "Dana Reyes, dana@elm.example"),
        now=NOW,
    )
    client_registry.attach_baa(
        session,
        actor=users["admin"],
        client_id=client.id,
        filename="baa.pdf",
        data=b"%PDF-1.4 business associate agreement",
        store=app_store.current_store(),
        now=NOW,
    )
    contact = users["client_contact"]
    session.add(ClientContact(user_id=contact.id, client_id=client.id, invited_at=NOW))
    contact.mfa_enabled = True
    contact.totp_secret = app_store.current_store().keyring.encrypt(
        TOTP_SECRET.encode(), f"user:{contact.id}:totp".encode()
    )
    session.commit()
    return client.id


def _persona(app: Flask, name: str, user: User | None) -> Persona:
    client = app.test_client()
    who = Persona(name=name, client=client, user=user)
    if user is not None:
        page = client.get("/login").get_data(as_text=True)
        token = CSRF_INPUT.search(page).group(1)
        response = client.post(
            "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, f"{name} could not sign in"
        if user.mfa_enabled:
            _second_factor(client)
    page = client.get("/account/password" if user else "/login").get_data(as_text=True)
    who.csrf = CSRF_INPUT.search(page).group(1)
    cookie = client.get_cookie(COOKIE)
    who.cookie = cookie.value if cookie is not None else None
    return who


def _second_factor(client: FlaskClient) -> None:
    page = client.get("/login/mfa").get_data(as_text=True)
    token = CSRF_INPUT.search(page).group(1)
    code = pyotp.TOTP(TOTP_SECRET).now()
    response = client.post("/login/mfa", data={"code": code, "csrf_token": token})
    assert response.status_code == 302, "the client contact's second factor was refused"


def _own_objects(session: sa.orm.Session, who: Persona) -> None:
    if who.user is None:
        return
    user = session.get(User, who.user.id)
    _token, who.api_token = api_tokens.create_token(
        session, actor=user, name="matrix", expires_on=None, now=NOW
    )
    spare, _raw = api_tokens.create_token(
        session, actor=user, name="spare", expires_on=None, now=NOW
    )
    sessions.start(
        session,
        user=user,
        now=datetime.now(UTC),
        ip="127.0.0.1",
        user_agent="spare",
        mfa_verified=False,
    )
    session.commit()
    spare_session = session.scalars(
        sa.select(UserSession.id).where(
            UserSession.user_id == user.id, UserSession.user_agent == "spare"
        )
    ).one()
    note = Notification(user_id=user.id, title="Deadline soon", body="", link="")
    session.add(note)
    session.commit()
    who.own = {"notification_id": note.id, "token_id": spare.id, "session_id": spare_session}


class Tally:
    """What the suites tried, per suite and backend, for the one-line summaries."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], dict[str, set[str]]] = {}
        self.counts: dict[tuple[str, str], dict[str, int]] = {}

    def saw(self, suite: str, backend: str, what: str, *items: str) -> None:
        self.seen.setdefault((suite, backend), {}).setdefault(what, set()).update(items)

    def add(self, suite: str, backend: str, what: str, n: int = 1) -> None:
        counts = self.counts.setdefault((suite, backend), {})
        counts[what] = counts.get(what, 0) + n

    def lines(self) -> list[str]:
        lines = []
        for key in sorted(set(self.seen) | set(self.counts)):
            seen, counts = self.seen.get(key, {}), self.counts.get(key, {})
            parts = [f"{len(items)} {what}" for what, items in sorted(seen.items())]
            parts += [f"{n} {what}" for what, n in sorted(counts.items()) if what != "got through"]
            through = counts.get("got through", 0)
            verdict = "nothing got through" if through == 0 else f"{through} GOT THROUGH"
            lines.append(f"security {key[0]} [{key[1]}]: {', '.join(parts)}; {verdict}")
        return lines


TALLY = Tally()
