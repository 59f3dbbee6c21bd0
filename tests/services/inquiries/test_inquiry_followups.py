"""After an inquiry was recorded: linking one recorded as "not on the roster" to the person (by
letter code or name + date of birth, audited; a deceased notice then marks them deceased, as
recording against them does), and an address change recorded from the
inquiry, which re-queues the letter exactly as a returned letter with a new address does; the
person page's story (letters, returns with re-mail status, inquiries) and "Re-mail pending".
Every refusal writes nothing."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.inquiry import FoundBy
from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import InquiryCategory as Cat
from incident_app.models.inquiry import InquiryChannel
from incident_app.models.inquiry import ReturnedLetter
from incident_app.models.inquiry import ReturnOutcome
from incident_app.models.roster import ImportMode
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.services.inquiries import followups
from incident_app.services.inquiries import recording
from incident_app.services.mail_merge import worker as mail_worker
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import history
from incident_app.services.roster import people as roster_people
from incident_app.services.roster import returned_letters as returns
from tests.support.factories import make_user
from tests.support.inquiry_helpers import count_of
from tests.support.inquiry_helpers import keyring
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import worker
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv

NOW = LATER + timedelta(days=2)
BIRTH = date(1980, 4, 2)  # adult()'s date of birth
HOME = returns.NewAddress("77 Birch Rd", "Buffalo", "NY", "14201")


def _record(session, case, **fields):
    values = {
        "found_by": FoundBy.NOT_ON_ROSTER,
        "channel": InquiryChannel.PHONE,
        "category": Cat.ADDRESS_CHANGE,
        "summary": "Moved last month.",
        "caller_name": "Ana García",
    }
    return recording.record_inquiry(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        keyring=keyring(),
        entry=recording.InquiryInput(**{**values, **fields}),
    )


def _link(session, case, inquiry, actor=None, **by):
    return followups.link_person(
        session,
        actor=actor or case.responder,
        now=NOW,
        incident_id=case.incident.id,
        inquiry_id=inquiry.id,
        keyring=keyring(),
        **by,
    )


def _address(session, case, inquiry, address=HOME):
    return followups.record_new_address(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        inquiry_id=inquiry.id,
        keyring=keyring(),
        new_address=address,
    )


def _actions(session):
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_a_not_on_roster_inquiry_is_linked_by_letter_code_and_by_name_and_birth(session, people):
    case = mailed_case(session, people, adult("Ana", "García"), adult("Bo", "Li"))
    by_code = _record(session, case)
    by_name = _record(session, case, caller_name="Bo Li")

    _link(session, case, by_code, letter_code=case.letters["Ana"].letter_code.lower())
    _link(session, case, by_name, first_name="bo", last_name="LI", birth=date(1980, 4, 2))

    session.expire_all()
    ana, bo = case.letters["Ana"], case.letters["Bo"]
    assert (by_code.person_id, by_code.found_by, by_code.letter_code) == (
        ana.person_id,
        FoundBy.LETTER_CODE,
        ana.letter_code,
    )
    assert (by_name.person_id, by_name.found_by, by_name.letter_code) == (
        bo.person_id,
        FoundBy.NAME_DOB,
        bo.letter_code,
    )
    linked = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "inquiry.person_linked")
    ).all()
    assert sorted(e.details["person_id"] for e in linked) == sorted([ana.person_id, bo.person_id])


@pytest.mark.parametrize(
    ("by", "message"),
    [
        ({"letter_code": "NOPE-1"}, "No letter of this incident has the code"),
        (
            {"first_name": "Zed", "last_name": "Nobody", "birth": date(1980, 1, 1)},
            "Nobody on this incident's roster",
        ),
        ({"first_name": "Ana", "last_name": "García"}, "date of birth"),
    ],
)
def test_a_link_that_finds_nobody_is_refused_and_nothing_changes(session, people, by, message):
    case = mailed_case(session, people, adult("Ana", "García"))
    inquiry = _record(session, case)
    events = count_of(session, AuditEvent)

    with pytest.raises(ValidationFailed, match=message):
        _link(session, case, inquiry, **by)
    session.rollback()
    assert session.get(Inquiry, inquiry.id).person_id is None
    assert count_of(session, AuditEvent) == events


def test_an_inquiry_already_linked_cannot_be_linked_again_and_readers_cannot_link(session, people):
    case = mailed_case(session, people, adult("Ana", "García"), adult("Bo", "Li"))
    inquiry = _record(
        session,
        case,
        found_by=FoundBy.LETTER_CODE,
        letter_code=case.letters["Ana"].letter_code,
        caller_name="",
    )
    with pytest.raises(ValidationFailed, match="already linked"):
        _link(session, case, inquiry, letter_code=case.letters["Bo"].letter_code)
    session.rollback()
    assert session.get(Inquiry, inquiry.id).person_id == case.letters["Ana"].person_id

    loose = _record(session, case)
    outsider = make_user(session, role=Role.RESPONDER)  # not on the incident's team
    with pytest.raises(NotFound):
        _link(session, case, loose, actor=outsider, letter_code=case.letters["Bo"].letter_code)
    session.rollback()
    assert session.get(Inquiry, loose.id).person_id is None


def test_an_address_change_from_the_inquiry_re_queues_the_letter_as_a_return_does(session, people):
    case = mailed_case(session, people, adult("Ana", "García"), adult("Bo"))
    old = case.letters["Ana"]
    inquiry = _record(
        session, case, found_by=FoundBy.LETTER_CODE, letter_code=old.letter_code, caller_name=""
    )

    assert _address(session, case, inquiry) == old.letter_code

    row = session.scalar(sa.select(ReturnedLetter))
    assert (row.letter_code, row.outcome) == (old.letter_code, ReturnOutcome.REMAIL)
    person = session.get(RosterPerson, old.person_id)
    assert person.notice_status is NoticeStatus.PENDING
    assert roster_people.decrypt(keyring(), person)["a1"] == "77 Birch Rd"
    assert _actions(session)[-3:] == [
        "roster.letter_returned",
        "roster.address_changed",
        "inquiry.address_recorded",
    ]
    story = history.person_history(
        session, actor=case.responder, incident_id=case.incident.id, person_id=person.id
    )
    assert story.remail_pending and story.returns[0].remail == history.REMAIL_PENDING
    assert [(q.inquiry_id, q.category) for q in story.inquiries] == [(inquiry.id, "Address change")]

    # The next mailing picks the person up under a new code; the state moves on.
    batch = start(session, people, case.incident)
    mail_worker.work(session, worker=worker())
    [again] = batch_letters(session, batch)
    assert again.person_id == person.id and again.letter_code != old.letter_code
    session.expire_all()
    assert session.get(RosterPerson, person.id).notice_status is not NoticeStatus.PENDING
    story = history.person_history(
        session, actor=case.responder, incident_id=case.incident.id, person_id=person.id
    )
    assert not story.remail_pending
    assert story.returns[0].remail == f"Re-mailed as {again.letter_code}"
    assert [line.letter_code for line in story.letters] == [again.letter_code, old.letter_code]
    assert history.remail_pending(session, [session.get(RosterPerson, person.id)]) == set()


def test_an_address_change_for_someone_recorded_unreachable_turns_the_return_into_a_re_mail(
    session, people
):
    case = mailed_case(session, people, adult("Ana", "García"))
    old = case.letters["Ana"]
    returns.record_return(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        keyring=keyring(),
        letter_code=old.letter_code,
    )
    inquiry = _record(
        session, case, found_by=FoundBy.LETTER_CODE, letter_code=old.letter_code, caller_name=""
    )

    _address(session, case, inquiry)

    [row] = session.scalars(sa.select(ReturnedLetter)).all()
    assert row.outcome is ReturnOutcome.REMAIL
    person = session.get(RosterPerson, old.person_id)
    assert person.notice_status is NoticeStatus.PENDING
    assert history.remail_pending(session, [person]) == {person.id}


def _refused(session, case, inquiry, message, address=HOME):
    events = count_of(session, AuditEvent)
    with pytest.raises(ValidationFailed, match=message):
        _address(session, case, inquiry, address)
    session.rollback()
    assert count_of(session, ReturnedLetter) == 0
    assert count_of(session, AuditEvent) == events


def test_address_changes_that_cannot_be_recorded_are_refused_with_nothing_written(session, people):
    case = mailed_case(session, people, adult("Ana", "García"))
    code = case.letters["Ana"].letter_code
    question = _record(
        session,
        case,
        found_by=FoundBy.LETTER_CODE,
        letter_code=code,
        caller_name="",
        category=Cat.QUESTION,
    )
    _refused(session, case, question, "Only an address-change inquiry")
    _refused(session, case, _record(session, case), "Link this inquiry to the roster person")
    linked = _record(session, case, found_by=FoundBy.LETTER_CODE, letter_code=code, caller_name="")
    _refused(
        session,
        case,
        linked,
        "needs a street line",
        returns.NewAddress("", "Buffalo", "NY", "14201"),
    )
    person = session.get(RosterPerson, case.letters["Ana"].person_id)
    assert person.notice_status is not NoticeStatus.PENDING
    assert "Birch" not in str(roster_people.decrypt(keyring(), person))


def test_an_address_change_for_someone_never_mailed_is_refused(session, people):
    case = mailed_case(session, people, adult("Ana", "García"))
    # Cy joins the roster after the mailing (an append import): no letter yet.
    import_csv(
        session,
        actor=people.officer,
        incident_id=case.incident.id,
        data=csv_bytes(adult("Cy", "Ng")),
        store=app_store.current_store(),
        mode=ImportMode.APPEND,
    )
    inquiry = _record(session, case, caller_name="Cy Ng")
    _link(session, case, inquiry, first_name="Cy", last_name="Ng", birth=date(1980, 4, 2))
    assert session.get(Inquiry, inquiry.id).letter_code is None

    _refused(session, case, inquiry, "no mailed letter yet")


# ---- a deceased notice, whether the person is known when recorded or linked later ----------


def _notice(session, case, **fields):
    return _record(session, case, category=Cat.DECEASED_NOTICE, **fields)


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
    inquiry = _record(session, case, category=Cat.ADDRESS_CHANGE)
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
