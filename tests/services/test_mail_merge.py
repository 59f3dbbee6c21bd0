"""Mail merge: a batch starts only from approved letters, every person gets their own letter
(or email, or substitute notice), resumable and never twice; real PDFs read back with pypdf."""

from __future__ import annotations

import csv
import errno
import hashlib
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app import storage
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.letters import pdf_text
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import Incident
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import ChunkStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Variant
from incident_app.models.notification import EmailMessage
from incident_app.models.roster import NoticeStatus
from incident_app.models.user import Role
from incident_app.services.letters import workflow as lw
from incident_app.services.mail_merge import core as mail_merge
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders import notifications
from incident_app.storage import FileStore
from tests.factories import make_user
from tests.mail_merge_helpers import LATER
from tests.mail_merge_helpers import adult
from tests.mail_merge_helpers import approve
from tests.mail_merge_helpers import case_with_roster
from tests.mail_merge_helpers import roster_people
from tests.mail_merge_helpers import start
from tests.mail_merge_helpers import team
from tests.mail_merge_helpers import worker
from tests.roster_helpers import person

NOK = ("Maria Lopez", "9 Oak Ave", "Troy", "NY", "12180")


@pytest.fixture
def people(session):
    return team(session)


def _letters(session, batch):
    return list(
        session.scalars(
            sa.select(MailLetter)
            .where(MailLetter.batch_id == batch.id)
            .order_by(MailLetter.sequence)
        )
    )


def _pdf(row):
    return app_store.read_verified(row.sha256)


def _actions(session, incident_id):
    return list(
        session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.incident_id == incident_id, AuditEvent.action.like("mail_batch.%"))
            .order_by(AuditEvent.seq)
        )
    )


# ---- starting -------------------------------------------------------------------------------


