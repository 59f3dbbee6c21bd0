"""Mail merge: every person on the roster gets their own notice from the approved letter.

Starting a batch (a web request) checks the approvals, sorts the roster into routes — a letter
by first-class mail (adult, parent or guardian of a minor, next of kin of a deceased person,
Spanish), an email notice for people who agreed to electronic notice when the organisation
enables it, substitute notice for living people without a sufficient address, nothing for a
deceased person without a next-of-kin address — freezes the recipients into chunks and
renders a three-recipient proof. Rendering happens only in worker processes (`work`), chunk
by chunk: each person's PDF goes to the file store and its `MailLetter` row (unique per batch
and person) is written in the same transaction as the hash, so a killed worker resumes where
it stopped and never writes a letter twice. A finished chunk gets one print-ready PDF and a
manifest CSV for the mail house.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import NamedTuple

import sqlalchemy as sa
from pypdf import PdfReader
from pypdf import PdfWriter
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.crypto import KeyRing
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import ChunkStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Route
from incident_app.models.mail_batch import Variant
from incident_app.models.notification import EmailMessage
from incident_app.models.roster import AddressStatus
from incident_app.models.roster import NoticeMethod
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.letters import workflow as letter_workflow
from incident_app.services.mail_merge.recipients import Unprintable
from incident_app.services.mail_merge.recipients import email_notice
from incident_app.services.mail_merge.recipients import full_name
from incident_app.services.mail_merge.recipients import recipient_for
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders import notifications
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import normalise as norm
from incident_app.services.roster import people as roster_people
from incident_app.storage import FileStore
from incident_app.storage import StorageError

log = logging.getLogger("breachdesk.mail_merge")

KIND = "individual_notice"
CHUNK_SIZE = 1000  # letters per print file
GROUP = 50  # letters per transaction inside a chunk
PROOF_SIZE = 3
STALE_AFTER = timedelta(minutes=2)  # a chunk without a heartbeat this long is taken over
RATE_WINDOW = timedelta(minutes=2)
FAILED_SHOWN = 200
RENDER_ERRORS = (ValidationFailed, letters.LetterRenderError)
MANIFEST_HEADER = (
    "letter_id",
    "chunk",
    "sequence",
    "variant",
    "recipient_name",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "page_count",
    "sha256",
)
_OPEN = [s for s in BatchStatus if s.is_open]
_WORKABLE = (BatchStatus.QUEUED, BatchStatus.RUNNING)


# ---- routes ---------------------------------------------------------------------------------


class Entry(NamedTuple):
    """One person in a chunk, in letter order."""

    sequence: int
    person_id: int
    route: Route
    variant: Variant | None


@dataclass
class Plan:
    """Who gets what, from the roster's clear flags (no PHI is decrypted to plan)."""

    routed: list[tuple[int, Route, Variant | None]] = field(default_factory=list)
    substitute: list[int] = field(default_factory=list)
    no_contact: list[int] = field(default_factory=list)

    def count(self, variant: Variant) -> int:
        return sum(1 for _, _, v in self.routed if v is variant)

    def mailed(self, variant: Variant) -> int:
        return sum(1 for _, r, v in self.routed if v is variant and r is Route.MAIL)

    @property
    def email(self) -> int:
        return sum(1 for _, route, _ in self.routed if route is Route.EMAIL)

    @property
    def mail(self) -> int:
        return len(self.routed) - self.email

    @property
    def variants(self) -> list[Variant]:
        return [v for v in Variant if self.count(v)]


def route_of(person: Any, *, email_enabled: bool) -> tuple[Route, Variant] | str:
    """The route and letter for one person, or why nobody can be written to.

    A deceased person's letter goes to the next of kin (164.404(d)(1)(ii)) and needs their
    address; without it no substitute notice is owed. A minor's letter goes to the parent or
    guardian (the roster marks the address sufficient when the guardian's is). Email is used
    only for living adults who agreed to it (164.404(d)(1)(i)).
    """
    if person.deceased:
        return (Route.MAIL, Variant.DECEASED) if person.nok_address else "no_contact"
    if email_enabled and person.email_consent and not person.minor:
        return Route.EMAIL, Variant.SPANISH if person.language == "es" else Variant.ADULT
    if person.address_status is not AddressStatus.SUFFICIENT:
        return "substitute"
    if person.minor:
        return Route.MAIL, Variant.MINOR
    return Route.MAIL, Variant.SPANISH if person.language == "es" else Variant.ADULT


def plan(session: Session, incident_id: int, *, email_enabled: bool) -> Plan:
    """Everyone on the roster still waiting for a notice (merged duplicates excluded)."""
    result = Plan()
    people = session.execute(
        sa.select(
            RosterPerson.id,
            RosterPerson.deceased,
            RosterPerson.nok_address,
            RosterPerson.email_consent,
            RosterPerson.minor,
            RosterPerson.address_status,
            RosterPerson.language,
        )
        .where(
            RosterPerson.import_id.in_(roster_access.committed_import_ids(session, incident_id)),
            RosterPerson.duplicate_of_id.is_(None),
            RosterPerson.notice_status == NoticeStatus.PENDING,
        )
        .order_by(RosterPerson.id)
    )
    for person in people:
        outcome = route_of(person, email_enabled=email_enabled)
        if outcome == "substitute":
            result.substitute.append(person.id)
        elif outcome == "no_contact":
            result.no_contact.append(person.id)
        else:
            route, variant = outcome  # type: ignore[misc]
            result.routed.append((person.id, route, variant))
    return result


# ---- approvals ------------------------------------------------------------------------------


