"""The call-centre FAQ (issue 23): generated from the incident's facts and notice wording (read
back from the PDF), approved by legal with the letters' hash-bound approval (an edit after the
approval voids it), exported only while approved, never recorded as a notice sent."""

from __future__ import annotations

import io
from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.letters import EXERCISE_TEXT
from incident_app.letters import pdf_text
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.letter import LetterReviewEvent
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import NoticeMethod
from incident_app.models.letter import NoticeSent
from incident_app.models.letter import NoticeWording
from incident_app.models.letter import ReviewAction
from incident_app.models.user import Role
from incident_app.services.letters import faq
from incident_app.services.letters import faq_export
from incident_app.services.letters import generation
from incident_app.services.letters import notices
from incident_app.services.letters import review
from incident_app.services.letters.faq import FAQ_TEMPLATE
from tests.support.enrolment_helpers import fresh_codes
from tests.support.enrolment_helpers import import_codes
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import DOING
from tests.support.letter_factories import STEPS
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation
from tests.support.mail_merge_helpers import Team
from tests.support.mail_merge_helpers import approve

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def people(session):
    return (
        make_user(session, role=Role.PRIVACY_OFFICER),
        make_user(session, role=Role.LEGAL),
        make_user(session, role=Role.RESPONDER),
    )


@pytest.fixture
def case(session, people):
    officer, legal, responder = people
    return breach_case(
        session,
        officer=officer,
        members={legal: CaseRole.LEGAL, responder: CaseRole.RESPONDER},
    )


def _draft(session, actor, incident):
    ob = obligation(session, incident, "individual_notice")
    return generation.generate(
        session,
        actor=actor,
        now=NOW,
        incident_id=incident.id,
        request=generation.LetterRequest(ob.id, FAQ_TEMPLATE),
        store=app_store.current_store(),
    )


def _approve(session, legal, incident, letter):
    return review.approve(
        session,
        actor=legal,
        now=LATER,
        incident_id=incident.id,
        letter_id=letter.id,
        store=app_store.current_store(),
        expected_sha256=letter.current_version.sha256,
    )


def _export(session, actor, incident, letter):
    return faq_export.export_pdf(
        session,
        actor=actor,
        now=LATER,
        incident_id=incident.id,
        letter_id=letter.id,
        store=app_store.current_store(),
    )


def _exports(session, letter_id) -> int:
    return session.scalar(
        sa.select(sa.func.count()).where(
            AuditEvent.action == "letter.faq_exported", AuditEvent.subject_id == str(letter_id)
        )
    )


def test_the_faq_prints_the_incidents_facts_and_the_approved_letters_wording(session, people, case):
    officer, legal, responder = people
    [notice] = approve(session, Team(officer, legal), case)

    letter = _draft(session, responder, case)

    text = " ".join(pdf_text(app_store.read_verified(letter.current_version.sha256)).split())
    assert letter.kind == "individual_notice" and letter.status is LetterStatus.DRAFT
    assert "Call-centre FAQ" in text
    assert "a laptop used by our billing team was stolen from a car" in text  # what happened
    assert "Date of birth" in text and "Diagnosis codes" in text  # what information
    assert all(" ".join(line.split()) in text for line in STEPS + DOING)
    assert "September 15, 2025" in text  # discovery date
    assert "1-800-555-0142" in text  # the toll-free number
    assert "1,204" in text  # people notified (1,150 IL + 54 WI)
    assert f"letter {notice.document_id}, approved" in text
    assert "Sam Rivera, 217-555-0199" in text  # media calls go to the media contact
    assert "Dana O'Brien, Privacy Officer" in text  # complaints and copies: privacy officer
    assert "45 CFR 164.524" in text and "45 CFR 160.306" in text
    assert "How do I enrol in identity protection?" in text
    assert EXERCISE_TEXT not in text


