"""A person's letters, returned letters and inquiries follow them across a roster "replace"
import, matched as their enrollment code is (external-id blind index, else identity index):
the new row's page shows them marked as from the earlier roster version, after the old rows
were purged, and again after a second replace. Nothing of the person is copied (the carried
records only gain the new row's id); someone who left the roster takes nothing along."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.models.audit import AuditEvent
from incident_app.models.inquiry import FoundBy
from incident_app.models.inquiry import InquiryCategory
from incident_app.models.inquiry import InquiryChannel
from incident_app.models.roster import RosterPerson
from incident_app.services.inquiries import recording
from incident_app.services.roster import history
from incident_app.services.roster import returned_letters as returns
from tests.support.inquiry_helpers import keyring
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import team
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person

NOW = LATER + timedelta(days=3)
ANA = person("E1", "Ana", "García")
BO = person("E2", "Bo", "Li")
CY = person("", "Cy", "Ng", dob="1975-06-01")  # no external id: matched by identity


@pytest.fixture
def people(session):
    return team(session)


def _replace(session, people, case, *rows):
    import_csv(
        session,
        actor=people.officer,
        incident_id=case.incident.id,
        data=csv_bytes(*rows),
        store=app_store.current_store(),
    )
    session.expire_all()
    return roster_people(session, case.incident)


def _story(session, case, row):
    return history.person_history(
        session, actor=case.responder, incident_id=case.incident.id, person_id=row.id
    )


def _returned_with_new_address(session, case, letter_code: str) -> None:
    returns.record_return(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        keyring=keyring(),
        letter_code=letter_code,
        new_address=returns.NewAddress("77 Birch Rd", "Buffalo", "NY", "14201"),
    )


def test_letters_returns_and_inquiries_follow_the_person_to_the_new_roster(session, people):
    case = mailed_case(session, people, ANA, BO, CY)
    ana, cy = case.letters["Ana"], case.letters["Cy"]
    _returned_with_new_address(session, case, ana.letter_code)
    inquiry = recording.record_inquiry(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        keyring=keyring(),
        entry=recording.InquiryInput(
            found_by=FoundBy.LETTER_CODE,
            channel=InquiryChannel.PHONE,
            category=InquiryCategory.QUESTION,
            summary="Asked what the letter means.",
            letter_code=cy.letter_code,
        ),
    )
    old_ids = {ana.person_id, cy.person_id, case.letters["Bo"].person_id}

    # Ana moved (same MRN), Cy has no MRN (same name, birth and address), Bo left, Dee is new.
    new = _replace(
        session,
        people,
        case,
        person("E1", "Ana", "García", line1="9 Oak Ave"),
        CY,
        person("E4", "Dee", "Fox"),
    )
    # The old rows are gone (purged at the end of the import): the links survived them.
    assert session.scalars(sa.select(RosterPerson).where(RosterPerson.id.in_(old_ids))).all() == []

    ana_story = _story(session, case, new["Ana"])
    assert [(line.letter_code, line.earlier) for line in ana_story.letters] == [
        (ana.letter_code, True)
    ]
    assert [(line.letter_code, line.earlier) for line in ana_story.returns] == [
        (ana.letter_code, True)
    ]
    assert ana_story.inquiries == []
    cy_story = _story(session, case, new["Cy"])
    assert [(line.letter_code, line.earlier) for line in cy_story.letters] == [
        (cy.letter_code, True)
    ]
    assert [(q.inquiry_id, q.earlier) for q in cy_story.inquiries] == [(inquiry.id, True)]
    dee_story = _story(session, case, new["Dee"])
    assert (dee_story.letters, dee_story.returns, dee_story.inquiries) == ([], [], [])

    event = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "roster.history_carried_over")
    )
    assert event.details["by_external_id"] == 1
    assert event.details["by_identity"] == 1
    assert event.details["left_behind"] == 1  # Bo
    assert "García" not in str(event.details)

    # A second replace carries what the first carried, still marked as earlier.
    again = _replace(session, people, case, person("E1", "Ana", "García", line1="9 Oak Ave"))
    ana_story = _story(session, case, again["Ana"])
    assert [(line.letter_code, line.earlier) for line in ana_story.letters] == [
        (ana.letter_code, True)
    ]
    assert [(line.letter_code, line.earlier) for line in ana_story.returns] == [
        (ana.letter_code, True)
    ]


def test_a_carried_return_keeps_the_re_mail_pending_badge_on_the_new_row(session, people):
    case = mailed_case(session, people, ANA, BO)
    ana = case.letters["Ana"]
    _returned_with_new_address(session, case, ana.letter_code)
    assert history.remail_pending(session, [session.get(RosterPerson, ana.person_id)]) == {
        ana.person_id
    }

    new = _replace(session, people, case, person("E1", "Ana", "García", line1="77 Birch Rd"), BO)
    # The new row has no returns of its own: the pending one came along from the old row.
    assert history.remail_pending(session, new.values()) == {new["Ana"].id}
    assert _story(session, case, new["Ana"]).remail_pending
    assert not _story(session, case, new["Bo"]).remail_pending

    # And again after a second replace.
    again = _replace(session, people, case, person("E1", "Ana", "García", line1="77 Birch Rd"))
    assert history.remail_pending(session, again.values()) == {again["Ana"].id}
