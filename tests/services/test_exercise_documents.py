"""Every PDF BreachDesk makes for a tabletop exercise (issue 23) says EXERCISE on every page,
read back with pypdf: the letters and documents of the letters area (an individual notice, the
press release, the HHS portal packet), the risk-assessment report and the post-incident review.
The header comes from the renderer, not from the template's wording: the same documents of a
real incident never carry it. (Mail-merge letters, proofs and print files:
tests/services/mail_merge/test_exercise_mailing.py; the FAQ: test_call_centre_faq.py.)"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from incident_app import app_store
from incident_app.letters import EXERCISE_TEXT
from incident_app.models.incident import CaseRole
from incident_app.models.user import Role
from incident_app.services import assessment
from incident_app.services import review
from incident_app.services import review_report
from incident_app.services.assessment import report as assessment_report
from incident_app.services.letters import generation
from tests.services.assessment.test_assessment_recording import LOW_RISK
from tests.services.test_review import REVIEW
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation

LETTERS = (
    ("individual_notice", None, "individual_adult.html"),
    ("media_notice", "IL", "media_release.html"),
    ("hhs_notice", None, "hhs_packet.html"),
)


def _pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


def _documents(session, officer, *, exercise: bool) -> dict[str, bytes]:
    legal = make_user(session, role=Role.LEGAL)
    incident = breach_case(
        session, officer=officer, members={legal: CaseRole.LEGAL}, exercise=exercise
    )
    made = {}
    for kind, jurisdiction, template in LETTERS:
        letter = generation.generate(
            session,
            actor=officer,
            now=NOW,
            incident_id=incident.id,
            request=generation.LetterRequest(
                obligation(session, incident, kind, jurisdiction).id, template
            ),
            store=app_store.current_store(),
        )
        made[template] = app_store.read_verified(letter.current_version.sha256)
    version = assessment.save_assessment(
        session, actor=officer, incident_id=incident.id, answers=LOW_RISK, sign=True, now=NOW
    )
    made["risk assessment"] = assessment_report.export_pdf(
        session, actor=officer, incident_id=incident.id, version_id=version.id, now=NOW
    )[1]
    review.save_review(session, actor=officer, incident_id=incident.id, review=REVIEW, now=NOW)
    made["post-incident review"] = review_report.review_pdf(
        session, actor=officer, incident_id=incident.id, number=1, now=NOW
    )
    return made


def test_every_page_of_every_document_of_a_drill_says_exercise(session, officer):
    documents = _documents(session, officer, exercise=True)

    assert len(documents) == 5
    for name, data in documents.items():
        pages = _pages(data)
        assert pages, name
        unmarked = [n for n, text in enumerate(pages, 1) if EXERCISE_TEXT not in text]
        assert unmarked == [], f"{name}: pages {unmarked} lack the EXERCISE header"


def test_a_real_incidents_documents_carry_no_exercise_mark(session, officer):
    documents = _documents(session, officer, exercise=False)

    for name, data in documents.items():
        assert all("EXERCISE" not in text for text in _pages(data)), name