def test_approval_is_bound_to_the_bytes_and_an_edit_after_it_voids_it(session, people, case):
    officer, legal, responder = people
    letter = _draft(session, responder, case)
    review.submit_for_review(
        session, actor=responder, now=NOW, incident_id=case.id, letter_id=letter.id
    )
    _approve(session, legal, case, letter)

    name, data = _export(session, officer, case, letter)
    assert name == f"call-centre-faq-{letter.document_id}.pdf"
    assert app_store.read_verified(letter.approved_version.sha256) == data
    assert _exports(session, letter.id) == 1

    # An edit of the wording the FAQ prints: the approval no longer holds, nothing is exported.
    wording = session.scalar(sa.select(NoticeWording).where(NoticeWording.incident_id == case.id))
    wording.what_we_are_doing = [*DOING, "We added a second call centre."]
    session.commit()
    with pytest.raises(InvalidTransition, match="no valid legal approval"):
        _export(session, officer, case, letter)

    # Regenerating it records the voided approval; it is a draft again until legal approves.
    _draft(session, responder, case)
    actions = session.scalars(
        sa.select(LetterReviewEvent.action)
        .where(LetterReviewEvent.letter_id == letter.id)
        .order_by(LetterReviewEvent.id)
    ).all()
    assert actions[-2:] == [ReviewAction.APPROVAL_VOIDED, ReviewAction.RENDERED]
    assert letter.status is LetterStatus.DRAFT
    with pytest.raises(InvalidTransition, match="is draft and has no valid legal approval"):
        _export(session, officer, case, letter)
    assert _exports(session, letter.id) == 1


def test_export_before_approval_is_refused_with_the_reason_and_nothing_is_recorded(
    session, people, case
):
    officer, _, responder = people
    letter = _draft(session, responder, case)

    with pytest.raises(InvalidTransition) as refused:
        _export(session, officer, case, letter)

    assert "Not exported" in str(refused.value) and "send it to legal review" in str(refused.value)
    session.rollback()
    assert _exports(session, letter.id) == 0


def test_who_drafts_and_who_approves(session, people, case):
    officer, legal, responder = people
    outsider = make_user(session, role=Role.RESPONDER)
    auditor = make_user(session, role=Role.AUDITOR)
    with pytest.raises(NotFound):
        _draft(session, outsider, case)  # not on the team: the incident does not exist
    with pytest.raises(NotAllowed):
        _draft(session, auditor, case)  # reads everything, drafts nothing
    letter = _draft(session, responder, case)
    review.submit_for_review(
        session, actor=responder, now=NOW, incident_id=case.id, letter_id=letter.id
    )

    with pytest.raises(NotAllowed, match="Only legal reviewers"):
        _approve(session, responder, case, letter)
    with pytest.raises(NotAllowed, match="Only legal reviewers"):
        _approve(session, officer, case, letter)
    _approve(session, legal, case, letter)
    assert letter.status is LetterStatus.APPROVED
    with pytest.raises(NotFound):
        _export(session, outsider, case, letter)


def test_the_faq_is_not_a_notice_and_is_never_recorded_as_sent(session, people, case):
    officer, legal, responder = people
    letter = _draft(session, responder, case)
    review.submit_for_review(
        session, actor=responder, now=NOW, incident_id=case.id, letter_id=letter.id
    )
    _approve(session, legal, case, letter)

    with pytest.raises(InvalidTransition, match="not a notice"):
        notices.mark_sent(
            session,
            actor=officer,
            now=LATER,
            incident_id=case.id,
            letter_id=letter.id,
            notice=notices.NoticeInput(
                method=NoticeMethod.FIRST_CLASS_MAIL, sent_on=date(2025, 9, 20)
            ),
        )

    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(NoticeSent)) == 0


def test_only_the_faq_is_exported_for_the_call_centre(session, people, case):
    officer, legal, _ = people
    [notice] = approve(session, Team(officer, legal), case)

    with pytest.raises(NotFound, match="Only the call-centre FAQ"):
        _export(session, officer, case, notice)


def test_a_drills_faq_says_exercise_on_every_page(session, people):
    officer, legal, _ = people
    drill = breach_case(session, officer=officer, members={legal: CaseRole.LEGAL}, exercise=True)

    letter = _draft(session, officer, drill)

    data = app_store.read_verified(letter.current_version.sha256)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    assert pages and all(EXERCISE_TEXT in page for page in pages)


def test_the_faq_prints_the_offer_recorded_with_the_code_pool(session, people, case):
    officer, _, _ = people
    import_codes(session, officer, case, fresh_codes(3))  # the offer comes with the pool

    letter = _draft(session, officer, case)

    text = " ".join(pdf_text(app_store.read_verified(letter.current_version.sha256)).split())
    assert "24 months of IdentityWorks credit monitoring from Experian" in text
    assert "https://www.experianidworks.com/3bcredit" in text and "1-877-288-8057" in text
    assert "by December 31, 2026" in text


def test_without_a_code_pool_the_faq_points_to_the_letter(session, people, case):
    assert faq.enrolment_offer(session, case) is None
