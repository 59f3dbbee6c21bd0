"""Legal review routing: the reviewer a letter is sent to is notified (in-app, and by email with
no PHI), sees it in "Letters awaiting my review", confirms the approval by the SHA-256 prefix,
and gets the revised version back after asking for changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.models.incident import CaseRole
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import LetterVersion
from incident_app.models.letter import NoticeWording
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import Notification
from incident_app.models.notification import NotificationKind
from incident_app.models.user import Role
from incident_app.services.letters import generation
from incident_app.services.letters import queue
from incident_app.services.letters import review
from incident_app.services.letters import revision
from incident_app.services.letters.context import SAMPLE_NAME
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation

LATER = NOW + timedelta(hours=26)
BASE_URL = "https://breachdesk.example"
WORDING = {
    "what_happened": "A billing laptop was stolen from a car on September 10, 2025.",
    "phi_types": "Names\nDates of birth\nDiagnoses",
    "steps_for_individuals": "Watch your statements.\nEnroll in the free credit monitoring.",
    "what_we_are_doing": "We encrypted every laptop.",
    "covered_entity_type": "Healthcare Provider",
}


@pytest.fixture
def team(session):
    officer = make_user(session, role=Role.PRIVACY_OFFICER, name="Olivia Officer")
    counsel = make_user(session, role=Role.LEGAL, name="Carla Counsel")
    second = make_user(session, role=Role.LEGAL, name="Sam Second")
    outsider = make_user(session, role=Role.LEGAL, name="Otto Outside")
    incident = breach_case(
        session, officer=officer, members={counsel: CaseRole.LEGAL, second: CaseRole.LEGAL}
    )
    return officer, counsel, second, outsider, incident


def _letter(session, officer, incident) -> Letter:
    ob = obligation(session, incident, "individual_notice")
    return generation.generate(
        session,
        actor=officer,
        now=NOW,
        incident_id=incident.id,
        request=generation.LetterRequest(ob.id, "individual_adult.html"),
        store=app_store.current_store(),
    )


def _submit(session, officer, letter, **kwargs) -> Letter:
    return review.submit_for_review(
        session,
        actor=officer,
        now=NOW,
        incident_id=letter.incident_id,
        letter_id=letter.id,
        **kwargs,
    )


def _notes(session, user) -> list[Notification]:
    return list(
        session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def test_the_chosen_reviewer_is_notified_in_the_app_and_by_email_without_phi(session, team):
    officer, counsel, second, _, incident = team
    letter = _letter(session, officer, incident)

    _submit(session, officer, letter, reviewer_id=second.id, email_base_url=BASE_URL)

    assert letter.reviewer_id == second.id and letter.review_requested_at == NOW
    [note] = _notes(session, second)
    assert note.kind is NotificationKind.LETTER_REVIEW
    assert note.link == f"/incidents/{incident.id}/letters/{letter.id}"
    assert letter.document_id in note.title and incident.reference in note.title
    assert "due 2025-11-14" in note.body  # 60 days after discovery on 2025-09-15
    assert _notes(session, counsel) == []
    [mail] = session.scalars(sa.select(EmailMessage)).all()
    assert mail.to_address == second.email and mail.reminder_id is None
    assert f"{BASE_URL}/incidents/{incident.id}/letters/{letter.id}" in mail.body
    assert "Version: 1" in mail.body and "Obligation due: 2025-11-14" in mail.body
    for phi in (SAMPLE_NAME, incident.title, "laptop", "Diagnos"):
        assert phi not in mail.body and phi not in mail.subject


def test_without_a_mail_server_only_the_in_app_notice_is_written(session, team):
    officer, counsel, _, _, incident = team
    letter = _letter(session, officer, incident)

    _submit(session, officer, letter)  # no reviewer chosen: the team's first legal reviewer

    assert letter.reviewer_id == counsel.id
    assert len(_notes(session, counsel)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(EmailMessage)) == 0


def test_a_reviewer_who_may_not_approve_is_refused_and_nothing_is_written(session, team):
    officer, _, _, outsider, incident = team
    letter = _letter(session, officer, incident)

    for wrong in (outsider.id, officer.id, 999_999):
        with pytest.raises(ValidationFailed, match="legal reviewer on this incident's team"):
            _submit(session, officer, letter, reviewer_id=wrong)
        session.rollback()

    assert session.get(Letter, letter.id).status is LetterStatus.DRAFT
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_the_queue_lists_what_awaits_each_reviewer(session, team):
    officer, counsel, second, outsider, incident = team
    letter = _letter(session, officer, incident)
    _submit(session, officer, letter, reviewer_id=counsel.id)

    [item] = queue.awaiting_review(session, actor=counsel)
    assert (item.reference, item.document_id, item.version) == (
        incident.reference,
        letter.document_id,
        1,
    )
    assert item.kind_label == "Notice to individuals"
    assert item.letter_label == "Individual notice (adult) — sample"
    assert item.due_on.isoformat() == "2025-11-14" and item.assigned_to_me
    assert item.age(LATER) == "1 day" and item.age(NOW + timedelta(minutes=5)) == "5 minutes"
    assert queue.awaiting_review(session, actor=second) == []  # sent to counsel, not to them
    assert queue.awaiting_review(session, actor=outsider) == []  # not on the team
    assert queue.awaiting_review(session, actor=officer) == []  # may not approve


def test_approval_confirms_the_sha256_prefix_of_the_current_version(session, team):
    officer, counsel, _, _, incident = team
    letter = _letter(session, officer, incident)
    _submit(session, officer, letter, reviewer_id=counsel.id)
    sha = letter.current_version.sha256
    approve = {
        "actor": counsel,
        "now": LATER,
        "incident_id": incident.id,
        "letter_id": letter.id,
        "store": app_store.current_store(),
    }

    with pytest.raises(ValidationFailed, match="first 12 characters"):
        review.approve(session, **approve, expected_sha256=sha[:8])
    with pytest.raises(InvalidTransition, match="changed since you opened it"):
        review.approve(session, **approve, expected_sha256="0" * 12)
    assert session.get(Letter, letter.id).status is LetterStatus.IN_REVIEW

    review.approve(session, **approve, expected_sha256=sha[:12].upper())

    assert letter.status is LetterStatus.APPROVED
    assert queue.awaiting_review(session, actor=counsel) == []
    assert all(note.read_at == LATER for note in _notes(session, counsel))


def test_a_revision_goes_back_to_the_same_reviewer_in_one_step(session, team):
    officer, _, second, _, incident = team
    letter = _letter(session, officer, incident)
    _submit(session, officer, letter, reviewer_id=second.id)
    review.request_changes(
        session,
        actor=second,
        now=LATER,
        incident_id=incident.id,
        letter_id=letter.id,
        comment="Offer the free credit monitoring.",
    )

    revision.revise(
        session,
        actor=officer,
        now=LATER,
        incident_id=incident.id,
        letter_id=letter.id,
        wording=WORDING,
        store=app_store.current_store(),
        email_base_url=BASE_URL,
    )

    assert letter.status is LetterStatus.IN_REVIEW and letter.reviewer_id == second.id
    assert letter.current_version.number == 2
    first, revised = _notes(session, second)
    assert first.read_at == LATER  # they acted on it
    assert "revised letter" in revised.title and revised.read_at is None
    mail = session.scalars(sa.select(EmailMessage)).one()
    assert "Version: 2 (revised after your comments)" in mail.body


def test_a_failed_revision_keeps_nothing(session, team):
    officer, counsel, _, _, incident = team
    letter = _letter(session, officer, incident)
    _submit(session, officer, letter)
    review.request_changes(
        session,
        actor=counsel,
        now=LATER,
        incident_id=incident.id,
        letter_id=letter.id,
        comment="Shorter.",
    )
    before = session.scalars(sa.select(NoticeWording)).one().what_happened
    bad = dict(WORDING, posting_start=NOW.date(), posting_end=NOW.date() - timedelta(days=1))

    with pytest.raises(ValidationFailed, match="posting ends before it starts"):
        revision.revise(
            session,
            actor=officer,
            now=LATER,
            incident_id=incident.id,
            letter_id=letter.id,
            wording=bad,
            store=app_store.current_store(),
        )
    with pytest.raises(ValidationFailed, match="missing required 164.404"):
        revision.revise(
            session,
            actor=officer,
            now=LATER,
            incident_id=incident.id,
            letter_id=letter.id,
            wording=dict(WORDING, what_happened="", steps_for_individuals=""),
            store=app_store.current_store(),
        )

    assert session.scalars(sa.select(NoticeWording)).one().what_happened == before
    assert session.get(Letter, letter.id).status is LetterStatus.CHANGES_REQUESTED
    count = sa.select(sa.func.count()).select_from(LetterVersion)
    assert session.scalar(count.where(LetterVersion.letter_id == letter.id)) == 1


def test_only_a_letter_waiting_for_changes_can_be_revised(session, team):
    officer, _, _, _, incident = team
    letter = _letter(session, officer, incident)
    _submit(session, officer, letter)

    with pytest.raises(InvalidTransition, match="in legal review is not waiting"):
        revision.revise(
            session,
            actor=officer,
            now=LATER,
            incident_id=incident.id,
            letter_id=letter.id,
            wording=WORDING,
            store=app_store.current_store(),
        )
