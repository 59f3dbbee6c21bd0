"""Proof of notice: sent date freezes days after discovery and days late; proof files."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.errors import ValidationFailed
from incident_app.mailer import RecordingMailer
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import NoticeMethod
from incident_app.models.letter import NoticeSent
from incident_app.models.obligation import Obligation
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import Role
from incident_app.services.letters import generation
from incident_app.services.letters import notice_wording
from incident_app.services.letters import notices
from incident_app.services.letters import proofs
from incident_app.services.letters import review
from incident_app.services.letters.notices import NoticeInput
from incident_app.services.letters.proofs import ProofUpload
from incident_app.services.obligations import reading as obligation_reading
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.reminders import deadlines as reminder_deadlines
from incident_app.services.reminders import sweep as reminders
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation

MAILED = NoticeInput(NoticeMethod.FIRST_CLASS_MAIL, date(2025, 11, 20))


@pytest.fixture
def people(session):
    return make_user(session, role=Role.PRIVACY_OFFICER), make_user(session, role=Role.LEGAL)


@pytest.fixture
def case(session, people):
    officer, legal = people
    return breach_case(session, officer=officer, members={legal: CaseRole.LEGAL})


def _approved(
    session,
    people,
    case,
    kind="individual_notice",
    template="individual_adult.html",
    jurisdiction=None,
):
    officer, legal = people
    ob = obligation(session, case, kind, jurisdiction)
    letter = generation.generate(
        session,
        actor=officer,
        now=NOW,
        incident_id=case.id,
        request=generation.LetterRequest(ob.id, template),
        store=app_store.current_store(),
    )
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=case.id, letter_id=letter.id
    )
    return review.approve(
        session,
        actor=legal,
        now=NOW,
        incident_id=case.id,
        letter_id=letter.id,
        store=app_store.current_store(),
        expected_sha256=letter.current_version.sha256,
    )


def _send(session, people, case, letter, notice=MAILED):
    return notices.mark_sent(
        session, actor=people[0], now=NOW, incident_id=case.id, letter_id=letter.id, notice=notice
    )


def test_sent_date_freezes_days_after_discovery_and_days_late(session, people, case):
    letter = _approved(session, people, case)

    row = _send(session, people, case, letter)

    # Discovered 2025-09-15 (day 0), due 2025-11-14; mailed 2025-11-20.
    assert (row.discovery_on_at_send, row.due_on_at_send) == (date(2025, 9, 15), date(2025, 11, 14))
    assert (row.days_after_discovery, row.days_late) == (66, 6)
    assert letter.status is LetterStatus.SENT
    assert "notice.sent" in session.scalars(sa.select(AuditEvent.action)).all()
    entry = session.scalars(
        sa.select(TimelineEntry).where(TimelineEntry.kind == EntryKind.NOTICE)
    ).one()
    assert "66 days after discovery, 6 day(s) late" in entry.text


def test_editing_the_discovery_date_later_never_rewrites_what_was_recorded(session, people, case):
    officer, _ = people
    letter = _approved(session, people, case)
    _send(session, people, case, letter)

    obligation_sync.update_discovery(
        session,
        actor=officer,
        incident_id=case.id,
        discovered_on=date(2025, 9, 1),
        diligence_known_on=None,
        now=NOW + timedelta(days=1),
    )

    row = session.scalars(sa.select(NoticeSent)).one()
    session.refresh(row)
    assert (row.days_after_discovery, row.days_late) == (66, 6)
    shown = notices.notices_of(session, case)[0]
    assert (shown.days_after_discovery_now, shown.days_late_now) == (80, 20)
    assert shown.differs


def test_only_an_approved_current_letter_can_be_marked_sent(session, people, case):
    officer, _ = people
    ob = obligation(session, case, "individual_notice")
    draft = generation.generate(
        session,
        actor=officer,
        now=NOW,
        incident_id=case.id,
        request=generation.LetterRequest(ob.id, "individual_adult.html"),
        store=app_store.current_store(),
    )
    with pytest.raises(InvalidTransition, match="Only an approved letter"):
        _send(session, people, case, draft)

    letter = _approved(
        session, people, case, kind="media_notice", template="media_release.html", jurisdiction="IL"
    )
    notice_wording.save_wording(
        session,
        actor=officer,
        now=NOW,
        incident_id=case.id,
        values={
            "what_happened": "Changed after approval.",
            "steps_for_individuals": "Call us.",
            "what_we_are_doing": "Fixing it.",
            "media_contact": "Sam Rivera",
        },
    )
    with pytest.raises(InvalidTransition, match="approval is void"):
        _send(
            session,
            people,
            case,
            letter,
            NoticeInput(
                NoticeMethod.PRESS_RELEASE, date(2025, 11, 1), outlets=("Chicago Tribune",)
            ),
        )
    assert session.scalar(sa.select(sa.func.count()).select_from(NoticeSent)) == 0


@pytest.mark.parametrize(
    ("notice", "field", "message"),
    [
        (NoticeInput(NoticeMethod.PRESS_RELEASE, date(2025, 11, 1)), "outlets", "Name the outlets"),
        (
            NoticeInput(NoticeMethod.HHS_PORTAL, date(2025, 11, 1), transaction_number=" "),
            "transaction_number",
            "transaction number",
        ),
        (
            NoticeInput(
                NoticeMethod.WEB_POSTING,
                date(2025, 11, 1),
                posting_start=date(2025, 11, 1),
                posting_end=date(2026, 1, 29),
            ),
            "posting_end",
            "at least 90 days",
        ),
        (NoticeInput(NoticeMethod.EMAIL, date(2026, 3, 3)), "sent_on", "in the future"),
    ],
)
def test_method_details_are_required(session, people, case, notice, field, message):
    letter = _approved(session, people, case)

    with pytest.raises(ValidationFailed, match=message) as error:
        _send(session, people, case, letter, notice)

    assert error.value.field == field
    assert session.scalar(sa.select(sa.func.count()).select_from(NoticeSent)) == 0


def test_sent_notices_lists_frozen_values_for_other_areas(session, people, case):
    letter = _approved(session, people, case, kind="hhs_notice", template="hhs_packet.html")
    _send(
        session,
        people,
        case,
        letter,
        NoticeInput(NoticeMethod.HHS_PORTAL, date(2025, 11, 10), transaction_number="TX-2025-0042"),
    )

    [sent] = notices.sent_notices(session, case.id)

    assert (sent.kind, sent.jurisdiction, sent.method) == (
        "hhs_notice",
        "US",
        NoticeMethod.HHS_PORTAL,
    )
    assert (sent.sent_on, sent.days_after_discovery, sent.days_late) == (date(2025, 11, 10), 56, 0)
    assert sent.transaction_number == "TX-2025-0042"
    assert sent.sha256 == letter.approved_version.sha256


def test_proof_files_are_stored_verified_and_their_downloads_audited(session, people, case):
    officer, legal = people
    letter = _approved(session, people, case)
    row = _send(session, people, case, letter)

    with pytest.raises(ValidationFailed, match="empty"):
        proofs.attach_proof(
            session,
            actor=officer,
            now=NOW,
            incident_id=case.id,
            notice_id=row.id,
            upload=ProofUpload("a.pdf", "application/pdf", BytesIO(b"")),
            store=app_store.current_store(),
        )
    proof = proofs.attach_proof(
        session,
        actor=officer,
        now=NOW,
        incident_id=case.id,
        notice_id=row.id,
        upload=ProofUpload(
            "../affidavit of mailing.pdf",
            "application/pdf",
            BytesIO(b"%PDF-1.4 mail house affidavit"),
            "Mail-house affidavit",
        ),
        store=app_store.current_store(),
    )
    got, data = proofs.open_proof(
        session,
        actor=legal,
        now=NOW,
        incident_id=case.id,
        proof_id=proof.id,
        store=app_store.current_store(),
    )

    assert got.filename == "affidavit of mailing.pdf"
    assert data == b"%PDF-1.4 mail house affidavit"
    actions = session.scalars(sa.select(AuditEvent.action)).all()
    assert {"notice.proof_attached", "notice.proof_downloaded"} <= set(actions)


def test_a_sent_notice_stops_counting_as_an_outstanding_deadline(session, people, case):
    letter = _approved(session, people, case)
    ob_id = letter.obligation_id
    deadlines_before = {d.subject_id for d in reminder_deadlines.active_deadlines(session)}
    _send(session, people, case, letter)

    outstanding = session.scalars(sa.select(Obligation.id).where(obligation_reading.outstanding()))
    assert ob_id in deadlines_before
    assert ob_id not in set(outstanding)
    assert ob_id not in {d.subject_id for d in reminder_deadlines.active_deadlines(session)}
    report = reminders.sweep(
        session,
        now=NOW + timedelta(days=400),
        mailer=RecordingMailer(),
        base_url="https://breachdesk.example.org",
    )
    assert all(r.subject_id != ob_id for r in report.sent)