def _approval(
    session: Session, incident_id: int, variant: Variant
) -> letter_workflow.ApprovedLetter | None:
    return letter_workflow.approved_letter(
        session, incident_id=incident_id, kind=KIND, template_name=variant.template_name
    )


def why_not_approved(session: Session, incident_id: int, variant: Variant) -> str:
    """A sentence saying why `variant` has no usable approval."""
    label = letter_workflow.letter_context.TEMPLATE_LABELS[variant.template_name]
    letter = session.scalar(
        sa.select(Letter).where(
            Letter.incident_id == incident_id,
            Letter.kind == KIND,
            Letter.template_name == variant.template_name,
        )
    )
    if letter is None:
        return f"{label}: not generated yet (Letters tab)."
    if letter.status not in (LetterStatus.APPROVED, LetterStatus.SENT):
        return f"{label}: {letter.status.label.lower()}, not approved by legal."
    state = letter_workflow.freshness(session, letter)
    reasons = " ".join(state.reasons) or "A newer version replaced the approved one."
    return f"{label}: the approval is void. {reasons}"


# ---- the Mailing tab ------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    incident: Incident
    plan: Plan
    approved: dict[Variant, bool]
    problems: list[str]
    email_enabled: bool
    batches: list[MailBatch]
    open_batch: MailBatch | None
    may_start: bool


def overview(session: Session, *, actor: User, incident_id: int) -> Overview:
    """What the Mailing tab shows: who would get what, which letters are approved, batches."""
    incident = roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    email_enabled = get_organisation(session).email_notice_enabled
    planned = plan(session, incident_id, email_enabled=email_enabled)
    approved = {v: _approval(session, incident_id, v) is not None for v in Variant}
    needed = set(planned.variants) | {Variant.ADULT}
    problems = [
        why_not_approved(session, incident_id, v)
        for v in Variant
        if v in needed and not approved[v]
    ]
    batches = list(
        session.scalars(
            sa.select(MailBatch)
            .where(MailBatch.incident_id == incident_id)
            .order_by(MailBatch.id.desc())
        )
    )
    open_batch = next((b for b in batches if b.status.is_open), None)
    return Overview(
        incident,
        planned,
        approved,
        problems,
        email_enabled,
        batches,
        open_batch,
        roster_access.can_change(session, actor=actor, incident=incident),
    )


# ---- starting a batch -----------------------------------------------------------------------


def start_batch(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    keyring: KeyRing,
    store: FileStore,
    chunk_size: int = CHUNK_SIZE,
) -> MailBatch:
    """Queue a batch for everyone on the roster still waiting for a notice.

    Refused (InvalidTransition) while another batch of the incident is open or when the
    individual notice — or a variant some recipient needs — has no valid approval (never
    approved, or voided by a re-render, a data change or a template change); ValidationFailed
    when nobody is waiting. Marks people without a sufficient address unreachable (they count
    toward substitute notice) and recounts the roster. Renders the three-recipient proof.
    Commits once.
    """
    incident = roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    if (
        session.scalar(
            sa.select(MailBatch.id).where(
                MailBatch.incident_id == incident_id, MailBatch.status.in_(_OPEN)
            )
        )
        is not None
    ):
        raise InvalidTransition(
            "A mailing for this incident is still open: let it finish, "
            "or cancel it, before starting another."
        )
    planned = plan(
        session, incident_id, email_enabled=get_organisation(session).email_notice_enabled
    )
    approvals = _required_approvals(session, incident_id, planned)
    if not planned.routed and not planned.substitute:
        raise ValidationFailed("Nobody on the roster is waiting for a notice.", field="roster")
    batch = _new_batch(session, incident, planned, approvals, actor, now, chunk_size)
    _add_chunks(session, batch, planned.routed)
    _mark_unreachable(session, planned.substitute, now)
    roster_counts.recount(session, incident=incident, now=now, actor=actor)
    batch.proof_sha256 = _proof(session, batch, incident, approvals, keyring, store)
    audit.record(
        session,
        actor=actor,
        action="mail_batch.started",
        at=now,
        subject_type="mail_batch",
        subject_id=batch.id,
        incident_id=incident_id,
        details=_start_details(batch),
    )
    session.commit()
    return batch


def _required_approvals(
    session: Session,
    incident_id: int,
    planned: Plan,
) -> dict[Variant, letter_workflow.ApprovedLetter]:
    needed = [Variant.ADULT, *(v for v in planned.variants if v is not Variant.ADULT)]
    approvals = {v: _approval(session, incident_id, v) for v in needed}
    missing = [v for v, a in approvals.items() if a is None]
    if missing:
        raise InvalidTransition(
            "A mailing starts only from letters legal approved and nothing changed since. "
            + " ".join(
                _need(planned, v) + why_not_approved(session, incident_id, v) for v in missing
            )
        )
    return {v: a for v, a in approvals.items() if a is not None}


def _need(planned: Plan, variant: Variant) -> str:
    count = planned.count(variant)
    return f"({count:,} recipient{'s' if count != 1 else ''} need it) " if count else ""


