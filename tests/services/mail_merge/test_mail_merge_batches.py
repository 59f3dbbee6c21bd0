"""Batch control: a batch starts only from approved letters (every variant someone needs),
one open batch per incident; pause, resume, cancel and retry of failed letters."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.letters import pdf_text
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.roster import NoticeStatus
from incident_app.models.user import Role
from incident_app.services.letters import context as letter_context
from incident_app.services.letters import generation
from incident_app.services.letters import notice_wording
from incident_app.services.letters import review as letter_review
from incident_app.services.mail_merge import batches
from incident_app.services.mail_merge import worker as mail_worker
from incident_app.services.roster import rows as roster_rows
from tests.support.factories import make_user
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

# ---- starting -------------------------------------------------------------------------------


def test_a_batch_cannot_start_without_an_approved_letter_and_nothing_is_written(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    with pytest.raises(InvalidTransition, match="not generated yet"):
        start(session, people, incident)
    assert session.scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0
    assert roster_people(session, incident)["Ana"].notice_status is NoticeStatus.PENDING


def test_a_letter_in_review_is_not_approved(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    ob = letter_context.incident_obligations(session, incident.id)
    individual = next(o for o in ob if o.kind == "individual_notice")
    letter = generation.generate(
        session,
        actor=people.officer,
        now=LATER,
        incident_id=incident.id,
        request=generation.LetterRequest(individual.id, "individual_adult.html"),
        store=app_store.current_store(),
    )
    letter_review.submit_for_review(
        session, actor=people.officer, now=LATER, incident_id=incident.id, letter_id=letter.id
    )
    with pytest.raises(InvalidTransition, match="in legal review, not approved by legal"):
        start(session, people, incident)


def test_a_voided_approval_is_refused_naming_what_changed(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    approve(session, people, incident)
    notice_wording.save_wording(
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


def test_nothing_approved_that_anybody_needs_is_refused_with_each_reason(session, people):
    incident = case_with_roster(session, people, adult("Kid", minor="Y", dob="2015-01-02"))
    approve(session, people, incident)  # the adult letter: nobody needs it
    with pytest.raises(InvalidTransition) as raised:
        start(session, people, incident)
    assert (
        "(1 recipient need it) Individual notice to a parent or guardian — sample: not "
        "generated yet"
    ) in str(raised.value)
    assert session.scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0


def test_nobody_waiting_is_a_clear_refusal(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    approve(session, people, incident)
    batch = start(session, people, incident)
    mail_worker.work(session, worker=worker())
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
            batches.start_batch(
                session,
                actor=actor,
                now=LATER,
                incident_id=incident.id,
                keyring=app_store.current_keyring(),
                store=app_store.current_store(),
            )


def test_a_failed_letter_is_retried_in_its_own_chunk_and_print_file(session, people):
    incident = case_with_roster(
        session, people, adult("Ana"), person("T1", "T" * 130, "", dob="1970-01-01")
    )
    approve(session, people, incident)
    batch = start(session, people, incident)
    mail_worker.work(session, worker=worker())
    failed = session.scalars(
        sa.select(MailLetter).where(MailLetter.state == LetterState.FAILED)
    ).one()
    first_print = session.scalars(sa.select(MailChunk.print_sha256)).one()

    # The roster team corrects the name (re-encrypted in place, as a correction would be).
    keyring = app_store.current_keyring()
    target = roster_people(session, incident)["T" * 130]
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
        batches.retry(
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
    mail_worker.work(session, worker=worker())

    session.refresh(failed)
    assert failed.state is LetterState.DONE and failed.attempts == 2
    assert "Dear Tamsin Hale:" in pdf_text(letter_pdf(failed))
    chunks = list(session.scalars(sa.select(MailChunk).order_by(MailChunk.number)))
    assert [c.number for c in chunks] == [1, 2] and chunks[0].print_sha256 == first_print
    assert chunks[1].letters == 1 and failed.chunk_id == chunks[1].id
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
    with pytest.raises(NotFound, match="No failed letter"):
        batches.retry(
            session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
        )


# ---- pause, cancel, resume ------------------------------------------------------------------


def test_pause_stops_after_the_chunk_and_resume_carries_on_without_repeats(session, people):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(5)))
    approve(session, people, incident)
    batch = start(session, people, incident, chunk_size=2)
    assert mail_worker.work(session, worker=worker(), max_chunks=1) == 1
    batches.pause(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    assert mail_worker.work(session, worker=worker()) == 0
    assert len(batch_letters(session, batch)) == 2
    with pytest.raises(InvalidTransition, match="Only a mailing that is queued, running"):
        batches.pause(
            session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
        )

    batches.resume(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    assert mail_worker.work(session, worker=worker()) == 2
    rows = batch_letters(session, batch)
    assert [r.sequence for r in rows] == [1, 2, 3, 4, 5]
    assert all(r.attempts == 1 for r in rows)
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
    assert batch_actions(session, incident.id) == [
        "mail_batch.started",
        "mail_batch.paused",
        "mail_batch.queued",
        "mail_batch.completed",
    ]


def test_cancel_keeps_printed_chunks_and_frees_the_rest(session, people):
    incident = case_with_roster(session, people, *(adult(f"P{n}") for n in range(5)))
    approve(session, people, incident)
    batch = start(session, people, incident, chunk_size=2)
    mail_worker.work(session, worker=worker(), max_chunks=1)
    batches.cancel(
        session, actor=people.officer, now=LATER, incident_id=incident.id, batch_id=batch.id
    )
    assert mail_worker.work(session, worker=worker()) == 0
    statuses = sorted(p.notice_status.value for p in roster_people(session, incident).values())
    assert statuses == ["letter_generated"] * 2 + ["pending"] * 3
    # The remaining people can go out in a new mailing.
    second = start(session, people, incident)
    assert second.mail_count == 3