def test_a_batch_cannot_start_without_an_approved_letter_and_nothing_is_written(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    with pytest.raises(InvalidTransition, match="not generated yet"):
        start(session, people, incident)
    assert session.scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0
    assert roster_people(session, incident)["Ana"].notice_status is NoticeStatus.PENDING


def test_a_letter_in_review_is_not_approved(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    ob = lw.letter_context.incident_obligations(session, incident.id)
    individual = next(o for o in ob if o.kind == "individual_notice")
    letter = lw.generate(
        session,
        actor=people.officer,
        now=LATER,
        incident_id=incident.id,
        request=lw.LetterRequest(individual.id, "individual_adult.html"),
    )
    lw.submit_for_review(
        session, actor=people.officer, now=LATER, incident_id=incident.id, letter_id=letter.id
    )
    with pytest.raises(InvalidTransition, match="in legal review, not approved by legal"):
        start(session, people, incident)


def test_a_voided_approval_is_refused_naming_what_changed(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    approve(session, people, incident)
    lw.save_wording(
        session,
        actor=people.officer,
        now=LATER,
        incident_id=incident.id,
        values={
            "what_happened": "A different story.",
            "phi_types": "Name",
            "steps_for_individuals": "Call us.",
            "what_we_are_doing": "Fixing.",
        },
    )
    with pytest.raises(
        InvalidTransition, match="approval is void. The case data this letter prints changed"
    ):
        start(session, people, incident)
    assert session.scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0


def test_a_variant_someone_needs_must_be_approved_too(session, people):
    incident = case_with_roster(
        session, people, adult("Ana"), adult("Kid", minor="Y", dob="2015-01-02")
    )
    approve(session, people, incident)
    with pytest.raises(InvalidTransition) as raised:
        start(session, people, incident)
    assert (
        "(1 recipient need it) Individual notice to a parent or guardian — sample: not "
        "generated yet"
    ) in str(raised.value)


def test_nobody_waiting_is_a_clear_refusal(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    approve(session, people, incident)
    batch = start(session, people, incident)
    mail_merge.work(session, worker=worker())
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
    with pytest.raises(ValidationFailed, match="Nobody on the roster is waiting"):
        start(session, people, incident)


def test_only_one_open_batch_per_incident(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    approve(session, people, incident)
    start(session, people, incident)
    with pytest.raises(InvalidTransition, match="still open"):
        start(session, people, incident)


def test_auditors_cannot_start_and_strangers_do_not_see_the_incident(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    approve(session, people, incident)
    auditor, stranger = (
        make_user(session, role=Role.AUDITOR),
        make_user(session, role=Role.RESPONDER),
    )
    for actor, error in ((auditor, NotAllowed), (stranger, NotFound)):
        with pytest.raises(error):
            mail_merge.start_batch(
                session,
                actor=actor,
                now=LATER,
                incident_id=incident.id,
                keyring=app_store.current_keyring(),
                store=app_store.current_store(),
            )


# ---- a whole batch --------------------------------------------------------------------------


def test_everyone_gets_their_own_letter_in_the_right_variant(session, people):
    org = get_organisation(session)
    org.email_notice_enabled = True
    session.commit()
    incident = case_with_roster(
        session,
        people,
        adult("Ana", "García"),
        adult("Luis", "Ortega", language="Spanish"),
        adult("Kid", "Nguyen", minor="Y", dob="2015-01-02"),
        adult("Old", "Baker", deceased="Y", nok=NOK),
        adult("Lost", "Baker", deceased="Y"),
        adult("Nowhere", "Smith", line1="", city=""),
        adult("Mail", "Me", email="mail.me@example.org", consent="Y"),
    )
    approve(
        session,
        people,
        incident,
        "individual_adult.html",
        "individual_es.html",
        "individual_minor.html",
        "individual_deceased.html",
    )

    batch = start(session, people, incident)

    assert (
        batch.mail_count,
        batch.email_count,
        batch.substitute_count,
        batch.no_contact_count,
    ) == (4, 1, 1, 1)
    assert sorted(batch.variants) == ["adult", "deceased", "minor", "spanish"]
    assert (
        batch.template_version and batch.sample_sha256 and batch.started_by_id == people.officer.id
    )
    by_name = roster_people(session, incident)
    assert by_name["Nowhere"].notice_status is NoticeStatus.UNREACHABLE
    assert session.get(Incident, incident.id).insufficient_contact_living == 1
    proof = PdfReader(io.BytesIO(app_store.read_verified(batch.proof_sha256)))
    proof_text = "\n".join(page.extract_text() for page in proof.pages)
    assert "Ana García" in proof_text and "Luis Ortega" in proof_text
    assert "Parent or Guardian of Kid Nguyen" in proof_text  # three distinct variants
    assert "Sample Recipient" not in proof_text

    assert mail_merge.work(session, worker=worker()) == 1
    session.refresh(batch)
    assert batch.status is BatchStatus.COMPLETED

    rows = {r.letter_code: r for r in _letters(session, batch)}
    assert len(rows) == 5 and all(r.state is LetterState.DONE for r in rows.values())
    texts = {r.variant: pdf_text(_pdf(r)) for r in rows.values() if r.sha256}
    assert "Dear Ana García:" in texts[Variant.ADULT]
    assert "Estimado/a Luis Ortega:" in texts[Variant.SPANISH]
    assert "Dear Parent or Guardian of Kid Nguyen:" in texts[Variant.MINOR]
    assert "Maria Lopez" in texts[Variant.DECEASED] and "Old Baker" in texts[Variant.DECEASED]
    assert "9 Oak Ave" in texts[Variant.DECEASED]
    for row in rows.values():
        if row.sha256:
            assert hashlib.sha256(_pdf(row)).hexdigest() == row.sha256
            assert row.letter_code in pdf_text(_pdf(row))

    session.expire_all()
    by_name = roster_people(session, incident)
    assert {name: p.notice_status.value for name, p in by_name.items()} == {
        "Ana": "letter_generated",
        "Luis": "letter_generated",
        "Kid": "letter_generated",
        "Old": "letter_generated",
        "Mail": "letter_generated",
        "Lost": "pending",
        "Nowhere": "unreachable",
    }

    email = session.scalars(sa.select(EmailMessage)).one()
    assert email.to_address == "mail.me@example.org"
    assert "Riverbend Community Health" in email.subject
    assert email.body.startswith(notifications.SEALED_PREFIX)  # PHI encrypted at rest
    assert "billing team" not in email.body
    body = notifications.open_body(app_store.current_keyring(), email.body)
    assert "a laptop used by our billing team was stolen" in body
    assert "100 Sample Street" not in body and "Letter ID: " in body

    chunk = session.scalars(sa.select(MailChunk).where(MailChunk.batch_id == batch.id)).one()
    printed = PdfReader(io.BytesIO(app_store.read_verified(chunk.print_sha256)))
    assert chunk.letters == 4
    assert (
        len(printed.pages)
        == chunk.print_pages
        == sum(r.page_count for r in rows.values() if r.sha256)
    )
    manifest = list(
        csv.DictReader(io.StringIO(app_store.read_verified(chunk.manifest_sha256).decode()))
    )
    assert [m["variant"] for m in manifest] == ["adult", "spanish", "minor", "deceased"]
    first = manifest[0]
    assert (first["recipient_name"], first["address_line_1"], first["address_line_2"]) == (
        "Ana García",
        "12 Elm St",
        "Albany, NY 12207",
    )
    assert first["sha256"] == rows[first["letter_id"]].sha256
    assert manifest[2]["recipient_name"] == "Parent or Guardian of Kid Nguyen"
    assert manifest[3]["recipient_name"] == "Maria Lopez"
    assert set(manifest[0]) == set(mail_merge.MANIFEST_HEADER)  # no dates of birth, no emails
    assert _actions(session, incident.id) == ["mail_batch.started", "mail_batch.completed"]


def test_names_that_stress_the_layout_still_print_or_fail_alone(session, people):
    long_name = "Bartholomew-Alexander " + "Q" * 78  # 100 characters
    assert len(long_name) == 100
    incident = case_with_roster(
        session,
        people,
        adult("Ana"),
        person("L1", long_name, "", dob="1970-01-01"),
        person("R1", "مريم", "الحسيني", dob="1970-01-01"),
        person("E1", "Zoë 😀", "O'Brien", dob="1970-01-01"),
        person("F1", '=HYPERLINK("http://x")', "Evil", dob="1970-01-01"),
        person("T1", "T" * 130, "", dob="1970-01-01"),
    )
    approve(session, people, incident)
    batch = start(session, people, incident)
    mail_merge.work(session, worker=worker())

    rows = _letters(session, batch)
    assert [r.state for r in rows].count(LetterState.DONE) == 5
    failed = [r for r in rows if r.state is LetterState.FAILED]
    assert len(failed) == 1
    assert failed[0].reason == ("The name has 130 characters; at most 120 fit the envelope window.")
    texts = {r.sequence: pdf_text(_pdf(r)) for r in rows if r.sha256}
    # The 100-character name wraps inside the window and the salutation but is all there.
    assert "".join(long_name.split()) + ":" in "".join(texts[2].split())
    assert "Dear مريم الحسيني:" in texts[3]  # right-to-left text kept as written
    assert "Dear Zoë \ufffd O'Brien:" in texts[4]  # the emoji: one replacement mark
    for row in rows:
        if row.sha256:
            assert len(PdfReader(io.BytesIO(_pdf(row))).pages) == row.page_count
    session.refresh(batch)
    assert batch.status is BatchStatus.COMPLETED
    chunk = session.scalars(sa.select(MailChunk).where(MailChunk.batch_id == batch.id)).one()
    manifest = app_store.read_verified(chunk.manifest_sha256).decode()
    assert "'=HYPERLINK" in manifest and ",=HYPERLINK" not in manifest


def test_a_failed_letter_is_retried_in_its_own_chunk_and_print_file(session, people):
    incident = case_with_roster(
        session, people, adult("Ana"), person("T1", "T" * 130, "", dob="1970-01-01")
    )
    approve(session, people, incident)
    batch = start(session, people, incident)
    mail_merge.work(session, worker=worker())
    failed = session.scalars(
        sa.select(MailLetter).where(MailLetter.state == LetterState.FAILED)
    ).one()
    first_print = session.scalars(sa.select(MailChunk.print_sha256)).one()

    # The roster team corrects the name (re-encrypted in place, as a correction would be).
    keyring = app_store.current_keyring()
    target = roster_people(session, incident)["T" * 130]
    from incident_app.services.roster import rows as roster_rows

    target.phi = keyring.encrypt_json(
        {
            "fn": "Tamsin",
            "ln": "Hale",
            "a1": "12 Elm St",
            "city": "Albany",
            "st": "NY",
            "zip": "12207",
        },
        roster_rows.phi_aad(target.incident_id, target.import_id, target.row_number),
    )
    session.commit()

    assert (
        mail_merge.retry(
            session,
            actor=people.officer,
            now=LATER,
            incident_id=incident.id,
            batch_id=batch.id,
            letter_id=failed.id,
        )
        == 1
    )
    assert session.get(MailBatch, batch.id).status is BatchStatus.QUEUED
    mail_merge.work(session, worker=worker())

    session.refresh(failed)
    assert failed.state is LetterState.DONE and failed.attempts == 2
    assert "Dear Tamsin Hale:" in pdf_text(_pdf(failed))
    chunks = list(session.scalars(sa.select(MailChunk).order_by(MailChunk.number)))
    assert [c.number for c in chunks] == [1, 2] and chunks[0].print_sha256 == first_print
    assert chunks[1].letters == 1 and failed.chunk_id == chunks[1].id
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
    with pytest.raises(NotFound, match="No failed letter"):
        mail_merge.retry(
            session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
        )


# ---- pause, cancel, resume ------------------------------------------------------------------


def test_pause_stops_after_the_chunk_and_resume_carries_on_without_repeats(session, people):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(5)))
    approve(session, people, incident)
    batch = start(session, people, incident, chunk_size=2)
    assert mail_merge.work(session, worker=worker(), max_chunks=1) == 1
    mail_merge.pause(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    assert mail_merge.work(session, worker=worker()) == 0
    assert len(_letters(session, batch)) == 2
    with pytest.raises(InvalidTransition, match="Only a mailing that is queued, running"):
        mail_merge.pause(
            session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
        )

    mail_merge.resume(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    assert mail_merge.work(session, worker=worker()) == 2
    rows = _letters(session, batch)
    assert [r.sequence for r in rows] == [1, 2, 3, 4, 5]
    assert all(r.attempts == 1 for r in rows)
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
    assert _actions(session, incident.id) == [
        "mail_batch.started",
        "mail_batch.paused",
        "mail_batch.queued",
        "mail_batch.completed",
    ]


def test_cancel_keeps_printed_chunks_and_frees_the_rest(session, people):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(5)))
    approve(session, people, incident)
    batch = start(session, people, incident, chunk_size=2)
    mail_merge.work(session, worker=worker(), max_chunks=1)
    mail_merge.cancel(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    assert mail_merge.work(session, worker=worker()) == 0
    statuses = sorted(p.notice_status.value for p in roster_people(session, incident).values())
    assert statuses == ["letter_generated"] * 2 + ["pending"] * 3
    # The remaining people can go out in a new mailing.
    second = start(session, people, incident)
    assert second.mail_count == 3


def test_a_voided_approval_stops_a_running_batch(session, people):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    [letter] = approve(session, people, incident)
    batch = start(session, people, incident)
    # A re-render after the batch started voids the approval it started from.
    lw.generate(
        session,
        actor=people.officer,
        now=LATER,
        incident_id=incident.id,
        request=lw.LetterRequest(letter.obligation_id, "individual_adult.html"),
    )
    mail_merge.work(session, worker=worker())
    session.refresh(batch)
    assert batch.status is BatchStatus.FAILED
    assert "approved letter changed after this mailing started" in batch.message
    assert _letters(session, batch) == []


# ---- disk full ------------------------------------------------------------------------------


class DiskFillsUp(FileStore):
    """A store on a disk that has room for `room` more files, then says ENOSPC."""

    def __init__(self, base: FileStore, room: int) -> None:
        super().__init__(base.root, base.keyring)
        self.room = room

    def put_bytes(self, data: bytes) -> storage.StoredFile:
        if self.room <= 0:
            raise storage._storage_error(
                self.root, OSError(errno.ENOSPC, "No space left on device")
            )
        self.room -= 1
        return super().put_bytes(data)


def test_disk_full_fails_the_batch_with_the_reason_and_marks_nothing(session, people):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(3)))
    approve(session, people, incident)
    batch = start(session, people, incident)
    full = DiskFillsUp(app_store.current_store(), room=0)

    assert mail_merge.work(session, worker=worker(store=full)) == 0

    session.refresh(batch)
    assert batch.status is BatchStatus.FAILED
    assert "to the file store failed" in batch.message and "space" in batch.message.lower()
    assert _letters(session, batch) == []
    assert {p.notice_status for p in roster_people(session, incident).values()} == {
        NoticeStatus.PENDING
    }
    assert session.scalars(sa.select(MailChunk.status)).one() is ChunkStatus.PENDING
    assert _actions(session, incident.id)[-1] == "mail_batch.failed"

    mail_merge.resume(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    mail_merge.work(session, worker=worker())
    assert [r.state for r in _letters(session, batch)] == [LetterState.DONE] * 3
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
