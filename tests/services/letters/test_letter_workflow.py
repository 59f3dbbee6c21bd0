"""Letter workflow: generate from the case, content check, review, approval bound to the bytes."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.letters import MissingLetterField
from incident_app.letters import pdf_text
from incident_app.models.audit import AuditEvent
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterReviewEvent
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import LetterVersion
from incident_app.models.letter import NoticeWording
from incident_app.models.letter import ReviewAction
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import Role
from incident_app.services.letters import approved as letter_approved
from incident_app.services.letters import context as letter_context
from incident_app.services.letters import generation
from incident_app.services.letters import notice_wording
from incident_app.services.letters import reading
from incident_app.services.letters import review
from incident_app.services.organisation import get_organisation
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def people(session):
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    legal = make_user(session, role=Role.LEGAL)
    return officer, legal


@pytest.fixture
def case(session, people):
    from incident_app.models.incident import CaseRole

    officer, legal = people
    return breach_case(session, officer=officer, members={legal: CaseRole.LEGAL})


def _generate(
    session,
    actor,
    incident,
    kind="individual_notice",
    template="individual_adult.html",
    jurisdiction=None,
    **extra,
):
    ob = obligation(session, incident, kind, jurisdiction)
    return generation.generate(
        session,
        actor=actor,
        now=NOW,
        incident_id=incident.id,
        request=generation.LetterRequest(ob.id, template, **extra),
        store=app_store.current_store(),
    )


def _approve(session, officer, legal, incident, **kwargs):
    letter = _generate(session, officer, incident, **kwargs)
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=incident.id, letter_id=letter.id
    )
    return review.approve(
        session,
        actor=legal,
        now=LATER,
        incident_id=incident.id,
        letter_id=letter.id,
        store=app_store.current_store(),
        expected_sha256=letter.current_version.sha256,
    )


def _actions(session, incident_id):
    return list(
        session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.incident_id == incident_id)
            .order_by(AuditEvent.seq)
        )
    )


def test_individual_notice_is_rendered_from_the_case_and_stored_by_hash(session, people, case):
    officer, _ = people
    letter = _generate(session, officer, case)

    version = letter.current_version
    data = app_store.read_verified(version.sha256)
    text = pdf_text(data)
    assert letter.status is LetterStatus.DRAFT
    assert letter.document_id == f"{case.reference}-L1"
    assert version.size_bytes == len(data)
    assert "September 10, 2025" in text  # breach date (occurred 18:00 UTC = Chicago day)
    assert "September 15, 2025" in text  # discovery date
    assert "Date of birth" in text and "1-800-555-0142" in text
    assert "Sample Recipient" in text
    assert version.missing_elements == []
    assert version.content_report["readability"]["advice"].startswith("Plain language")
    assert "letter.generated" in _actions(session, case.id)
    entry = session.scalars(
        sa.select(TimelineEntry).where(
            TimelineEntry.incident_id == case.id, TimelineEntry.kind == EntryKind.LETTER
        )
    ).one()
    assert "generated" in entry.text


def test_media_release_names_the_state_over_500_and_its_count(session, people, case):
    officer, _ = people
    letter = _generate(
        session,
        officer,
        case,
        kind="media_notice",
        template="media_release.html",
        jurisdiction="IL",
    )

    text = pdf_text(app_store.read_verified(letter.current_version.sha256))
    assert "Illinois" in text and "1,150" in text and "1,204" in text
    assert "Sam Rivera" in text


def test_hhs_packet_pdf_and_json_carry_the_portal_answers(session, people, case):
    officer, _ = people
    letter = _generate(session, officer, case, kind="hhs_notice", template="hhs_packet.html")

    text = pdf_text(app_store.read_verified(letter.current_version.sha256))
    answers = json.loads(
        reading.hhs_json(session, actor=officer, now=NOW, incident_id=case.id, letter_id=letter.id)
    )
    section = answers["Section 3 – Breach"]
    assert section["Breach Start Date"] == "09/10/2025"
    assert section["Discovery Start Date"] == "09/15/2025"
    assert section["Approximate Number of Individuals Affected by the Breach"] == "1204"
    assert "09/10/2025" in text and "Riverbend Community Health" in text
    assert "letter.hhs_json_viewed" in _actions(session, case.id)


def test_a_template_field_the_context_lacks_fails_loudly_and_stores_nothing(
    session, people, case, monkeypatch, app
):
    officer, _ = people
    real = letter_context._BUILDERS["individual_adult.html"]

    def without_what_happened(session_, case_):
        context = real(session_, case_)
        del context["breach"]["what_happened"]
        return context

    monkeypatch.setitem(letter_context._BUILDERS, "individual_adult.html", without_what_happened)
    before = _actions(session, case.id)

    with pytest.raises(MissingLetterField, match="what_happened"):
        _generate(session, officer, case)

    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 0
    assert list(app_store.current_store().iter_hashes()) == []
    assert _actions(session, case.id) == before


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"root:x:0:0:from-the-network")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[str]]]:
    _RecordingHandler.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _RecordingHandler.requests
    server.shutdown()


def test_case_text_with_html_and_fetch_attacks_prints_as_text_and_fetches_nothing(
    session, people, case, local_server
):
    officer, _ = people
    base, requests = local_server
    wording = session.scalars(sa.select(NoticeWording)).one()
    wording.what_happened = (
        f'<img src="file:///etc/passwd"><link rel="attachment" href="file:///etc/passwd">'
        f'<img src="{base}/pixel.png"><link rel="stylesheet" href="{base}/x.css">'
        f'<img src="../../../etc/passwd"><script>document.write("hacked")</script>'
    )
    wording.steps_for_individuals = [f"<a href='{base}/phish'>Click</a>", "Call us."]
    session.commit()

    letter = _generate(session, officer, case)

    data = app_store.read_verified(letter.current_version.sha256)
    reader = PdfReader(BytesIO(data))
    text = pdf_text(data)
    assert requests == []
    assert dict(reader.attachments) == {}
    assert b"root:x:0:0" not in data and "root:x" not in text
    assert "hacked" not in text.replace('document.write("hacked")', "")
    assert '<img src="file:///etc/passwd">' in text.replace("\n", "")  # printed, not obeyed
    images = [name for page in reader.pages for name in page.images]
    assert images == []


def test_review_is_refused_while_elements_are_missing_naming_each(session, people):
    officer, _ = people
    incident = breach_case(session, officer=officer, wording=False)
    letter = _generate(session, officer, incident)

    assert "(A) what happened" in letter.current_version.missing_elements
    with pytest.raises(ValidationFailed) as error:
        review.submit_for_review(
            session, actor=officer, now=NOW, incident_id=incident.id, letter_id=letter.id
        )
    message = str(error.value)
    assert "(A) what happened" in message
    assert "(C) steps individuals should take" in message
    assert "(D) what the organisation is doing" in message
    assert session.get(Letter, letter.id).status is LetterStatus.DRAFT


def test_legal_approval_records_approver_time_template_version_and_hash(session, people, case):
    officer, legal = people
    letter = _approve(session, officer, legal, case)

    version = letter.current_version
    event = session.scalars(sa.select(LetterReviewEvent).order_by(LetterReviewEvent.id)).all()[-1]
    assert letter.status is LetterStatus.APPROVED
    assert letter.approved_version_id == version.id
    assert (event.action, event.actor_id, event.at) == (ReviewAction.APPROVED, legal.id, LATER)
    assert event.sha256 == version.sha256
    assert event.template_version == version.template_version
    assert review.approval_valid(session, letter)


def test_the_author_cannot_approve_their_own_letter(session, people, case):
    officer, _ = people
    get_organisation(session).privacy_officer_may_approve = True
    session.commit()
    letter = _generate(session, officer, case)
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=case.id, letter_id=letter.id
    )

    with pytest.raises(NotAllowed, match="another reviewer"):
        review.approve(
            session,
            actor=officer,
            now=LATER,
            incident_id=case.id,
            letter_id=letter.id,
            store=app_store.current_store(),
            expected_sha256=letter.current_version.sha256,
        )
    assert session.get(Letter, letter.id).status is LetterStatus.IN_REVIEW


def test_privacy_officers_approve_only_when_the_setting_allows(session, people, case):
    officer, _ = people
    other_officer = make_user(session, role=Role.PRIVACY_OFFICER)
    letter = _generate(session, officer, case)
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=case.id, letter_id=letter.id
    )

    with pytest.raises(NotAllowed, match="legal reviewers"):
        review.approve(
            session,
            actor=other_officer,
            now=LATER,
            incident_id=case.id,
            letter_id=letter.id,
            store=app_store.current_store(),
            expected_sha256=letter.current_version.sha256,
        )
    get_organisation(session).privacy_officer_may_approve = True
    session.commit()
    approved = review.approve(
        session,
        actor=other_officer,
        now=LATER,
        incident_id=case.id,
        letter_id=letter.id,
        store=app_store.current_store(),
        expected_sha256=letter.current_version.sha256,
    )
    assert approved.status is LetterStatus.APPROVED


def test_approving_a_stale_draft_after_a_data_change_is_refused(session, people, case):
    officer, legal = people
    letter = _generate(session, officer, case)
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=case.id, letter_id=letter.id
    )
    notice_wording.save_wording(
        session,
        actor=officer,
        now=NOW,
        incident_id=case.id,
        values={
            "what_happened": "A different story.",
            "steps_for_individuals": "Call us.",
            "what_we_are_doing": "Fixing it.",
        },
    )

    with pytest.raises(InvalidTransition, match="case data this letter prints changed"):
        review.approve(
            session,
            actor=legal,
            now=LATER,
            incident_id=case.id,
            letter_id=letter.id,
            store=app_store.current_store(),
            expected_sha256=letter.current_version.sha256,
        )
    assert session.get(Letter, letter.id).status is LetterStatus.IN_REVIEW


def test_a_data_change_after_approval_voids_it_and_hides_it_from_the_mail_merge(
    session, people, case
):
    officer, legal = people
    letter = _approve(session, officer, legal, case)
    assert letter_approved.approved_letter(session, incident_id=case.id, kind="individual_notice")

    get_organisation(session).toll_free_number = "1-888-555-0199"
    session.commit()

    state = review.freshness(session, letter)
    assert state.stale and "case data" in state.reasons[0]
    assert not review.approval_valid(session, letter)
    assert (
        letter_approved.approved_letter(session, incident_id=case.id, kind="individual_notice")
        is None
    )


def test_a_template_change_voids_the_approval(session, people, case):
    officer, legal = people
    letter = _approve(session, officer, legal, case)
    # As if the template files were different when this version was rendered.
    letter.current_version.template_version = "0" * 64
    session.commit()

    assert review.freshness(session, letter).reasons == (
        "The letter template changed since this version was rendered.",
    )
    assert not review.approval_valid(session, letter)


def test_a_re_render_voids_the_approval_and_says_so(session, people, case):
    officer, legal = people
    letter = _approve(session, officer, legal, case)
    approved_id = letter.current_version_id

    letter = _generate(session, officer, case)

    assert letter.status is LetterStatus.DRAFT
    assert letter.current_version.number == 2
    assert letter.approved_version_id == approved_id  # kept for the side-by-side view
    assert not review.approval_valid(session, letter)
    actions = [
        e.action
        for e in reading.letter_page(
            session, actor=officer, now=NOW, incident_id=case.id, letter_id=letter.id
        ).events
    ]
    assert ReviewAction.APPROVAL_VOIDED in actions


def test_download_of_tampered_bytes_is_refused_and_audited(session, people, case, app):
    officer, legal = people
    letter = _approve(session, officer, legal, case)
    version = letter.current_version
    path = app_store.current_store().path_for(version.sha256)
    path.write_bytes(
        app_store.current_store().path_for(version.sha256).read_bytes()[:-40] + b"\0" * 40
    )

    with pytest.raises(review.LetterIntegrityFailed, match="Download refused.*approved"):
        reading.download(
            session,
            actor=legal,
            now=LATER,
            incident_id=case.id,
            letter_id=letter.id,
            version_id=version.id,
            store=app_store.current_store(),
        )

    refused = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "letter.download_refused")
    ).one()
    assert refused.actor_id == legal.id and refused.details["sha256"] == version.sha256


def test_download_and_view_are_audited(session, people, case):
    officer, legal = people
    letter = _generate(session, officer, case)

    name, data = reading.download(
        session,
        actor=legal,
        now=NOW,
        incident_id=case.id,
        letter_id=letter.id,
        version_id=letter.current_version_id,
        store=app_store.current_store(),
    )
    reading.letter_page(session, actor=legal, now=NOW, incident_id=case.id, letter_id=letter.id)

    assert name == f"{letter.document_id}-v1.pdf" and data.startswith(b"%PDF")
    assert {"letter.downloaded", "letter.viewed"} <= set(_actions(session, case.id))


def test_changes_requested_needs_a_comment_then_the_letter_goes_round_again(session, people, case):
    officer, legal = people
    letter = _generate(session, officer, case)
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=case.id, letter_id=letter.id
    )

    with pytest.raises(ValidationFailed, match="Say what has to change"):
        review.request_changes(
            session, actor=legal, now=NOW, incident_id=case.id, letter_id=letter.id, comment="  "
        )
    review.request_changes(
        session,
        actor=legal,
        now=NOW,
        incident_id=case.id,
        letter_id=letter.id,
        comment="Add the credit monitoring offer.",
    )
    assert letter.status is LetterStatus.CHANGES_REQUESTED
    with pytest.raises(InvalidTransition, match="not in legal review"):
        review.approve(
            session,
            actor=legal,
            now=LATER,
            incident_id=case.id,
            letter_id=letter.id,
            store=app_store.current_store(),
            expected_sha256=letter.current_version.sha256,
        )

    notice_wording.save_wording(
        session,
        actor=officer,
        now=NOW,
        incident_id=case.id,
        values={
            "what_happened": "A laptop was stolen.",
            "steps_for_individuals": "Enroll in the free credit monitoring we offer.",
            "what_we_are_doing": "We are encrypting every laptop.",
        },
    )
    _generate(session, officer, case)
    review.submit_for_review(
        session, actor=officer, now=NOW, incident_id=case.id, letter_id=letter.id
    )
    assert (
        review.approve(
            session,
            actor=legal,
            now=LATER,
            incident_id=case.id,
            letter_id=letter.id,
            store=app_store.current_store(),
            expected_sha256=letter.current_version.sha256,
        ).status
        is LetterStatus.APPROVED
    )


def test_compare_shows_the_approved_text_beside_the_new_draft(session, people, case):
    officer, legal = people
    letter = _approve(session, officer, legal, case)
    notice_wording.save_wording(
        session,
        actor=officer,
        now=NOW,
        incident_id=case.id,
        values={
            "what_happened": "A laptop was stolen from a parked car.",
            "steps_for_individuals": "Review the statements you get from your health insurer.",
            "what_we_are_doing": "We reported the theft to the police.",
        },
    )
    _generate(session, officer, case)

    comparison = reading.compare(
        session,
        actor=legal,
        now=LATER,
        incident_id=case.id,
        letter_id=letter.id,
        store=app_store.current_store(),
    )

    assert comparison.approved.number == 1 and comparison.draft.number == 2
    changed_new = " ".join(new for tag, _, new in comparison.rows if tag != "same")
    changed_old = " ".join(old for tag, old, _ in comparison.rows if tag != "same")
    assert "parked car" in changed_new
    assert "billing team" in changed_old
    assert any(tag == "same" for tag, _, _ in comparison.rows)


def test_approved_letter_gives_the_mail_merge_the_template_version_and_sample(
    session, people, case
):
    officer, legal = people
    letter = _approve(session, officer, legal, case)

    approved = letter_approved.approved_letter(
        session, incident_id=case.id, kind="individual_notice"
    )

    version = session.get(LetterVersion, letter.approved_version_id)
    assert approved.version_id == version.id
    assert approved.template_name == "individual_adult.html"
    assert approved.template_version == version.template_version
    assert approved.sample_sha256 == version.sha256
    assert approved.approved_by_id == legal.id
    assert "recipient" not in approved.common_context
    assert approved.common_context["breach"]["discovered_on"].isoformat() == "2025-09-15"


def test_a_responder_may_not_review_and_a_legal_user_may_not_generate(session, people, case):
    from incident_app.models.incident import CaseRole
    from incident_app.models.incident import IncidentMember

    officer, legal = people
    responder = make_user(session, role=Role.RESPONDER)
    session.add(
        IncidentMember(incident_id=case.id, user_id=responder.id, case_role=CaseRole.RESPONDER)
    )
    session.commit()
    letter = _generate(session, responder, case)
    review.submit_for_review(
        session, actor=responder, now=NOW, incident_id=case.id, letter_id=letter.id
    )

    with pytest.raises(NotAllowed):
        review.approve(
            session,
            actor=responder,
            now=LATER,
            incident_id=case.id,
            letter_id=letter.id,
            store=app_store.current_store(),
            expected_sha256=letter.current_version.sha256,
        )
    with pytest.raises(NotAllowed):
        _generate(session, legal, case)


def test_a_letter_that_does_not_fit_the_obligation_is_refused(session, people, case):
    officer, _ = people
    with pytest.raises(ValidationFailed, match="not a letter for this obligation"):
        _generate(session, officer, case, kind="hhs_notice", template="individual_adult.html")


def test_an_addressed_letter_needs_the_office_address(session, people, case):
    officer, _ = people
    with pytest.raises(ValidationFailed, match="addressee"):
        _generate(
            session,
            officer,
            case,
            kind="state_regulator_notice",
            template="state_ag.html",
            jurisdiction="IL",
        )
    session.rollback()
    letter = _generate(
        session,
        officer,
        case,
        kind="state_regulator_notice",
        template="state_ag.html",
        jurisdiction="IL",
        recipient_name="Office of the Illinois Attorney General",
        recipient_address=("100 W. Randolph Street", "Chicago, IL 60601"),
    )
    text = pdf_text(app_store.read_verified(letter.current_version.sha256))
    assert "Illinois" in text and "1,150" in text
