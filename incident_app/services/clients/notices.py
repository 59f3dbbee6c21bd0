"""The notice to each covered-entity client under 45 CFR 164.410, and its supplements.

164.410(c)(1): the notice identifies "each individual whose unsecured protected health
information has been, or is reasonably believed by the business associate to have been,
accessed, acquired, used, or disclosed"; (c)(2): it carries the 164.404(c) facts available, and
more "promptly thereafter as information becomes available". So a client gets notice 1, then
supplements 2, 3, …: each dated, each with the facts as they stood when it was drafted and the
identities no earlier notice to that client named (the delta). Append-only: a sent notice is
never edited; only a draft may be redrafted or discarded.

The identities travel as a CSV (name, date of birth, address … as the roster has them, only
that client's people) kept in the encrypted file store; it is decrypted only for an audited
download by someone who may read it (services/clients/portal.py `may_read_notices`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import storage
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.client import Client
from incident_app.models.client import ClientNotice
from incident_app.models.client import ClientNoticePerson
from incident_app.models.client import IncidentClient
from incident_app.models.incident import Incident
from incident_app.models.letter import NoticeWording
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import options
from incident_app.services.clients import identities as client_identities
from incident_app.services.clients import portal
from incident_app.services.letters.case_data import breach_dates
from incident_app.services.letters.case_data import discovery_date
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.organisation import get_organisation
from incident_app.services.roster import access as roster_access

UPDATE_MAX = 4000


@dataclass(frozen=True)
class IdentitiesFile:
    notice: ClientNotice
    filename: str
    data: bytes


def list_notices(session: Session, *, incident_id: int, client_id: int) -> list[ClientNotice]:
    """The client's notices on the incident, oldest first (callers checked access)."""
    return list(
        session.scalars(
            sa.select(ClientNotice)
            .where(ClientNotice.incident_id == incident_id, ClientNotice.client_id == client_id)
            .order_by(ClientNotice.number)
        )
    )


def by_client(session: Session, *, incident_id: int) -> dict[int, list[ClientNotice]]:
    """Every client notice of the incident by client, oldest first (the caller checked that
    the incident is visible; the notices' texts hold no PHI, their identities file does)."""
    found: dict[int, list[ClientNotice]] = {}
    for notice in session.scalars(
        sa.select(ClientNotice)
        .where(ClientNotice.incident_id == incident_id)
        .order_by(ClientNotice.client_id, ClientNotice.number)
    ):
        found.setdefault(notice.client_id, []).append(notice)
    return found


def redraft(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    notice_id: int,
    update: str,
    store: storage.FileStore,
    now: datetime,
) -> ClientNotice:
    """Replace a draft by a fresh one (facts and identities as they stand now). A sent
    notice is refused, audited (`refuse_edit`). Commits (the discard, then the draft)."""
    refuse_edit(session, actor=actor, incident_id=incident_id, notice_id=notice_id, now=now)
    notice = _workable_notice(session, actor, incident_id, notice_id)
    client_id = notice.client_id
    discard_draft(session, actor=actor, incident_id=incident_id, notice_id=notice_id, now=now)
    return draft_notice(
        session,
        actor=actor,
        incident_id=incident_id,
        client_id=client_id,
        update=update,
        store=store,
        now=now,
    )


