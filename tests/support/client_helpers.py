"""Business-associate clients for service tests: two clinics on one incident whose roster has
a client column (Elm: Ana Lee and Ben Ortiz; Oak, with a 5-business-day BAA clause: Cy Oakes)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy.orm import Session

from incident_app import storage
from incident_app.models.client import Client
from incident_app.models.client import ClientNotice
from incident_app.models.incident import Incident
from incident_app.models.roster import ImportMode
from incident_app.models.user import User
from incident_app.services.clients import contacts
from incident_app.services.clients import incident_clients
from incident_app.services.clients import notices
from incident_app.services.clients import registry
from tests.support.factories import NOW
from tests.support.factories import PASSWORD
from tests.support.letter_factories import breach_case
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person

ELM = registry.ClientValues("Elm Clinic", "Dana Reyes, privacy@elm.example")
OAK = registry.ClientValues(
    "Oak Practice", "Sam Oak, sam@oak.example", period_count=5, period_unit="business_days"
)
LATER = NOW + timedelta(days=3)


def two_clinics(
    session: Session, officer: User, store: storage.FileStore
) -> tuple[Incident, Client, Client]:
    elm = registry.create_client(session, actor=officer, values=ELM, now=NOW)
    oak = registry.create_client(session, actor=officer, values=OAK, now=NOW)
    incident = breach_case(session, officer=officer)
    incident_clients.set_clients(
        session, actor=officer, incident_id=incident.id, client_ids=[elm.id, oak.id], now=NOW
    )
    data = csv_bytes(
        person("E1", "Ana", "Lee") + ",Elm Clinic",
        person("E2", "Ben", "Ortiz", state="NJ") + ",Elm Clinic",
        person("O1", "Cy", "Oakes") + ",Oak Practice",
        header=HEADER + ",client",
    )
    import_csv(session, actor=officer, incident_id=incident.id, data=data, store=store)
    return incident, elm, oak


def draft(
    session: Session,
    officer: User,
    store: storage.FileStore,
    incident: Incident,
    client: Client,
    update: str = "",
    now: datetime = NOW,
) -> ClientNotice:
    return notices.draft_notice(
        session,
        actor=officer,
        incident_id=incident.id,
        client_id=client.id,
        update=update,
        store=store,
        now=now,
    )


def append_rows(
    session: Session, officer: User, store: storage.FileStore, incident: Incident, *rows: str
) -> None:
    """Append roster rows (person(...) + ",<client name>") to the incident's roster."""
    data = csv_bytes(*rows, header=HEADER + ",client")
    import_csv(
        session,
        actor=officer,
        incident_id=incident.id,
        data=data,
        store=store,
        mode=ImportMode.APPEND,
    )


def contact(
    session: Session, officer: User, client: Client, email: str = "dana@elm.example"
) -> User:
    """Invite the client's contact (password set by the officer, MFA still to enrol)."""
    link = contacts.invite_contact(
        session,
        actor=officer,
        client_id=client.id,
        email=email,
        name="Dana Reyes",
        password=PASSWORD,
        now=NOW,
    )
    return link.user
