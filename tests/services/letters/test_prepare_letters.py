""" "Prepare every letter this roster needs": exactly the needed individual-notice variants are
rendered and sent to legal as one review request; nothing is kept when one of them fails."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import ValidationFailed
from incident_app.models.incident import CaseRole
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import NoticeWording
from incident_app.models.mail_batch import Variant
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import Notification
from incident_app.services.letters import prepare
from tests.support.factories import NOW
from tests.support.letter_factories import breach_case
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import team

NOK = ("Mary Baker", "4 Oak Ave", "Albany", "NY", "12203")


@pytest.fixture
def people(session):
    return team(session)


def _prepare(session, people, incident, **kwargs):
    return prepare.prepare_roster_letters(
        session,
        actor=people.officer,
        now=NOW,
        incident_id=incident.id,
        store=app_store.current_store(),
        **kwargs,
    )


def test_exactly_the_needed_variants_go_to_legal_as_one_request(session, people):
    incident = case_with_roster(
        session,
        people,
        adult("Ana"),
        adult("Ben"),
        adult("Kid", minor="Y", dob="2015-01-02"),
        adult("Old", "Baker", deceased="Y", nok=NOK),
    )

    prepared = _prepare(session, people, incident, email_base_url="https://bd.example")

    assert [(p.variant, p.people, p.outcome) for p in prepared] == [
        (Variant.ADULT, 2, "sent to review"),
        (Variant.MINOR, 1, "sent to review"),
        (Variant.DECEASED, 1, "sent to review"),
    ]
    letters = session.scalars(sa.select(Letter).order_by(Letter.id)).all()
    assert [letter.template_name for letter in letters] == [
        "individual_adult.html",
        "individual_minor.html",
        "individual_deceased.html",
    ]  # no Spanish letter: nobody needs it
    assert {letter.status for letter in letters} == {LetterStatus.IN_REVIEW}
    assert {letter.reviewer_id for letter in letters} == {people.legal.id}
    [note] = session.scalars(sa.select(Notification)).all()
    assert note.user_id == people.legal.id and "letters await your review" in note.title
    assert note.link == f"/incidents/{incident.id}/letters/"
    [mail] = session.scalars(sa.select(EmailMessage)).all()
    assert "3 letters" in mail.body and "Version: see each letter" in mail.body
    assert "Ana" not in mail.body and "Baker" not in mail.body


def test_approved_and_pending_variants_are_left_alone(session, people):
    incident = case_with_roster(
        session, people, adult("Ana"), adult("Kid", minor="Y", dob="2015-01-02")
    )
    [approved] = approve(session, people, incident)

    prepared = _prepare(session, people, incident)
    again = _prepare(session, people, incident)

    assert [(p.variant, p.outcome) for p in prepared] == [
        (Variant.ADULT, "already approved"),
        (Variant.MINOR, "sent to review"),
    ]
    assert [p.outcome for p in again] == ["already approved", "already in review"]
    assert approved.current_version.number == 1


def test_an_empty_roster_prepares_nothing_with_a_clear_message(session, people):
    incident = breach_case(
        session, officer=people.officer, members={people.legal: CaseRole.LEGAL}
    )  # no roster imported

    with pytest.raises(ValidationFailed, match="Nobody on the roster is waiting for a letter"):
        _prepare(session, people, incident)
    assert session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 0


def test_one_incomplete_variant_keeps_nothing(session, people):
    incident = case_with_roster(session, people, adult("Ana"), adult("Luz", language="es"))
    wording = session.scalars(sa.select(NoticeWording)).one()
    wording.spanish = {}  # the Spanish letter cannot say what happened
    session.commit()

    with pytest.raises(ValidationFailed):
        _prepare(session, people, incident)

    assert session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