def _new_batch(
    session: Session,
    incident: Incident,
    planned: Plan,
    approvals: dict[Variant, letter_workflow.ApprovedLetter],
    actor: User,
    now: datetime,
    chunk_size: int,
) -> MailBatch:
    main = approvals[Variant.ADULT]
    batch = MailBatch(
        incident_id=incident.id,
        letter_id=main.letter_id,
        letter_version_id=main.version_id,
        template_name=main.template_name,
        template_version=main.template_version,
        sample_sha256=main.sample_sha256,
        data_fingerprint=main.data_fingerprint,
        letter_date=main.letter_date,
        status=BatchStatus.QUEUED,
        variants={
            v.value: {
                "letter_id": a.letter_id,
                "version_id": a.version_id,
                "template_name": a.template_name,
                "template_version": a.template_version,
                "sample_sha256": a.sample_sha256,
            }
            for v, a in approvals.items()
        },
        mail_count=planned.mail,
        email_count=planned.email,
        substitute_count=len(planned.substitute),
        no_contact_count=len(planned.no_contact),
        chunk_size=chunk_size,
        started_by_id=actor.id,
        created_at=now,
    )
    if not planned.routed:
        batch.status, batch.finished_at = BatchStatus.COMPLETED, now
    session.add(batch)
    session.flush()
    return batch


def _add_chunks(
    session: Session, batch: MailBatch, routed: Sequence[tuple[int, Route, Variant | None]]
) -> None:
    for index in range(0, len(routed), batch.chunk_size):
        part = routed[index : index + batch.chunk_size]
        session.add(
            MailChunk(
                batch_id=batch.id,
                number=index // batch.chunk_size + 1,
                first_sequence=index + 1,
                people=[
                    [index + offset + 1, pid, route.value, variant.value if variant else ""]
                    for offset, (pid, route, variant) in enumerate(part)
                ],
            )
        )


def _mark_unreachable(session: Session, person_ids: list[int], now: datetime) -> None:
    # Unreachable feeds roster_counts.count's insufficient_contact_living (substitute notice).
    for index in range(0, len(person_ids), 1000):
        session.execute(
            sa.update(RosterPerson)
            .where(
                RosterPerson.id.in_(person_ids[index : index + 1000]),
                RosterPerson.notice_status == NoticeStatus.PENDING,
            )
            .values(notice_status=NoticeStatus.UNREACHABLE)
            .execution_options(synchronize_session=False)
        )


def _start_details(batch: MailBatch) -> dict[str, Any]:
    return {
        "template": batch.template_name,
        "template_version": batch.template_version,
        "letter_version_id": batch.letter_version_id,
        "sample_sha256": batch.sample_sha256,
        "variants": sorted(batch.variants),
        "mail": batch.mail_count,
        "email": batch.email_count,
        "substitute": batch.substitute_count,
        "no_contact": batch.no_contact_count,
        "proof_sha256": batch.proof_sha256,
    }


# ---- the proof ------------------------------------------------------------------------------
#
# Legal approved one sample letter with a placeholder addressee. Before thousands go out, the
# batch keeps a proof of three real recipients rendered through the same fast path from the
# approved version, so a reviewer sees names and addresses in the window as the mail house
# will print them. Distinct variants are preferred, so the proof shows the variety.


def _proof(
    session: Session,
    batch: MailBatch,
    incident: Incident,
    approvals: dict[Variant, letter_workflow.ApprovedLetter],
    keyring: KeyRing,
    store: FileStore,
) -> str | None:
    pdfs: list[bytes] = []
    for variant, recipient in _proof_people(session, batch, keyring):
        recipient["letter_id"] = f"{incident.reference}-M{batch.id}-PROOF{len(pdfs) + 1}"
        try:
            [(_, pdf)] = list(
                letters.render_batch(
                    variant.template_name, approvals[variant].common_context, [recipient]
                )
            )
        except RENDER_ERRORS:
            continue  # this one fails in the batch too, with its reason; show the next
        pdfs.append(pdf)
        if len(pdfs) == PROOF_SIZE:
            break
    if not pdfs:
        return None
    try:
        return store.put_bytes(combine(pdfs)[0]).sha256
    except StorageError as error:
        raise ValidationFailed(f"The proof could not be stored: {error}", field="proof") from error


def _proof_people(
    session: Session, batch: MailBatch, keyring: KeyRing
) -> list[tuple[Variant, dict[str, Any]]]:
    chosen: list[tuple[Variant, dict[str, Any]]] = []
    spare: list[tuple[Variant, dict[str, Any]]] = []
    for entry in _entries(_first_chunk(session, batch)):
        if entry.route is not Route.MAIL or entry.variant is None:
            continue
        person = session.get_one(RosterPerson, entry.person_id)
        try:
            recipient = recipient_for(
                person, roster_people.decrypt(keyring, person), entry.variant, "PROOF"
            )
        except Unprintable:
            continue
        distinct = all(v is not entry.variant for v, _ in chosen)
        (chosen if distinct else spare).append((entry.variant, recipient.context))
        if len(chosen) == PROOF_SIZE or len(chosen) + len(spare) >= 30:
            break
    return chosen + spare


def _first_chunk(session: Session, batch: MailBatch) -> MailChunk | None:
    return session.scalar(
        sa.select(MailChunk)
        .where(MailChunk.batch_id == batch.id)
        .order_by(MailChunk.number)
        .limit(1)
    )


def _entries(chunk: MailChunk | None) -> list[Entry]:
    if chunk is None:
        return []
    return [
        Entry(sequence, pid, Route(route), Variant(variant) if variant else None)
        for sequence, pid, route, variant in chunk.people
    ]


