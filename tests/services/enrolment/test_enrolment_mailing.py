"""Codes in the mail merge: a mailing the pool cannot cover is refused before it starts,
naming the shortfall; each recipient gets exactly one code, printed in their letter (read
back with pypdf), in their email notice and as its last four in the manifest; a resume, a
retry, a takeover after a killed worker and a later re-mailing all keep the person's code."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.letters import pdf_text
from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import Variant
from incident_app.models.notification import EmailMessage
from incident_app.models.roster import NoticeStatus
from incident_app.services.enrolment import assignment
from incident_app.services.enrolment import codes as code_crypto
from incident_app.services.enrolment import reading
from incident_app.services.mail_merge import batches
from incident_app.services.mail_merge import pages
from incident_app.services.mail_merge import worker as mail_worker
from incident_app.services.mail_merge.chunk_run import ChunkRun
from incident_app.services.mail_merge.planning import entries
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders import notifications
from tests.support.enrolment_helpers import OFFER
from tests.support.enrolment_helpers import assigned
from tests.support.enrolment_helpers import fresh_codes
from tests.support.enrolment_helpers import import_codes
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import letter_pdf
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import worker
from tests.support.roster_helpers import person


def _codes_of(session) -> dict[int, str]:
    """person id → plaintext code."""
    keyring = app_store.current_keyring()
    session.expire_all()
    return {
        row.person_id: code_crypto.reveal(keyring, row)
        for row in session.scalars(
            sa.select(EnrolmentCode).where(EnrolmentCode.person_id.is_not(None))
        )
    }


def _manifest(session, batch) -> list[dict[str, str]]:
    rows = []
    for chunk in session.scalars(sa.select(MailChunk).where(MailChunk.batch_id == batch.id)):
        text = app_store.read_verified(chunk.manifest_sha256).decode()
        rows += list(csv.DictReader(io.StringIO(text)))
    return rows


def test_a_mailing_the_pool_cannot_cover_is_refused_before_it_starts(session, people):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"), adult("Cy"))
    import_codes(session, people.officer, incident, fresh_codes(2))
    approve(session, people, incident)
    message = (
        "This mailing needs 3 enrollment codes and the pool has 2 free: import 1 more "
        "(Enrollment codes tab) before starting it."
    )

    with pytest.raises(InvalidTransition) as refused:
        pages.confirmation(session, actor=people.officer, incident_id=incident.id)
    assert str(refused.value) == message
    with pytest.raises(InvalidTransition) as refused:
        start(session, people, incident)
    assert str(refused.value) == message

    assert session.scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0
    assert assigned(session) == {}
    assert {p.notice_status for p in roster_people(session, incident).values()} == {
        NoticeStatus.PENDING
    }
    overview = pages.overview(session, actor=people.officer, incident_id=incident.id)
    assert (overview.codes.needed, overview.codes.free, overview.codes.short_by) == (3, 2, 1)

    import_codes(session, people.officer, incident, fresh_codes(1))
    # The offer did not change, so the approval still holds: the mailing starts.
    assert start(session, people, incident).mail_count == 3


def test_the_pool_status_warns_when_it_runs_low(session, people):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(10)))
    import_codes(session, people.officer, incident, fresh_codes(10))

    status = reading.pool_status(session, actor=people.officer, incident_id=incident.id)

    assert (status.total, status.free, status.assigned) == (10, 10, 0)
    assert status.waiting.needed == 10 and status.waiting.low and not status.waiting.short_by
    import_codes(session, people.officer, incident, fresh_codes(1))
    status = reading.pool_status(session, actor=people.officer, incident_id=incident.id)
    assert not status.waiting.low  # 11 free for 10 people: exactly people + 10 %


def test_each_recipient_gets_one_code_in_the_letter_the_email_and_the_manifest(session, people):
    get_organisation(session).email_notice_enabled = True
    session.commit()
    incident = case_with_roster(
        session,
        people,
        adult("Ana", "García"),
        adult("Luis", "Ortega", language="Spanish"),
        adult("Mail", "Me", email="mail.me@example.org", consent="Y"),
        adult("Nowhere", "Smith", line1="", city=""),  # substitute notice: no letter, no code
    )
    import_codes(session, people.officer, incident, fresh_codes(5))
    [sample, _] = approve(session, people, incident, "individual_adult.html", "individual_es.html")
    sample_text = pdf_text(app_store.read_verified(sample.approved_version.sha256))
    assert "Identity protection at no cost to you" in sample_text
    assert "24 months of IdentityWorks credit monitoring" in sample_text
    assert "XXXX-XXXX-XXXX" in sample_text  # the sample shows a placeholder code

    batch = start(session, people, incident)
    proof = pdf_text(app_store.read_verified(batch.proof_sha256))
    assert "XXXX-XXXX-XXXX" in proof
    assert assigned(session) == {}  # the proof assigns nothing
    mail_worker.work(session, worker=worker())

    codes = _codes_of(session)
    by_name = roster_people(session, incident)
    assert set(codes) == {by_name[n].id for n in ("Ana", "Luis", "Mail")}
    assert len(set(codes.values())) == 3
    rows = {r.person_id: r for r in batch_letters(session, batch)}
    ana, luis = rows[by_name["Ana"].id], rows[by_name["Luis"].id]
    ana_text, luis_text = pdf_text(letter_pdf(ana)), pdf_text(letter_pdf(luis))
    assert f"Enrollment code\n{codes[by_name['Ana'].id]}" in ana_text
    assert f"Código de inscripción\n{codes[by_name['Luis'].id]}" in luis_text
    assert "24 meses de IdentityWorks" in luis_text
    assert codes[by_name["Luis"].id] not in ana_text
    email = session.scalars(sa.select(EmailMessage)).one()
    body = notifications.open_body(app_store.current_keyring(), email.body)
    assert codes[by_name["Mail"].id] in body and "Enrollment code" in body
    manifest = {m["letter_id"]: m for m in _manifest(session, batch)}
    assert manifest[ana.letter_code]["enrollment_code_last4"] == codes[by_name["Ana"].id][-4:]
    assert codes[by_name["Ana"].id] not in str(manifest)  # only the last four
    stored = {r.person_id: r.letter_code for r in session.scalars(sa.select(EnrolmentCode))}
    assert stored[by_name["Ana"].id] == ana.letter_code


def test_retry_and_a_later_remailing_keep_the_persons_code(session, people):
    incident = case_with_roster(
        session, people, adult("Ana"), person("T1", "T" * 130, "", dob="1970-01-01")
    )
    import_codes(session, people.officer, incident, fresh_codes(4))
    approve(session, people, incident)
    batch = start(session, people, incident)
    mail_worker.work(session, worker=worker())
    first = _codes_of(session)
    assert len(first) == 2  # the unprintable person got theirs before the render failed

    # Retry the failed letter: it fails again, and keeps the same code.
    assert batches.retry(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    mail_worker.work(session, worker=worker())
    assert _codes_of(session) == first

    # A later re-mailing (returned mail with a new address re-queues the person).
    ana = roster_people(session, incident)["Ana"]
    ana.notice_status = NoticeStatus.PENDING
    session.commit()
    again = start(session, people, incident)
    mail_worker.work(session, worker=worker())
    [row] = [r for r in batch_letters(session, again) if r.state is LetterState.DONE]
    assert first[ana.id] in pdf_text(letter_pdf(row))
    assert _codes_of(session) == first
    status = reading.pool_status(session, actor=people.officer, incident_id=incident.id)
    assert (status.assigned, status.free) == (2, 2)


def test_a_worker_killed_after_assigning_leaves_the_takeover_the_same_codes(session, people):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(6)))
    import_codes(session, people.officer, incident, fresh_codes(6))
    approve(session, people, incident)
    batch = start(session, people, incident)
    chunk = mail_worker.claim(session, now=LATER, worker="doomed")
    run = ChunkRun(
        session,
        batch,
        chunk,
        {
            v: letter.common_context
            for v, letter in mail_worker._approved(
                session, batch, mail_worker._snapshots(app_store.current_store(), batch)
            ).items()
        },
        keyring=app_store.current_keyring(),
        store=app_store.current_store(),
        clock=lambda: LATER,
        processes=1,
    )
    given = run.enrollment_codes(Variant.ADULT, entries(chunk))
    # ... and the worker dies here, before any letter is written.
    assert len(given) == 6 and _codes_of(session) == given

    later = LATER + timedelta(minutes=10)
    assert mail_worker.work(session, worker=worker(clock=lambda: later)) == 1

    for row in batch_letters(session, batch):
        assert given[row.person_id] in pdf_text(letter_pdf(row))
    assert _codes_of(session) == given


def test_codes_for_is_idempotent_and_says_when_the_pool_ran_out(session, people):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"), adult("Cy"))
    import_codes(session, people.officer, incident, fresh_codes(2))
    ids = sorted(p.id for p in roster_people(session, incident).values())
    keyring = app_store.current_keyring()
    wanted = [assignment.Wanted(pid, f"L-{pid}") for pid in ids[:2]]

    once = assignment.codes_for(
        session, incident_id=incident.id, wanted=wanted, keyring=keyring, now=LATER
    )
    session.commit()
    twice = assignment.codes_for(
        session, incident_id=incident.id, wanted=wanted, keyring=keyring, now=LATER
    )
    assert once == twice and len(set(once.values())) == 2

    with pytest.raises(assignment.PoolEmpty, match="1 more code is needed"):
        assignment.codes_for(
            session,
            incident_id=incident.id,
            wanted=[assignment.Wanted(ids[2], "L-3")],
            keyring=keyring,
            now=LATER,
        )
    session.rollback()
    assert set(assigned(session)) == set(ids[:2])


def test_no_pool_no_code_and_letters_as_before(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    [letter] = approve(session, people, incident)
    text = pdf_text(app_store.read_verified(letter.approved_version.sha256))
    assert "Enrollment code" not in text and "Identity protection" not in text
    batch = start(session, people, incident)
    mail_worker.work(session, worker=worker())
    [row] = batch_letters(session, batch)
    assert "Enrollment code" not in pdf_text(letter_pdf(row))
    assert _manifest(session, batch)[0]["enrollment_code_last4"] == ""


def test_changing_the_offer_voids_the_approval(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    import_codes(session, people.officer, incident, fresh_codes(2))
    approve(session, people, incident)

    import_codes(
        session,
        people.officer,
        incident,
        fresh_codes(1),
        offer=dataclasses.replace(OFFER, months=12),
    )

    # The letter prints the offer: legal approves it again before a mailing can start.
    with pytest.raises(InvalidTransition, match="the approval is void"):
        start(session, people, incident)
