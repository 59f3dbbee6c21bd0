"""A deceased notice marks the person deceased whether the person is known when the inquiry is
recorded or only when it is linked later (by letter code or name + date of birth): both paths
run recording.set_off_for_person, audited with the inquiry named. Linking to someone of another
incident, or linking twice, is refused with nothing written."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.inquiry import FoundBy
from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import InquiryCategory as Cat
from incident_app.models.inquiry import InquiryChannel
from incident_app.models.roster import RosterPerson
from incident_app.services.inquiries import followups
from incident_app.services.inquiries import recording
from incident_app.services.roster import counts as roster_counts
from tests.support.inquiry_helpers import count_of
from tests.support.inquiry_helpers import keyring
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult

NOW = LATER + timedelta(days=2)
BIRTH = date(1980, 4, 2)  # adult()'s date of birth


def _notice(session, case, **fields):
    values = {
        "found_by": FoundBy.NOT_ON_ROSTER,
        "channel": InquiryChannel.LETTER,
        "category": Cat.DECEASED_NOTICE,
        "summary": "Her son writes that she passed away in March.",
        "caller_name": "Luis García",
    }
    return recording.record_inquiry(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        keyring=keyring(),
        entry=recording.InquiryInput(**{**values, **fields}),
    )


def _link(session, case, inquiry, **by):
    return followups.link_person(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        inquiry_id=inquiry.id,
        keyring=keyring(),
        **by,
    )


def _marks(session):
    return session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "roster.person_marked_deceased")
        .order_by(AuditEvent.seq)
    ).all()


def _deceased(session, case) -> int:
    return roster_counts.count(session, case.incident.id).deceased_without_nok_address


@pytest.mark.parametrize(
    "how", ["recorded_by_code", "recorded_by_name", "linked_by_code", "linked_by_name"]
)
def test_a_deceased_notice_marks_the_person_whichever_way_they_were_found(session, people, how):
    case = mailed_case(session, people, adult("Ana", "García"), adult("Bo", "Li"))
    ana = case.letters["Ana"]
    before = _deceased(session, case)
    by_code = {"letter_code": ana.letter_code}
    by_name = {"first_name": "Ana", "last_name": "García", "birth": BIRTH}

    if how == "recorded_by_code":
        inquiry = _notice(session, case, found_by=FoundBy.LETTER_CODE, **by_code)
    elif how == "recorded_by_name":
        inquiry = _notice(session, case, found_by=FoundBy.NAME_DOB, **by_name)
    else:
        inquiry = _notice(session, case)
        assert not session.get(RosterPerson, ana.person_id).deceased  # nobody known yet
        _link(session, case, inquiry, **(by_code if how == "linked_by_code" else by_name))

    session.expire_all()
    assert session.get(RosterPerson, ana.person_id).deceased
    assert not session.get(RosterPerson, case.letters["Bo"].person_id).deceased
    assert _deceased(session, case) == before + 1
    [mark] = _marks(session)
    assert mark.subject_id == str(ana.person_id)
    assert mark.details == {"source": "inquiry", "inquiry_id": inquiry.id}
    if how.startswith("linked"):
        linked = session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "inquiry.person_linked")
        )
        assert linked.details["marked_deceased"] is True


def test_linking_another_category_marks_nobody(session, people):
    case = mailed_case(session, people, adult("Ana", "García"))
    inquiry = _notice(session, case, category=Cat.ADDRESS_CHANGE)
    _link(session, case, inquiry, letter_code=case.letters["Ana"].letter_code)
    assert not session.get(RosterPerson, case.letters["Ana"].person_id).deceased
    assert _marks(session) == []


@pytest.mark.parametrize(
    ("by", "message"),
    [
        ("code", "No letter of this incident has the code"),
        ("name", "Nobody on this incident's roster"),
    ],
)
def test_linking_to_a_person_of_another_incident_is_refused_with_nothing_written(
    session, people, by, message
):
    case = mailed_case(session, people, adult("Ana", "García"))
    other = mailed_case(session, people, adult("Cy", "Ng"))
    cy = other.letters["Cy"]
    inquiry = _notice(session, case, caller_name="Cy's sister")
    events = count_of(session, AuditEvent)

    wanted = (
        {"letter_code": cy.letter_code}
        if by == "code"
        else {"first_name": "Cy", "last_name": "Ng", "birth": BIRTH}
    )
    with pytest.raises(ValidationFailed, match=message):
        _link(session, case, inquiry, **wanted)
    session.rollback()

    assert session.get(Inquiry, inquiry.id).person_id is None
    assert not session.get(RosterPerson, cy.person_id).deceased
    assert count_of(session, AuditEvent) == events


def test_linking_twice_is_refused_and_a_second_notice_does_not_mark_again(session, people):
    case = mailed_case(session, people, adult("Ana", "García"), adult("Bo", "Li"))
    ana, bo = case.letters["Ana"], case.letters["Bo"]
    first = _notice(session, case)
    _link(session, case, first, letter_code=ana.letter_code)
    events = count_of(session, AuditEvent)

    with pytest.raises(ValidationFailed, match="already linked"):
        _link(session, case, first, letter_code=bo.letter_code)
    session.rollback()
    assert session.get(Inquiry, first.id).person_id == ana.person_id
    assert not session.get(RosterPerson, bo.person_id).deceased
    assert count_of(session, AuditEvent) == events

    # The family writes again: linked, but Ana is already deceased, so nothing more is marked.
    second = _notice(session, case, caller_name="Luis García, again")
    _link(session, case, second, first_name="Ana", last_name="García", birth=BIRTH)
    assert len(_marks(session)) == 1
    linked = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "inquiry.person_linked")
        .order_by(AuditEvent.seq)
    ).all()
    assert [e.details["marked_deceased"] for e in linked] == [True, False]