def draft_notice(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    client_id: int,
    update: str,
    store: storage.FileStore,
    now: datetime,
) -> ClientNotice:
    """Draft the client's next notice: number 1, or a supplement once the one before was sent.
    Freezes the 164.404(c) facts known now and the identities not yet given to the client
    (encrypted in the store). Raises NotFound/NotAllowed (roster access: the identities are
    PHI), ValidationFailed (the incident does not name the client; a supplement that says
    nothing new), InvalidTransition (a draft is already waiting). Commits once."""
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    client = _named_client(session, incident.id, client_id)
    earlier = list_notices(session, incident_id=incident.id, client_id=client.id)
    if any(notice.sent_at is None for notice in earlier):
        raise InvalidTransition(
            f"A draft notice to {client.name} is waiting: send or discard it first."
        )
    update = update.strip()[:UPDATE_MAX]
    keys, rows = client_identities.new_identities(session, store, incident.id, client.id, earlier)
    if earlier and not keys and not update:
        raise ValidationFailed(
            "A supplement needs something new: say what was learned, or wait until the "
            "roster names people not yet identified to the client.",
            field="update",
        )
    notice = ClientNotice(
        incident_id=incident.id,
        client_id=client.id,
        number=len(earlier) + 1,
        content=_content(session, incident, client, update),
        identities_count=len(keys),
        drafted_at=now,
        drafted_by_id=actor.id,
    )
    if keys:
        notice.identities_sha256 = store.put_bytes(client_identities.as_csv(rows)).sha256
    session.add(notice)
    session.flush()
    session.add_all(ClientNoticePerson(notice_id=notice.id, person_key=key) for key in keys)
    _audit(session, actor, "client_notice.drafted", notice, now, identities=len(keys))
    session.commit()
    return notice


def _named_client(session: Session, incident_id: int, client_id: int) -> Client:
    client = session.scalar(
        sa.select(Client)
        .join(IncidentClient, IncidentClient.client_id == Client.id)
        .where(IncidentClient.incident_id == incident_id, Client.id == client_id)
    )
    if client is None:
        raise ValidationFailed("This incident does not name that client.", field="client_id")
    return client


def _content(session: Session, incident: Incident, client: Client, update: str) -> dict[str, Any]:
    """The 164.404(c) facts as known now, frozen in the notice (dates as ISO strings)."""
    org = get_organisation(session)
    wording = session.scalar(
        sa.select(NoticeWording).where(NoticeWording.incident_id == incident.id)
    )
    start, end = breach_dates(incident, org.timezone)
    discovered = discovery_date(session, incident)
    by_code = {option.code: option.label for option in options.ocr_options("phi_types")}
    return {
        "client_name": client.name,
        "business_associate": org.legal_name,
        "reference": incident.reference,
        "what_happened": wording.what_happened if wording else "",
        "breach_start": start.isoformat() if start else "",
        "breach_end": end.isoformat() if end else "",
        "discovered_on": discovered.isoformat() if discovered else "",
        "phi_types": (list(wording.phi_types) if wording else [])
        or [by_code.get(code, code) for code in incident.phi_types],
        "steps_for_individuals": list(wording.steps_for_individuals) if wording else [],
        "what_we_are_doing": list(wording.what_we_are_doing) if wording else [],
        "contact": {
            "name": org.signatory_name,
            "title": org.signatory_title,
            "toll_free_number": org.toll_free_number,
            "email": org.email,
            "website": org.website,
        },
        "update": update,
    }


def discard_draft(
    session: Session, *, actor: User, incident_id: int, notice_id: int, now: datetime
) -> None:
    """Throw away a draft (never a sent notice: InvalidTransition). Commits once."""
    notice = _workable_notice(session, actor, incident_id, notice_id)
    if notice.sent_at is not None:
        raise InvalidTransition("A sent notice is part of the record and cannot be discarded.")
    _audit(session, actor, "client_notice.discarded", notice, now)
    session.delete(notice)
    session.commit()


def record_sent(
    session: Session, *, actor: User, incident_id: int, notice_id: int, now: datetime
) -> ClientNotice:
    """Record that the notice went to the client (time and who). InvalidTransition when it
    already was. Commits once."""
    notice = _workable_notice(session, actor, incident_id, notice_id)
    if notice.sent_at is not None:
        raise InvalidTransition(
            f"This notice was already recorded as sent on {notice.sent_at:%Y-%m-%d}."
        )
    notice.sent_at = now
    notice.sent_by_id = actor.id
    _audit(session, actor, "client_notice.sent", notice, now)
    if notice.number == 1:
        # The day the client learns of the breach starts its own clocks when we are not its
        # agent (164.404(a)(2)); a delegating client's notices are ours to compute.
        incident = session.get_one(Incident, incident_id)
        obligation_sync.sync(session, incident=incident, now=now, actor=actor)
    session.commit()
    return notice


