"""What the Mailing tab and a batch's page show: who would get what and which letters are
approved, the incident's batches; a batch with its chunks, progress and failed letters (by
letter id and reason: no PHI on the page)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.models.client import Client
from incident_app.models.client import IncidentClient
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Variant
from incident_app.models.user import User
from incident_app.services.enrolment import assignment as enrolment
from incident_app.services.enrolment.assignment import Supply
from incident_app.services.incidents import lifecycle
from incident_app.services.mail_merge import mailed
from incident_app.services.mail_merge import planning
from incident_app.services.mail_merge.batches import CHUNK_SIZE
from incident_app.services.mail_merge.batches import get_batch
from incident_app.services.mail_merge.planning import Plan
from incident_app.services.mail_merge.progress import Progress
from incident_app.services.mail_merge.progress import progress_of
from incident_app.services.obligations.recorded import client_key
from incident_app.services.organisation import get_organisation
from incident_app.services.roster import access as roster_access

FAILED_SHOWN = 200


@dataclass(frozen=True)
class VariantRow:
    """One letter variant on the Mailing tab: who needs it and whether it can go out now."""

    variant: Variant
    people: int  # waiting people who get this letter (mail and email)
    mailed: int  # of them by first-class mail
    state: str  # "approved" | "waiting" | "not needed"


@dataclass(frozen=True)
class Overview:
    incident: Incident
    plan: Plan
    rows: list[VariantRow]
    problems: list[str]  # why a needed variant cannot go out yet
    email_enabled: bool
    batches: list[MailBatch]
    open_batch: MailBatch | None
    may_start: bool
    startable: bool  # at least one needed variant is approved (or nobody needs a letter)
    # Issue 23: enrollment codes the waiting recipients need against free codes (no pool: None).
    codes: Supply | None = None
    # Business-associate mode: the delegating client whose people and letterhead this view
    # is about (None: our own letters), and every delegating client the incident names.
    client: Client | None = None
    delegating: tuple[Client, ...] = ()

    @property
    def waiting(self) -> list[VariantRow]:
        return [row for row in self.rows if row.state == "waiting"]


def overview(
    session: Session, *, actor: User, incident_id: int, client_id: int | None = None
) -> Overview:
    """What the Mailing tab shows: who would get what, which letters are approved, batches.
    A variant nobody needs is "not needed" and never blocks a mailing. `client_id`: the
    mailing of one client that delegates individual notice to us (NotFound for any other)."""
    incident = roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    delegating = _delegating_clients(session, incident_id)
    client = _scope(delegating, client_id)
    key = None if client is None else client_key(client.id)
    email_enabled = get_organisation(session).email_notice_enabled
    planned = planning.plan(session, incident_id, email_enabled=email_enabled, client_id=client_id)
    needed = planned.variants or [Variant.ADULT]
    approved = {v: planning.approval(session, incident_id, v, key) is not None for v in needed}
    rows = [
        VariantRow(
            v,
            planned.count(v),
            planned.mailed(v),
            ("approved" if approved[v] else "waiting") if v in approved else "not needed",
        )
        for v in Variant
    ]
    problems = [
        planning.why_not_approved(session, incident_id, v, key) for v in needed if not approved[v]
    ]
    batches = list(
        session.scalars(
            sa.select(MailBatch)
            .where(MailBatch.incident_id == incident_id)
            .order_by(MailBatch.id.desc())
        )
    )
    return Overview(
        incident,
        planned,
        rows,
        problems,
        email_enabled,
        batches,
        next((b for b in batches if b.status.is_open), None),
        roster_access.can_change(session, actor=actor, incident=incident),
        any(approved.values()) and bool(planned.routed or planned.substitute),
        enrolment.supply(session, incident_id, [r.person_id for r in planned.routed]),
        client,
        delegating,
    )


def _delegating_clients(session: Session, incident_id: int) -> tuple[Client, ...]:
    return tuple(
        session.scalars(
            sa.select(Client)
            .join(IncidentClient, IncidentClient.client_id == Client.id)
            .where(IncidentClient.incident_id == incident_id, Client.delegates_individual_notice)
            .order_by(Client.name)
        )
    )


def _scope(delegating: tuple[Client, ...], client_id: int | None) -> Client | None:
    if client_id is None:
        return None
    client = next((c for c in delegating if c.id == client_id), None)
    if client is None:
        raise NotFound("This incident names no such client delegating individual notice.")
    return client


@dataclass(frozen=True)
class Confirmation:
    """What "Start the mailing" will do, shown before anything is queued."""

    client: Client | None  # a delegating client's own mailing, on its letterhead
    incident: Incident
    variants: list[VariantRow]  # covered now
    waiting: list[VariantRow]  # still in review: their people stay pending
    letters: int  # by mail
    emails: int
    substitute: int
    no_contact: int
    print_files: int  # one per chunk of CHUNK_SIZE people

    @property
    def people(self) -> int:
        """What the start request confirms: everyone the batch covers."""
        return self.letters + self.emails + self.substitute


def confirmation(
    session: Session, *, actor: User, incident_id: int, client_id: int | None = None
) -> Confirmation:
    """The counts, variants and print files a mailing started now would have. Raises
    NotAllowed (not a roster worker) and InvalidTransition (nothing approved; open batch)."""
    view = overview(session, actor=actor, incident_id=incident_id, client_id=client_id)
    if not view.may_start:
        raise NotAllowed("Only the incident's response team may start a mailing.")
    if view.open_batch is not None:
        raise InvalidTransition(
            f"Mailing {view.open_batch.id} is still open: let it finish, or cancel it, first."
        )
    if not view.startable:
        raise InvalidTransition(
            "Nothing can be mailed yet. " + " ".join(view.problems)
            if view.problems
            else "Nobody on the roster is waiting for a notice."
        )
    approvals = {row.variant: True for row in view.rows if row.state == "approved"}
    part = planning.covered(view.plan, approvals)
    enrolment.check_supply(session, incident_id, [r.person_id for r in part.routed])
    return Confirmation(
        view.client,
        view.incident,
        [row for row in view.rows if row.state == "approved" and row.people],
        view.waiting,
        part.mail,
        part.email,
        len(part.substitute),
        len(part.no_contact),
        math.ceil(len(part.routed) / CHUNK_SIZE),
    )


@dataclass(frozen=True)
class BatchPage:
    incident: Incident
    batch: MailBatch
    chunks: list[MailChunk]
    failed: list[MailLetter]
    failed_total: int
    progress: Progress
    started_by: User
    may_change: bool
    mailed_by: User | None
    suggestion: Suggestion | None


def batch_page(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> BatchPage:
    """The batch with chunks, failed letters (by letter id and reason: no PHI on the page)."""
    incident = roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    batch = get_batch(session, incident_id, batch_id)
    chunks = list(
        session.scalars(
            sa.select(MailChunk).where(MailChunk.batch_id == batch.id).order_by(MailChunk.number)
        )
    )
    failed_query = sa.select(MailLetter).where(
        MailLetter.batch_id == batch.id, MailLetter.state == LetterState.FAILED
    )
    failed = list(session.scalars(failed_query.order_by(MailLetter.sequence).limit(FAILED_SHOWN)))
    failed_total = (
        session.scalar(sa.select(sa.func.count()).select_from(failed_query.subquery())) or 0
    )
    return BatchPage(
        incident,
        batch,
        chunks,
        failed,
        failed_total,
        progress_of(session, batch, now),
        session.get_one(User, batch.started_by_id),
        roster_access.can_change(session, actor=actor, incident=incident),
        session.get(User, batch.mailed_recorded_by_id) if batch.mailed_recorded_by_id else None,
        suggestion(session, incident),
    )


@dataclass(frozen=True)
class Suggestion:
    """The incident status the mailing suggests, and the allowed steps to get there."""

    status: IncidentStatus
    steps: list[IncidentStatus]
    reason: str


def suggestion(session: Session, incident: Incident) -> Suggestion | None:
    """Notification once a mailing started; Monitoring once every person on the roster is
    notified or reached by substitute notice. None when the case is there (or closed)."""
    started = session.scalar(sa.select(sa.func.count()).where(MailBatch.incident_id == incident.id))
    if not started or incident.status.is_closed:
        return None
    target, reason = IncidentStatus.NOTIFICATION, "letters to the people affected are going out"
    if mailed.still_waiting(session, incident.id) == 0 and session.scalar(
        sa.select(sa.func.count()).where(
            MailBatch.incident_id == incident.id, MailBatch.mailed_on.is_not(None)
        )
    ):
        target = IncidentStatus.MONITORING
        reason = "every person on the roster is notified or reached by substitute notice"
    steps = lifecycle.path_to(incident.status, target)
    return Suggestion(target, steps, reason) if steps else None
