"""The worker: every person gets their own letter (or email, or substitute notice), in the
right variant, with a proof, a print file and a manifest per chunk; one bad name fails one
letter; a voided approval or a full disk stops the batch. Real PDFs read back with pypdf."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
from collections.abc import Sequence

import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app import storage
from incident_app.letters import pdf_text
from incident_app.models.incident import Incident
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import ChunkStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import Variant
from incident_app.models.notification import EmailMessage
from incident_app.models.roster import NoticeStatus
from incident_app.services.letters import generation
from incident_app.services.mail_merge import batches
from incident_app.services.mail_merge import worker as mail_worker
from incident_app.services.mail_merge.manifests import MANIFEST_HEADER
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders import notifications
from incident_app.storage import FileStore
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import batch_actions
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import letter_pdf
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import worker
from tests.support.roster_helpers import person

NOK = ("Maria Lopez", "9 Oak Ave", "Troy", "NY", "12180")


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

    assert mail_worker.work(session, worker=worker()) == 1
    session.refresh(batch)
    assert batch.status is BatchStatus.COMPLETED

    rows = {r.letter_code: r for r in batch_letters(session, batch)}
    assert len(rows) == 5 and all(r.state is LetterState.DONE for r in rows.values())
    texts = {r.variant: pdf_text(letter_pdf(r)) for r in rows.values() if r.sha256}
    assert "Dear Ana García:" in texts[Variant.ADULT]
    assert "Estimado/a Luis Ortega:" in texts[Variant.SPANISH]
    assert "Dear Parent or Guardian of Kid Nguyen:" in texts[Variant.MINOR]
    assert "Maria Lopez" in texts[Variant.DECEASED] and "Old Baker" in texts[Variant.DECEASED]
    assert "9 Oak Ave" in texts[Variant.DECEASED]
    for row in rows.values():
        if row.sha256:
            assert hashlib.sha256(letter_pdf(row)).hexdigest() == row.sha256
            assert row.letter_code in pdf_text(letter_pdf(row))

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
    assert set(manifest[0]) == set(MANIFEST_HEADER)  # no dates of birth, no emails
    assert batch_actions(session, incident.id) == ["mail_batch.started", "mail_batch.completed"]


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
    mail_worker.work(session, worker=worker())

    rows = batch_letters(session, batch)
    assert [r.state for r in rows].count(LetterState.DONE) == 5
    failed = [r for r in rows if r.state is LetterState.FAILED]
    assert len(failed) == 1
    assert failed[0].reason == ("The name has 130 characters; at most 120 fit the envelope window.")
    texts = {r.sequence: pdf_text(letter_pdf(r)) for r in rows if r.sha256}
    # The 100-character name wraps inside the window and the salutation but is all there.
    assert "".join(long_name.split()) + ":" in "".join(texts[2].split())
    assert "Dear مريم الحسيني:" in texts[3]  # right-to-left text kept as written
    assert "Dear Zoë \ufffd O'Brien:" in texts[4]  # the emoji: one replacement mark
    for row in rows:
        if row.sha256:
            assert len(PdfReader(io.BytesIO(letter_pdf(row))).pages) == row.page_count
    session.refresh(batch)
    assert batch.status is BatchStatus.COMPLETED
    chunk = session.scalars(sa.select(MailChunk).where(MailChunk.batch_id == batch.id)).one()
    manifest = app_store.read_verified(chunk.manifest_sha256).decode()
    assert "'=HYPERLINK" in manifest and ",=HYPERLINK" not in manifest


def test_a_voided_approval_stops_a_running_batch(session, people):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    [letter] = approve(session, people, incident)
    batch = start(session, people, incident)
    # A re-render after the batch started voids the approval it started from.
    generation.generate(
        session,
        actor=people.officer,
        now=LATER,
        incident_id=incident.id,
        request=generation.LetterRequest(letter.obligation_id, "individual_adult.html"),
        store=app_store.current_store(),
    )
    mail_worker.work(session, worker=worker())
    session.refresh(batch)
    assert batch.status is BatchStatus.FAILED
    assert "approved letter changed after this mailing started" in batch.message
    assert batch_letters(session, batch) == []


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

    def put_many(self, datas: Sequence[bytes]) -> list[storage.StoredFile]:
        if self.room < len(datas):
            raise storage._storage_error(
                self.root, OSError(errno.ENOSPC, "No space left on device")
            )
        self.room -= len(datas)
        return super().put_many(datas)


def test_disk_full_fails_the_batch_with_the_reason_and_marks_nothing(session, people):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(3)))
    approve(session, people, incident)
    batch = start(session, people, incident)
    full = DiskFillsUp(app_store.current_store(), room=0)

    assert mail_worker.work(session, worker=worker(store=full)) == 0

    session.refresh(batch)
    assert batch.status is BatchStatus.FAILED
    assert "to the file store failed" in batch.message and "space" in batch.message.lower()
    assert batch_letters(session, batch) == []
    assert {p.notice_status for p in roster_people(session, incident).values()} == {
        NoticeStatus.PENDING
    }
    assert session.scalars(sa.select(MailChunk.status)).one() is ChunkStatus.PENDING
    assert batch_actions(session, incident.id)[-1] == "mail_batch.failed"

    batches.resume(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    mail_worker.work(session, worker=worker())
    assert [r.state for r in batch_letters(session, batch)] == [LetterState.DONE] * 3
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