def refuse_edit(
    session: Session, *, actor: User, incident_id: int, notice_id: int, now: datetime
) -> None:
    """Anyone asking to change a sent notice is refused (audited): supplements add, they
    never rewrite. A draft is changed by discarding it and drafting again."""
    notice = _workable_notice(session, actor, incident_id, notice_id)
    if notice.sent_at is None:
        return
    _audit(session, actor, "client_notice.edit_refused", notice, now)
    session.commit()
    raise InvalidTransition(
        "A sent notice cannot be changed (45 CFR 164.414(b): the record must show what was "
        "sent). Draft a supplement with what is new."
    )


def acknowledge(
    session: Session,
    *,
    actor: User,
    client_id: int,
    incident_id: int,
    notice_id: int,
    now: datetime,
) -> ClientNotice:
    """The client's contact confirms receipt (time recorded, audited). NotFound for anyone
    else, a draft, or another client's notice (audited). Repeating it changes nothing."""
    notice = portal.contact_notice(
        session,
        actor=actor,
        client_id=client_id,
        incident_id=incident_id,
        notice_id=notice_id,
        now=now,
    )
    if notice.acknowledged_at is not None:
        return notice
    notice.acknowledged_at = now
    notice.acknowledged_by_id = actor.id
    _audit(session, actor, "client_notice.acknowledged", notice, now)
    session.commit()
    return notice


def identities(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    notice_id: int,
    store: storage.FileStore,
    now: datetime,
    client_id: int | None = None,
) -> IdentitiesFile:
    """The notice's identities CSV, decrypted for `actor` and audited before it is returned:
    the incident's roster readers, or the client's own contact (`client_id` from its URL).
    NotFound when there is none, or for anyone else (audited). Commits once."""
    notice = readable_notice(
        session,
        actor=actor,
        incident_id=incident_id,
        notice_id=notice_id,
        now=now,
        client_id=client_id,
    )
    if notice.identities_sha256 is None:
        raise NotFound("This notice names no new individuals.")
    data = store.read_verified(notice.identities_sha256)
    _audit(
        session,
        actor,
        "client_notice.identities_downloaded",
        notice,
        now,
        identities=notice.identities_count,
    )
    session.commit()
    filename = f"identities-{notice.incident_id}-client-{notice.client_id}-{notice.number}.csv"
    return IdentitiesFile(notice, filename, data)


def readable_notice(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    notice_id: int,
    now: datetime,
    client_id: int | None = None,
) -> ClientNotice:
    """The notice for the incident's roster readers, or, with the `client_id` of a portal URL,
    a sent notice for that client's own contact (NotFound, audited, for anyone else)."""
    if client_id is None:
        return _readable_notice(session, actor, incident_id, notice_id)
    return portal.contact_notice(
        session,
        actor=actor,
        client_id=client_id,
        incident_id=incident_id,
        notice_id=notice_id,
        now=now,
    )


def get_notice(session: Session, *, actor: User, incident_id: int, notice_id: int) -> ClientNotice:
    """A notice for the BA's own staff who may read the incident's roster."""
    return _readable_notice(session, actor, incident_id, notice_id)


def _readable_notice(
    session: Session, actor: User, incident_id: int, notice_id: int
) -> ClientNotice:
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    return _notice_of(session, incident_id, notice_id)


def _workable_notice(
    session: Session, actor: User, incident_id: int, notice_id: int
) -> ClientNotice:
    roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    return _notice_of(session, incident_id, notice_id)


def _notice_of(session: Session, incident_id: int, notice_id: int) -> ClientNotice:
    notice = session.get(ClientNotice, notice_id)
    if notice is None or notice.incident_id != incident_id:
        raise NotFound("No such notice on this incident.")
    return notice


def _audit(
    session: Session, actor: User, action: str, notice: ClientNotice, now: datetime, **extra: int
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        at=now,
        subject_type="client_notice",
        subject_id=notice.id,
        incident_id=notice.incident_id,
        details={"client_id": notice.client_id, "number": notice.number, **extra},
    )
