"""Rendering one claimed chunk: its email notices and letters in groups of GROUP, each group's
PDFs stored first and then recorded with their hashes in one transaction (a `MailLetter` row
per batch and person, unique), so a killed worker resumes where it stopped and never writes a
letter twice. Between groups the claim and the batch status are re-checked.

With an identity-protection offer (issue 23) each person's enrollment code is assigned before
their letter is rendered, in a transaction that first re-checks the claim
(services/enrolment/assignment.py): per person and idempotent, so a resumed, retried or
taken-over chunk prints the code the person already has."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime
from typing import Any
from typing import NamedTuple
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.crypto import KeyRing
from incident_app.models.incident import Incident
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Route
from incident_app.models.mail_batch import Variant
from incident_app.models.notification import EmailMessage
from incident_app.models.roster import NoticeMethod
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.services.enrolment import assignment as codes
from incident_app.services.mail_merge.batches import WORKABLE
from incident_app.services.mail_merge.pdfs import GROUP
from incident_app.services.mail_merge.pdfs import render_all
from incident_app.services.mail_merge.planning import Entry
from incident_app.services.mail_merge.planning import letter_code
from incident_app.services.mail_merge.recipients import Unprintable
from incident_app.services.mail_merge.recipients import email_notice
from incident_app.services.mail_merge.recipients import full_name
from incident_app.services.mail_merge.recipients import recipient_for
from incident_app.services.reminders import notifications
from incident_app.services.roster import people as roster_people
from incident_app.storage import FileStore
from incident_app.storage import StorageError


class StopChunk(Exception):
    """The batch was paused or cancelled, or another worker took the chunk over."""


class BatchFailed(Exception):
    """Nothing more can be rendered until a person fixes the cause (the message)."""


class _Done(NamedTuple):
    entry: Entry
    pdf: bytes | None  # None: an email notice
    pages: int
    parts: letters.LetterParts | None = None  # what the PDF was written from, if at hand


class _Failed(NamedTuple):
    entry: Entry
    reason: str


class ChunkRun:
    """One claimed chunk being rendered: groups of GROUP letters, one transaction each.
    Raises StopChunk when the claim or the batch is gone, BatchFailed when the store fails."""

    def __init__(
        self,
        session: Session,
        batch: MailBatch,
        chunk: MailChunk,
        contexts: dict[Variant, dict[str, Any]],
        *,
        keyring: KeyRing,
        store: FileStore,
        clock: Callable[[], datetime],
        processes: int,
        template_versions: dict[Variant, str] | None = None,
        snapshots: dict[Variant, letters.TemplateSnapshot] | None = None,
    ) -> None:
        self.session, self.batch, self.chunk = session, batch, chunk
        self.contexts = contexts
        # The approved template files each variant is rendered from (snapshots.py): edits on
        # disk do not reach them. A variant without one (a batch started before snapshots)
        # renders from disk and has its approved template version here: a group rendered
        # after a template changed on disk (the renderer reloads edited templates) is never
        # recorded.
        self.snapshots = snapshots or {}
        self.template_versions = template_versions or {}
        self.keyring, self.store, self.clock, self.processes = keyring, store, clock, processes
        self.reference = session.get_one(Incident, batch.incident_id).reference
        self.token = chunk.claim_token
        # The letters this run recorded: person -> (stored SHA-256, the parts it was written
        # from). The chunk's print file is built from these instead of parsing each letter
        # again; a letter recorded by an earlier run is read back from the store.
        self.written: dict[int, tuple[str, letters.LetterParts]] = {}

    def code(self, entry: Entry) -> str:
        return letter_code(self.reference, self.batch.id, entry.sequence)

    def people(self, entries: Sequence[Entry]) -> dict[int, tuple[RosterPerson, dict[str, Any]]]:
        found = self.session.scalars(
            sa.select(RosterPerson).where(RosterPerson.id.in_([e.person_id for e in entries]))
        )
        return {p.id: (p, roster_people.decrypt(self.keyring, p)) for p in found}

    def enrollment_codes(self, variant: Variant, entries: Sequence[Entry]) -> dict[int, str]:
        """The people's enrollment codes, assigned now where missing, in one transaction
        that first re-checks the claim; commits. {} when the letter offers none."""
        if "identity_protection" not in self.contexts[variant] or not entries:
            self.session.commit()
            return {}
        self._hold_claim()
        try:
            found = codes.codes_for(
                self.session,
                incident_id=self.batch.incident_id,
                wanted=[codes.Wanted(e.person_id, self.code(e)) for e in entries],
                keyring=self.keyring,
                now=self.clock(),
            )
        except codes.PoolEmpty as error:
            raise BatchFailed(str(error)) from error
        self.session.commit()
        return found

    def emails(self, entries: list[Entry]) -> None:
        for index in range(0, len(entries), GROUP):
            group = entries[index : index + GROUP]
            people = self.people(group)
            # Ends the read; no transaction stays open while composing.
            enrollment = self._codes_by_variant(group, people)
            outcomes = [
                self._email(entry, people.get(entry.person_id), enrollment.get(entry.person_id))
                for entry in group
            ]
            self._write(
                [o for o in outcomes if isinstance(o, _Done)],
                [o for o in outcomes if isinstance(o, _Failed)],
            )

    def _codes_by_variant(
        self, group: Sequence[Entry], people: dict[int, tuple[RosterPerson, dict[str, Any]]]
    ) -> dict[int, str]:
        found: dict[int, str] = {}
        for variant in {e.variant for e in group if e.variant is not None}:
            found |= self.enrollment_codes(
                variant, [e for e in group if e.variant is variant and e.person_id in people]
            )
        self.session.commit()
        return found

    def _email(
        self, entry: Entry, found: tuple[RosterPerson, dict[str, Any]] | None, code: str | None
    ) -> _Done | _Failed:
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
            enrollment_code=code,
            snapshot=self.snapshots.get(entry.variant),
        )
        # The notice names the person: the outbox keeps it encrypted until delivery.
        sealed = notifications.seal_body(self.keyring, body)
        self.session.add(
            EmailMessage(
                to_address=email,
                subject=subject,
                body=sealed,
                created_at=self.clock(),
                next_attempt_at=self.clock(),
            )
        )
        return _Done(entry, None, 0)

    def letters(self, variant: Variant, entries: list[Entry]) -> None:
        if not entries:
            return
        people = self.people(entries)
        # Ends the read: rendering (seconds per group) runs with no transaction open, and each
        # group's write below is a short transaction of its own (issue 18).
        enrollment = self.enrollment_codes(variant, [e for e in entries if e.person_id in people])
        prepared: list[tuple[Entry, letters.RecipientContext]] = []
        done: list[_Done] = []
        failed: list[_Failed] = []
        for entry in entries:
            try:
                found = people.get(entry.person_id)
                if found is None:
                    raise Unprintable("This person is no longer on the roster.")
                context = recipient_for(*found, variant, self.code(entry)).context
                if entry.person_id in enrollment:
                    context["enrollment_code"] = enrollment[entry.person_id]
                prepared.append((entry, context))
            except Unprintable as error:
                failed.append(_Failed(entry, str(error)))
        rendered = render_all(
            variant.template_name,
            self.contexts[variant],
            prepared,
            processes=self.processes,
            snapshot=self.snapshots.get(variant),
        )
        with closing(rendered):  # a pause mid-way shuts the render pool down at once
            for result in rendered:
                if result.pdf is None:
                    failed.append(_Failed(result.entry, result.reason))
                else:
                    done.append(_Done(result.entry, result.pdf, result.pages, result.parts))
                if len(done) + len(failed) >= GROUP:
                    self._write(done, failed, variant)
                    done, failed = [], []
        self._write(done, failed, variant)

    def _write(
        self, done: list[_Done], failed: list[_Failed], variant: Variant | None = None
    ) -> None:
        """Store the group's PDFs, then record them with their hashes in one transaction."""
        if not done and not failed:
            return
        stored = self._store(done)
        if variant is not None:
            self._check_template(variant)
        group: list[_Done | _Failed] = [*done, *failed]
        now = self.clock()
        self._hold_claim()
        existing = {
            row.person_id: row
            for row in self.session.scalars(
                sa.select(MailLetter).where(
                    MailLetter.batch_id == self.batch.id,
                    MailLetter.person_id.in_([i.entry.person_id for i in group]),
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
        for failure in failed:
            self._row(existing, failure.entry, now, state=LetterState.FAILED, reason=failure.reason)
        _mark_generated(self.session, [i.entry for i in done])
        self.chunk.heartbeat_at = self.batch.heartbeat_at = now
        self.session.commit()
        for item, (sha256, _) in zip(done, stored, strict=True):
            if item.parts is not None and sha256 is not None:
                self.written[item.entry.person_id] = (sha256, item.parts)
        self._check_still_wanted()

    def _store(self, done: list[_Done]) -> list[tuple[str | None, int]]:
        """Store the group's PDFs (one flush of the disk for the group: FileStore.put_many);
        (SHA-256, size) per item, (None, 0) for an email notice."""
        pdfs = [item for item in done if item.pdf is not None]
        try:
            files = iter(self.store.put_many([cast(bytes, item.pdf) for item in pdfs]))
        except StorageError as error:
            first, last = self.code(pdfs[0].entry), self.code(pdfs[-1].entry)
            raise BatchFailed(
                f"Writing letters {first} to {last} to the file store failed: {error} "
                "Letters from there on were not recorded; fix the store and resume."
            ) from error
        stored: list[tuple[str | None, int]] = []
        for item in done:
            file = next(files) if item.pdf is not None else None
            stored.append((file.sha256, file.size) if file is not None else (None, 0))
        return stored

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

    def _check_template(self, variant: Variant) -> None:
        """A variant rendered from disk (no snapshot), after the group is rendered and before
        it is recorded: the template on disk is still the approved version, so no letter
        printed from another version is recorded."""
        approved = self.template_versions.get(variant)
        if approved is not None and letters.template_version(variant.template_name) != approved:
            raise BatchFailed(
                "The letter template changed while this mailing ran, so the letters rendered "
                "since then were not recorded and nothing more is rendered. Have the letter "
                "approved again, cancel this mailing and start a new one."
            )

    def _hold_claim(self) -> None:
        # FOR UPDATE: a takeover (SKIP LOCKED) cannot claim the chunk while we write.
        token = self.session.scalar(
            sa.select(MailChunk.claim_token).where(MailChunk.id == self.chunk.id).with_for_update()
        )
        if token != self.token:
            raise StopChunk

    def _check_still_wanted(self) -> None:
        status = self.session.scalar(
            sa.select(MailBatch.status).where(MailBatch.id == self.batch.id)
        )
        self.session.commit()
        if status not in WORKABLE:
            raise StopChunk


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
