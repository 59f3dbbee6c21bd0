"""The covered-entity client registry: create, edit, list; the BAA on file in the file store.

Only holders of MANAGE_CLIENTS (administrators, privacy officers) read or change it. Every
change is audited (which fields, old → new for the deadline-relevant ones) and re-syncs the
obligations of every open incident that names the client, since the BAA's period moves its
contractual deadline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import storage
from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.client import Client
from incident_app.models.client import IncidentClient
from incident_app.models.client import PeriodUnit
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import evidence
from incident_app.services.obligations import sync as obligation_sync

BAA_MAX_BYTES = 20 * 1024 * 1024
LOGO_MAX_BYTES = 512 * 1024
_LOGO_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TEXT_FIELDS = (
    "name",
    "address",
    "letterhead_name",
    "letterhead_address",
    "signatory_name",
    "signatory_title",
)


class Contact(TypedDict):
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class ClientValues:
    """What the client form says, already split into fields (the form does no queries)."""

    name: str
    contacts_text: str = ""
    address: str = ""
    period_count: int | None = None
    period_unit: str = ""
    delegates_individual_notice: bool = False
    ba_is_agent: bool | None = None
    letterhead_name: str = ""
    letterhead_address: str = ""
    signatory_name: str = ""
    signatory_title: str = ""


def list_clients(session: Session, *, actor: User) -> list[Client]:
    require(actor, Capability.MANAGE_CLIENTS)
    return list(session.scalars(sa.select(Client).order_by(Client.name)))


def get_client(session: Session, *, actor: User, client_id: int) -> Client:
    """The client; NotAllowed without MANAGE_CLIENTS, NotFound when there is none."""
    require(actor, Capability.MANAGE_CLIENTS)
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("No such client.")
    return client


def parse_contacts(text: str) -> list[Contact]:
    """One contact a line: "Name, email[, phone]". ValidationFailed(field="contacts") names
    the line that is wrong."""
    contacts: list[Contact] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(",")]
        if len(parts) < 2 or len(parts) > 3 or not parts[0]:
            raise ValidationFailed(
                f'Contact line {number}: write "Name, email" or "Name, email, phone".',
                field="contacts",
            )
        if not _EMAIL.match(parts[1]):
            raise ValidationFailed(
                f"Contact line {number}: {parts[1]!r} is not an email address.", field="contacts"
            )
        contacts.append(
            Contact(name=parts[0], email=parts[1], phone=parts[2] if len(parts) == 3 else "")
        )
    if not contacts:
        raise ValidationFailed(
            "Name at least one privacy contact at the client (164.410 notice goes to them).",
            field="contacts",
        )
    return contacts


def create_client(session: Session, *, actor: User, values: ClientValues, now: datetime) -> Client:
    """Add a client. Raises NotAllowed, ValidationFailed (duplicate name, bad contact or
    period). Commits once."""
    require(actor, Capability.MANAGE_CLIENTS)
    client = Client(created_at=now, updated_at=now, contacts=[])
    _apply(session, client, values)  # nothing added yet: a refusal leaves nothing behind
    session.add(client)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="client.created",
        at=now,
        subject_type="client",
        subject_id=client.id,
        details={"name": client.name, "period": client.notice_period_label},
    )
    session.commit()
    return client


def update_client(
    session: Session, *, actor: User, client_id: int, values: ClientValues, now: datetime
) -> Client:
    """Change a client; audits the changed fields and re-syncs the deadlines of the open
    incidents that name it. Raises NotAllowed, NotFound, ValidationFailed. Commits once."""
    client = get_client(session, actor=actor, client_id=client_id)
    before = _snapshot(client)
    try:
        _apply(session, client, values)
    except ValidationFailed:
        session.rollback()  # the half-applied values must not reach a later flush
        raise
    client.updated_at = now
    changed = {k: [before[k], v] for k, v in _snapshot(client).items() if before[k] != v}
    if not changed:
        session.rollback()
        return client
    audit.record(
        session,
        actor=actor,
        action="client.updated",
        at=now,
        subject_type="client",
        subject_id=client.id,
        details={"changed": changed},
    )
    if {"period", "delegates_individual_notice", "business_associate_is_agent"} & set(changed):
        _resync_incidents(session, client_id=client.id, actor=actor, now=now)
    session.commit()
    return client


def _snapshot(client: Client) -> dict[str, object]:
    values: dict[str, object] = {name: getattr(client, name) for name in TEXT_FIELDS}
    values["contacts"] = [dict(contact) for contact in client.contacts]
    values["period"] = client.notice_period_label
    values["delegates_individual_notice"] = client.delegates_individual_notice
    values["business_associate_is_agent"] = client.business_associate_is_agent
    return values


def _apply(session: Session, client: Client, values: ClientValues) -> None:
    name = values.name.strip()
    if not name:
        raise ValidationFailed("Give the client's name.", field="name")
    clash = session.scalar(
        sa.select(Client.id).where(
            sa.func.lower(Client.name) == name.lower(), Client.id != client.id
        )
    )
    if clash is not None:
        raise ValidationFailed(f"A client named {name!r} already exists.", field="name")
    client.name = name
    client.contacts = [dict(contact) for contact in parse_contacts(values.contacts_text)]
    client.notice_period_count, client.notice_period_unit = _period(values)
    client.delegates_individual_notice = values.delegates_individual_notice
    client.business_associate_is_agent = values.ba_is_agent
    for field in TEXT_FIELDS[1:]:
        setattr(client, field, str(getattr(values, field)).strip())
    if values.delegates_individual_notice and not (
        client.letterhead_name and client.signatory_name
    ):
        raise ValidationFailed(
            "A client that delegates individual notice needs the letterhead name and the "
            "signatory for the letters we send on its behalf.",
            field="letterhead_name",
        )


def _period(values: ClientValues) -> tuple[int | None, PeriodUnit | None]:
    if values.period_count is None and not values.period_unit:
        return None, None
    if values.period_count is None or not values.period_unit:
        raise ValidationFailed(
            "Give both the number of days and whether they are calendar or business days "
            "(or neither, when the agreement sets no period of its own).",
            field="period_count",
        )
    if values.period_count < 1:
        raise ValidationFailed(
            "The contractual period must be at least 1 day.", field="period_count"
        )
    try:
        unit = PeriodUnit(values.period_unit)
    except ValueError:
        raise ValidationFailed(
            "Choose calendar days or business days.", field="period_unit"
        ) from None
    return values.period_count, unit


def _resync_incidents(session: Session, *, client_id: int, actor: User, now: datetime) -> None:
    incidents = session.scalars(
        sa.select(Incident)
        .join(IncidentClient, IncidentClient.incident_id == Incident.id)
        .where(IncidentClient.client_id == client_id, Incident.status != IncidentStatus.CLOSED)
    )
    for incident in incidents:
        obligation_sync.sync(session, incident=incident, now=now, actor=actor)


def attach_baa(
    session: Session,
    *,
    actor: User,
    client_id: int,
    filename: str,
    data: bytes,
    store: storage.FileStore,
    now: datetime,
) -> Client:
    """Put the business associate agreement on file (encrypted store, by SHA-256), replacing
    the one before (the audit trail keeps both hashes). Raises ValidationFailed for a file of
    a type not allowed as evidence, an empty or oversized one. Commits once."""
    client = get_client(session, actor=actor, client_id=client_id)
    name = evidence.sanitise_filename(filename)
    if not data:
        raise ValidationFailed("The file is empty.", field="baa")
    if len(data) > BAA_MAX_BYTES:
        raise ValidationFailed("The agreement is larger than 20 MB.", field="baa")
    content_type = evidence.check_type(name, data[: evidence.SNIFF_BYTES], field="baa")
    stored = store.put_bytes(data)
    previous = client.baa_sha256
    client.baa_sha256 = stored.sha256
    client.baa_filename = name
    client.baa_content_type = content_type
    client.baa_uploaded_at = now
    client.baa_uploaded_by_id = actor.id
    audit.record(
        session,
        actor=actor,
        action="client.baa_attached",
        at=now,
        subject_type="client",
        subject_id=client.id,
        details={"filename": name, "sha256": stored.sha256, "replaced": previous},
    )
    session.commit()
    return client


def read_baa(
    session: Session, *, actor: User, client_id: int, store: storage.FileStore, now: datetime
) -> tuple[Client, bytes]:
    """The agreement's bytes, checked against their hash; the read is audited. NotFound when
    no agreement is on file. Commits once (the audit event)."""
    client = get_client(session, actor=actor, client_id=client_id)
    if client.baa_sha256 is None:
        raise NotFound("No business associate agreement is on file for this client.")
    data = store.read_verified(client.baa_sha256)
    audit.record(
        session,
        actor=actor,
        action="client.baa_downloaded",
        at=now,
        subject_type="client",
        subject_id=client.id,
        details={"sha256": client.baa_sha256},
    )
    session.commit()
    return client, data


def set_logo(
    session: Session, *, actor: User, client_id: int, data: bytes, now: datetime
) -> Client:
    """The client's logo for delegated letters (PNG or JPEG, at most 512 KB). Commits once."""
    client = get_client(session, actor=actor, client_id=client_id)
    mime = next((m for sig, m in _LOGO_SIGNATURES.items() if data.startswith(sig)), None)
    if mime is None:
        raise ValidationFailed("The logo must be a PNG or JPEG image.", field="logo")
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationFailed("The logo is larger than 512 KB.", field="logo")
    client.logo = data
    client.logo_mime = mime
    audit.record(
        session,
        actor=actor,
        action="client.logo_set",
        at=now,
        subject_type="client",
        subject_id=client.id,
        details={"bytes": len(data), "type": mime},
    )
    session.commit()
    return client


def contacts_text(contacts: Sequence[Mapping[str, Any]]) -> str:
    """The stored contacts as the form's one-a-line text."""
    return "\n".join(
        ", ".join(part for part in (c["name"], c["email"], c.get("phone", "")) if part)
        for c in contacts
    )