def combine(pdfs: Iterable[bytes]) -> tuple[bytes, int]:
    """One PDF of all `pdfs` in order (the mail house's print file) and its page count."""
    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(PdfReader(io.BytesIO(pdf)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), len(writer.pages)


# ---- the worker -----------------------------------------------------------------------------


@dataclass
class Worker:
    """What a worker process brings: keys, the store, a clock, a name for the claim."""

    keyring: KeyRing
    store: FileStore
    clock: Callable[[], datetime]
    name: str = "worker"
    processes: int = 1  # render processes per chunk (letters.render_batch workers)


class _Stop(Exception):
    """The batch was paused or cancelled, or another worker took the chunk over."""


class _BatchFailed(Exception):
    """Nothing more can be rendered until a person fixes the cause (the message)."""


def work(session: Session, *, worker: Worker, max_chunks: int | None = None) -> int:
    """Claim chunks and render them until none is left (or `max_chunks`); returns how many
    chunks this call finished. Commits once per group of letters and once per chunk."""
    finished = 0
    finalise(session, now=worker.clock())
    while max_chunks is None or finished < max_chunks:
        chunk = claim(session, now=worker.clock(), worker=worker.name)
        if chunk is None:
            break
        if run_chunk(session, chunk, worker):
            finished += 1
        finalise(session, now=worker.clock())
    return finished


def claim(session: Session, *, now: datetime, worker: str) -> MailChunk | None:
    """Take the next chunk of a queued or running batch, or one whose worker stopped beating
    (SKIP LOCKED on PostgreSQL; the claim token makes a lost race harmless on SQLite)."""
    candidate = session.scalars(
        sa.select(MailChunk)
        .join(MailBatch, MailBatch.id == MailChunk.batch_id)
        .where(
            MailBatch.status.in_(_WORKABLE),
            sa.or_(
                MailChunk.status == ChunkStatus.PENDING,
                sa.and_(
                    MailChunk.status == ChunkStatus.RUNNING,
                    MailChunk.heartbeat_at < now - STALE_AFTER,
                ),
            ),
        )
        .order_by(MailChunk.batch_id, MailChunk.number)
        .limit(1)
        .with_for_update(skip_locked=True, of=MailChunk)
    ).first()
    if candidate is None:
        session.rollback()
        return None
    token = uuid.uuid4().hex
    taken = session.execute(
        sa.update(MailChunk)
        .where(MailChunk.id == candidate.id, MailChunk.claim_token == candidate.claim_token)
        .values(
            status=ChunkStatus.RUNNING, claim_token=token, claimed_by=worker[:120], heartbeat_at=now
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        session.rollback()
        return None
    session.execute(
        sa.update(MailBatch)
        .where(MailBatch.id == candidate.batch_id)
        .values(
            status=sa.case(
                (MailBatch.status == BatchStatus.QUEUED, BatchStatus.RUNNING.value),
                else_=MailBatch.status,
            ),
            heartbeat_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(candidate)
    return candidate


def run_chunk(session: Session, chunk: MailChunk, worker: Worker) -> bool:
    """Render what is left of a claimed chunk, then its print file and manifest. True when
    the chunk is done; False when it was released (pause, cancel, takeover, failure)."""
    batch = session.get_one(MailBatch, chunk.batch_id)
    try:
        run = _ChunkRun(session, batch, chunk, worker, _approved_contexts(session, batch))
        todo = _todo(session, chunk)
        run.emails([e for e in todo if e.route is Route.EMAIL])
        for variant in Variant:
            run.letters(
                variant, [e for e in todo if e.route is Route.MAIL and e.variant is variant]
            )
        _finish_chunk(session, batch, chunk, worker)
    except _Stop:
        session.rollback()
        _release(session, chunk)
        return False
    except _BatchFailed as error:
        _fail(session, batch.id, chunk, str(error), worker.clock())
        return False
    return True


def _approved_contexts(session: Session, batch: MailBatch) -> dict[Variant, dict[str, Any]]:
    """The approved letters' shared contexts, re-checked before every chunk: an approval
    voided since the batch started (re-render, data or template change) stops the batch."""
    contexts = {}
    for name, info in batch.variants.items():
        variant = Variant(name)
        approved = _approval(session, batch.incident_id, variant)
        if approved is None or approved.version_id != info["version_id"]:
            raise _BatchFailed(
                "The approved letter changed after this mailing started, so nothing more is "
                f"rendered: {why_not_approved(session, batch.incident_id, variant)} Have it "
                "approved again, cancel this mailing and start a new one."
            )
        contexts[variant] = approved.common_context
    return contexts


def _todo(session: Session, chunk: MailChunk) -> list[Entry]:
    """The chunk's people without an outcome yet (a retried person: only in its retry chunk)."""
    rows = session.execute(
        sa.select(MailLetter.person_id, MailLetter.state, MailLetter.chunk_id).where(
            MailLetter.batch_id == chunk.batch_id,
            MailLetter.person_id.in_([p[1] for p in chunk.people]),
        )
    ).all()
    settled = {
        person
        for person, state, chunk_id in rows
        if not (state is LetterState.RETRY and chunk_id == chunk.id)
    }
    return [entry for entry in _entries(chunk) if entry.person_id not in settled]


class _ChunkRun:
    """One claimed chunk being rendered: groups of GROUP letters, one transaction each."""

    def __init__(
        self,
        session: Session,
        batch: MailBatch,
        chunk: MailChunk,
        worker: Worker,
        contexts: dict[Variant, dict[str, Any]],
    ) -> None:
        self.session, self.batch, self.chunk, self.worker = session, batch, chunk, worker
        self.contexts = contexts
        self.reference = session.get_one(Incident, batch.incident_id).reference
        self.token = chunk.claim_token

    def code(self, entry: Entry) -> str:
        return letter_code(self.reference, self.batch.id, entry.sequence)

    def people(self, entries: Sequence[Entry]) -> dict[int, tuple[RosterPerson, dict]]:
        found = self.session.scalars(
            sa.select(RosterPerson).where(RosterPerson.id.in_([e.person_id for e in entries]))
        )
        return {p.id: (p, roster_people.decrypt(self.worker.keyring, p)) for p in found}

    def emails(self, entries: list[Entry]) -> None:
        for index in range(0, len(entries), GROUP):
            group = entries[index : index + GROUP]
            people = self.people(group)
            outcomes = [self._email(entry, people.get(entry.person_id)) for entry in group]
            self._write(
                [o for o in outcomes if isinstance(o, _Done)],
                [o for o in outcomes if isinstance(o, _Failed)],
            )

    def _email(self, entry: Entry, found: tuple[RosterPerson, dict] | None) -> _Done | _Failed:
        if found is None:
            return _Failed(entry, "This person is no longer on the roster.")
        email = found[1].get("email", "")
        if not email:
            return _Failed(entry, "The roster has no email address for this person.")
        assert entry.variant is not None
        subject, body = email_notice(
            entry.variant.template_name,
            self.contexts[entry.variant],
            full_name(found[1]) or "Patient",
            self.code(entry),
        )
        # The notice names the person: the outbox keeps it encrypted until delivery.
        sealed = notifications.seal_body(self.worker.keyring, body)
        self.session.add(
            EmailMessage(
                to_address=email,
                subject=subject,
                body=sealed,
                created_at=self.worker.clock(),
                next_attempt_at=self.worker.clock(),
            )
        )
        return _Done(entry, None, 0)

    def letters(self, variant: Variant, entries: list[Entry]) -> None:
        if not entries:
            return
        people = self.people(entries)
        prepared: list[tuple[Entry, dict[str, Any]]] = []
        done: list[_Done] = []
        failed: list[_Failed] = []
        for entry in entries:
            try:
                found = people.get(entry.person_id)
                if found is None:
                    raise Unprintable("This person is no longer on the roster.")
                prepared.append((entry, recipient_for(*found, variant, self.code(entry)).context))
            except Unprintable as error:
                failed.append(_Failed(entry, str(error)))
        rendered = render_all(
            variant.template_name, self.contexts[variant], prepared, processes=self.worker.processes
        )
        with closing(rendered):  # a pause mid-way shuts the render pool down at once
            for entry, pdf, reason in rendered:
                if pdf is None:
                    failed.append(_Failed(entry, reason))
                else:
                    done.append(_Done(entry, pdf, page_count(pdf)))
                if len(done) + len(failed) >= GROUP:
                    self._write(done, failed)
                    done, failed = [], []
        self._write(done, failed)

    def _write(self, done: list[_Done], failed: list[_Failed]) -> None:
        """Store the group's PDFs, then record them with their hashes in one transaction."""
        if not done and not failed:
            return
        stored = [self._put(item) for item in done]
        now = self.worker.clock()
        self._hold_claim()
        existing = {
            row.person_id: row
            for row in self.session.scalars(
                sa.select(MailLetter).where(
                    MailLetter.batch_id == self.batch.id,
                    MailLetter.person_id.in_([i.entry.person_id for i in [*done, *failed]]),
                )
            )
        }
        for item, (sha256, size) in zip(done, stored, strict=True):
            self._row(
                existing,
                item.entry,
                now,
                state=LetterState.DONE,
                sha256=sha256,
                size_bytes=size,
                page_count=item.pages,
                reason="",
            )
        for item in failed:
            self._row(existing, item.entry, now, state=LetterState.FAILED, reason=item.reason)
        _mark_generated(self.session, [i.entry for i in done])
        self.chunk.heartbeat_at = self.batch.heartbeat_at = now
        self.session.commit()
        self._check_still_wanted()

    def _put(self, item: _Done) -> tuple[str | None, int]:
        if item.pdf is None:
            return None, 0
        try:
            stored = self.worker.store.put_bytes(item.pdf)
        except StorageError as error:
            raise _BatchFailed(
                f"Writing letter {self.code(item.entry)} to the file store "
                f"failed: {error} Letters from there on were not recorded; fix "
                "the store and resume."
            ) from error
        return stored.sha256, stored.size

    def _row(
        self, existing: dict[int | None, MailLetter], entry: Entry, now: datetime, **values: Any
    ) -> None:
        row = existing.get(entry.person_id)
        if row is None:
            row = MailLetter(
                batch_id=self.batch.id,
                person_id=entry.person_id,
                sequence=entry.sequence,
                letter_code=self.code(entry),
                route=entry.route,
                variant=entry.variant,
                attempts=0,
            )
            self.session.add(row)
        row.chunk_id, row.done_at, row.attempts = self.chunk.id, now, row.attempts + 1
        for name, value in values.items():
            setattr(row, name, value)

    def _hold_claim(self) -> None:
        # FOR UPDATE: a takeover (SKIP LOCKED) cannot claim the chunk while we write.
        token = self.session.scalar(
            sa.select(MailChunk.claim_token).where(MailChunk.id == self.chunk.id).with_for_update()
        )
        if token != self.token:
            raise _Stop

    def _check_still_wanted(self) -> None:
        status = self.session.scalar(
            sa.select(MailBatch.status).where(MailBatch.id == self.batch.id)
        )
        self.session.commit()
        if status not in _WORKABLE:
            raise _Stop


class _Done(NamedTuple):
    entry: Entry
    pdf: bytes | None  # None: an email notice
    pages: int


class _Failed(NamedTuple):
    entry: Entry
    reason: str


def letter_code(reference: str, batch_id: int, sequence: int) -> str:
    """The letter id printed on a letter and listed in the manifest."""
    return f"{reference}-M{batch_id}-{sequence:06d}"


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def render_all(
    template_name: str,
    common: dict[str, Any],
    items: Sequence[tuple[Entry, dict[str, Any]]],
    *,
    processes: int = 1,
) -> Iterator[tuple[Entry, bytes | None, str]]:
    """(entry, PDF or None, reason) per item, in order, through the fast batch path.

    letters.render_batch stops at the first recipient it refuses or cannot lay out; the group
    it was rendering is then redone letter by letter, so one bad name fails one letter.
    """
    start = 0
    while start < len(items):
        rest = items[start:]
        try:
            results = letters.render_batch(
                template_name, common, [r for _, r in rest], workers=processes, chunk_size=GROUP
            )
            for (entry, _), (_, pdf) in zip(rest, results, strict=False):
                start += 1
                yield entry, pdf, ""
        except RENDER_ERRORS:
            yield from _one_by_one(template_name, common, items[start : start + GROUP])
            start += GROUP


def _one_by_one(
    template_name: str, common: dict[str, Any], items: Sequence[tuple[Entry, dict[str, Any]]]
) -> Iterator[tuple[Entry, bytes | None, str]]:
    for entry, recipient in items:
        try:
            [(_, pdf)] = list(letters.render_batch(template_name, common, [recipient]))
        except RENDER_ERRORS as error:
            yield entry, None, f"The letter could not be laid out: {error}"
        else:
            yield entry, pdf, ""


def _mark_generated(session: Session, entries: list[Entry]) -> None:
    for route in Route:
        ids = [e.person_id for e in entries if e.route is route]
        if ids:
            session.execute(
                sa.update(RosterPerson)
                .where(RosterPerson.id.in_(ids), RosterPerson.notice_status == NoticeStatus.PENDING)
                .values(
                    notice_status=NoticeStatus.LETTER_GENERATED,
                    notice_method=NoticeMethod(route.value),
                )
                .execution_options(synchronize_session=False)
            )


def _finish_chunk(session: Session, batch: MailBatch, chunk: MailChunk, worker: Worker) -> None:
    """The chunk's print-ready PDF (its letters in order) and manifest, then DONE."""
    rows = list(
        session.scalars(
            sa.select(MailLetter)
            .where(
                MailLetter.chunk_id == chunk.id,
                MailLetter.state == LetterState.DONE,
                MailLetter.route == Route.MAIL,
            )
            .order_by(MailLetter.sequence)
        )
    )
    try:
        if rows:
            data, pages = combine(worker.store.read_verified(row.sha256 or "") for row in rows)
            chunk.print_sha256, chunk.print_pages = worker.store.put_bytes(data).sha256, pages
        chunk.manifest_sha256 = worker.store.put_bytes(
            manifest_csv(session, chunk.number, rows, worker.keyring)
        ).sha256
    except StorageError as error:
        raise _BatchFailed(
            f"The print file of chunk {chunk.number} could not be written: {error}"
        ) from error
    chunk.letters, chunk.status, chunk.finished_at = len(rows), ChunkStatus.DONE, worker.clock()
    chunk.claim_token = ""
    session.commit()


def manifest_csv(
    session: Session, number: int, rows: Sequence[MailLetter], keyring: KeyRing
) -> bytes:
    """The mail house's list for one chunk: who each letter goes to, nothing more. Cells are
    neutralised against formula injection."""
    people = {
        p.id: p
        for p in session.scalars(
            sa.select(RosterPerson).where(RosterPerson.id.in_([row.person_id for row in rows]))
        )
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MANIFEST_HEADER)
    for row in rows:
        name, lines = _printed_address(people.get(row.person_id or 0), row, keyring)
        cells = [
            row.letter_code,
            number,
            row.sequence,
            row.variant.value if row.variant else "",
            name,
            *(lines + ["", "", ""])[:3],
            row.page_count,
            row.sha256,
        ]
        writer.writerow([norm.neutralise_cell(cell) for cell in cells])
    return buffer.getvalue().encode("utf-8")


def _printed_address(
    person: RosterPerson | None, row: MailLetter, keyring: KeyRing
) -> tuple[str, list[str]]:
    if person is None or row.variant is None:
        return "(no longer on the roster)", []
    try:
        recipient = recipient_for(
            person, roster_people.decrypt(keyring, person), row.variant, row.letter_code
        )
    except Unprintable:
        return "(address changed since the letter was made)", []
    return recipient.addressee, recipient.context["address_lines"]


def _release(session: Session, chunk: MailChunk) -> None:
    session.execute(
        sa.update(MailChunk)
        .where(MailChunk.id == chunk.id, MailChunk.claim_token == chunk.claim_token)
        .values(status=ChunkStatus.PENDING, claim_token="")
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _fail(session: Session, batch_id: int, chunk: MailChunk, reason: str, now: datetime) -> None:
    """Stop the batch with the reason; the group being written is not recorded."""
    session.rollback()
    log.warning("mail batch %s failed: %s", batch_id, reason)
    batch = session.get_one(MailBatch, batch_id)
    if batch.status in _WORKABLE:
        batch.status, batch.message = BatchStatus.FAILED, reason
        audit.record(
            session,
            actor=None,
            actor_label="worker",
            at=now,
            action="mail_batch.failed",
            subject_type="mail_batch",
            subject_id=batch.id,
            incident_id=batch.incident_id,
            details={"reason": reason, "chunk": chunk.number},
        )
    session.commit()
    _release(session, chunk)


def finalise(session: Session, *, now: datetime) -> list[int]:
    """Mark batches whose chunks are all done as completed (any worker may finish the last
    chunk, so this runs on every tick). Commits."""
    unfinished = sa.select(MailChunk.id).where(
        MailChunk.batch_id == MailBatch.id, MailChunk.status != ChunkStatus.DONE
    )
    batches = list(
        session.scalars(
            sa.select(MailBatch).where(MailBatch.status.in_(_WORKABLE), ~unfinished.exists())
        )
    )
    for batch in batches:
        batch.status, batch.finished_at = BatchStatus.COMPLETED, now
        counts = letter_counts(session, batch.id)
        audit.record(
            session,
            actor=None,
            actor_label="worker",
            at=now,
            action="mail_batch.completed",
            subject_type="mail_batch",
            subject_id=batch.id,
            incident_id=batch.incident_id,
            details={"done": counts.done, "failed": counts.failed},
        )
    session.commit()
    return [batch.id for batch in batches]


# ---- pause, resume, cancel, retry -----------------------------------------------------------


def _batch(session: Session, incident_id: int, batch_id: int) -> MailBatch:
    batch = session.get(MailBatch, batch_id)
    if batch is None or batch.incident_id != incident_id:
        raise NotFound("No such mailing on this incident.")
    return batch


def _workable_batch(session: Session, actor: User, incident_id: int, batch_id: int) -> MailBatch:
    roster_access.get_workable(session, actor=actor, incident_id=incident_id)
    return _batch(session, incident_id, batch_id)


def _move(
    session: Session,
    batch: MailBatch,
    *,
    allowed: Sequence[BatchStatus],
    to: BatchStatus,
    doing: str,
    actor: User,
    now: datetime,
) -> None:
    if batch.status not in allowed:
        names = ", ".join(s.label.lower() for s in allowed)
        raise InvalidTransition(
            f"Only a mailing that is {names} can be {doing}; this one is "
            f"{batch.status.label.lower()}."
        )
    before = batch.status
    batch.status = to
    audit.record(
        session,
        actor=actor,
        action=f"mail_batch.{to.value}",
        at=now,
        subject_type="mail_batch",
        subject_id=batch.id,
        incident_id=batch.incident_id,
        details={"from": before.value},
    )


def pause(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> MailBatch:
    """Queued/running → paused; the worker stops after the group it is writing. Commits."""
    batch = _workable_batch(session, actor, incident_id, batch_id)
    _move(
        session,
        batch,
        allowed=_WORKABLE,
        to=BatchStatus.PAUSED,
        doing="paused",
        actor=actor,
        now=now,
    )
    session.commit()
    return batch


def resume(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> MailBatch:
    """Paused or failed → queued: the worker carries on where it stopped. Commits."""
    batch = _workable_batch(session, actor, incident_id, batch_id)
    _move(
        session,
        batch,
        allowed=(BatchStatus.PAUSED, BatchStatus.FAILED),
        to=BatchStatus.QUEUED,
        doing="resumed",
        actor=actor,
        now=now,
    )
    batch.message = ""
    session.commit()
    return batch


def cancel(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> MailBatch:
    """Stop for good. Print files already made stay; people whose letters are in a chunk
    that never got its print file are pending again (a later mailing includes them).
    Commits once."""
    batch = _workable_batch(session, actor, incident_id, batch_id)
    _move(
        session,
        batch,
        allowed=_OPEN,
        to=BatchStatus.CANCELLED,
        doing="cancelled",
        actor=actor,
        now=now,
    )
    batch.finished_at = now
    unprinted = (
        sa.select(MailLetter.person_id)
        .join(MailChunk, MailChunk.id == MailLetter.chunk_id)
        .where(
            MailLetter.batch_id == batch.id,
            MailLetter.route == Route.MAIL,
            MailLetter.state == LetterState.DONE,
            MailChunk.status != ChunkStatus.DONE,
        )
    )
    session.execute(
        sa.update(RosterPerson)
        .where(
            RosterPerson.id.in_(unprinted.scalar_subquery()),
            RosterPerson.notice_status == NoticeStatus.LETTER_GENERATED,
        )
        .values(notice_status=NoticeStatus.PENDING, notice_method=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return batch


def retry(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    batch_id: int,
    letter_id: int | None = None,
) -> int:
    """Queue failed letters (one, or all) again in a new chunk with its own print file, so a
    print file already sent to the mail house never changes. Returns how many. Commits."""
    batch = _workable_batch(session, actor, incident_id, batch_id)
    if batch.status is BatchStatus.CANCELLED:
        raise InvalidTransition("This mailing was cancelled; start a new one instead.")
    query = sa.select(MailLetter).where(
        MailLetter.batch_id == batch.id, MailLetter.state == LetterState.FAILED
    )
    if letter_id is not None:
        query = query.where(MailLetter.id == letter_id)
    rows = list(session.scalars(query.order_by(MailLetter.sequence)))
    if not rows:
        raise NotFound("No failed letter to retry.")
    number = (
        session.scalar(
            sa.select(sa.func.max(MailChunk.number)).where(MailChunk.batch_id == batch.id)
        )
        or 0
    ) + 1
    chunk = MailChunk(
        batch_id=batch.id,
        number=number,
        first_sequence=rows[0].sequence,
        people=[
            [r.sequence, r.person_id, r.route.value, r.variant.value if r.variant else ""]
            for r in rows
        ],
    )
    session.add(chunk)
    session.flush()
    for row in rows:
        row.state, row.chunk_id = LetterState.RETRY, chunk.id
    if batch.status in (BatchStatus.COMPLETED, BatchStatus.FAILED):
        batch.status, batch.finished_at, batch.message = BatchStatus.QUEUED, None, ""
    audit.record(
        session,
        actor=actor,
        action="mail_batch.retry",
        at=now,
        subject_type="mail_batch",
        subject_id=batch.id,
        incident_id=incident_id,
        details={"letters": [r.letter_code for r in rows], "chunk": number},
    )
    session.commit()
    return len(rows)


# ---- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    done: int
    failed: int
    retry: int
    emailed: int


def letter_counts(session: Session, batch_id: int) -> Counts:
    rows = session.execute(
        sa.select(MailLetter.state, MailLetter.route, sa.func.count())
        .where(MailLetter.batch_id == batch_id)
        .group_by(MailLetter.state, MailLetter.route)
    ).all()
    by = {(state, route): n for state, route, n in rows}
    return Counts(
        done=sum(n for (state, _), n in by.items() if state is LetterState.DONE),
        failed=sum(n for (state, _), n in by.items() if state is LetterState.FAILED),
        retry=sum(n for (state, _), n in by.items() if state is LetterState.RETRY),
        emailed=by.get((LetterState.DONE, Route.EMAIL), 0),
    )


def progress_of(session: Session, batch: MailBatch, now: datetime) -> dict[str, Any]:
    """Done, failed, rate (letters/s over the last two minutes, all workers) and ETA."""
    counts = letter_counts(session, batch.id)
    total = batch.mail_count + batch.email_count
    recent, first, last = session.execute(
        sa.select(
            sa.func.count(), sa.func.min(MailLetter.done_at), sa.func.max(MailLetter.done_at)
        ).where(MailLetter.batch_id == batch.id, MailLetter.done_at >= now - RATE_WINDOW)
    ).one()
    span = (last - first).total_seconds() if recent > 1 and first and last else 0.0
    rate = recent / span if span > 0 else 0.0
    left = max(total - counts.done - counts.failed, 0)
    active = batch.status in _WORKABLE
    return {
        "status": batch.status.value,
        "status_label": batch.status.label,
        "total": total,
        "done": counts.done,
        "failed": counts.failed,
        "left": left,
        "emailed": counts.emailed,
        "percent": round(100 * (counts.done + counts.failed) / total, 1) if total else 100.0,
        "rate": round(rate, 1) if active else 0.0,
        "eta_seconds": round(left / rate) if active and rate > 0 and left else None,
        "message": batch.message,
        "active": active,
    }


def progress(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> dict[str, Any]:
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    return progress_of(session, _batch(session, incident_id, batch_id), now)


@dataclass(frozen=True)
class BatchPage:
    incident: Incident
    batch: MailBatch
    chunks: list[MailChunk]
    failed: list[MailLetter]
    failed_total: int
    progress: dict[str, Any]
    started_by: User
    may_change: bool


def batch_page(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> BatchPage:
    """The batch with chunks, failed letters (by letter id and reason: no PHI on the page)."""
    incident = roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    batch = _batch(session, incident_id, batch_id)
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
    )


def download(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    batch_id: int,
    what: str,
    store: FileStore,
    chunk_number: int | None = None,
) -> tuple[str, bytes]:
    """(file name, bytes) of the proof ("proof"), a chunk's print file ("print") or manifest
    ("manifest"), or the whole batch's manifest ("manifest" without a chunk). Verified against
    the SHA-256; audited (commits). These files hold PHI: the roster's readers only."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    batch = _batch(session, incident_id, batch_id)
    name = f"mailing-{batch.id}"
    if what == "manifest" and chunk_number is None:
        data = _batch_manifest(session, batch, store)
        name += "-manifest.csv"
    else:
        sha256, name = _file_of(session, batch, what, chunk_number, name)
        data = _read(store, sha256)
    audit.record(
        session,
        actor=actor,
        action="mail_batch.downloaded",
        at=now,
        subject_type="mail_batch",
        subject_id=batch.id,
        incident_id=incident_id,
        details={"file": what, "chunk": chunk_number, "name": name},
    )
    session.commit()
    return name, data


def _file_of(
    session: Session, batch: MailBatch, what: str, number: int | None, name: str
) -> tuple[str, str]:
    if what == "proof":
        if batch.proof_sha256 is None:
            raise NotFound("This mailing has no proof (nobody gets a printed letter).")
        return batch.proof_sha256, f"{name}-proof.pdf"
    chunk = session.scalar(
        sa.select(MailChunk).where(MailChunk.batch_id == batch.id, MailChunk.number == number)
    )
    if chunk is None or what not in ("print", "manifest"):
        raise NotFound("No such file in this mailing.")
    sha256 = chunk.print_sha256 if what == "print" else chunk.manifest_sha256
    if sha256 is None:
        raise NotFound("That file is made when the chunk is finished.")
    suffix = "print.pdf" if what == "print" else "manifest.csv"
    return sha256, f"{name}-chunk-{chunk.number:03d}-{suffix}"


def _read(store: FileStore, sha256: str) -> bytes:
    try:
        return store.read_verified(sha256)
    except StorageError as error:
        raise letter_workflow.LetterIntegrityFailed(
            f"The stored file failed its check and is not handed out: {error}"
        ) from error


def _batch_manifest(session: Session, batch: MailBatch, store: FileStore) -> bytes:
    """Every finished chunk's manifest, one header."""
    out = [",".join(MANIFEST_HEADER).encode() + b"\r\n"]
    for sha256 in session.scalars(
        sa.select(MailChunk.manifest_sha256)
        .where(MailChunk.batch_id == batch.id, MailChunk.manifest_sha256.is_not(None))
        .order_by(MailChunk.number)
    ):
        out.append(_read(store, sha256 or "").split(b"\r\n", 1)[1])
    return b"".join(out)
