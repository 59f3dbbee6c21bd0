"""Returned mail by letter code: with a new address the person is re-mailed in the next batch
under a new letter code (the returned letter stays as history); without one they count as
unreachable and the substitute-notice count and obligations follow (164.404(d)(2)); a letter
recorded twice and an unknown code are refused with nothing written."""

from __future__ import annotations

import io
from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import Incident
from incident_app.models.inquiry import ReturnedLetter
from incident_app.models.inquiry import ReturnOutcome
from incident_app.models.mail_batch import MailLetter
from incident_app.models.obligation import Obligation
from incident_app.models.roster import AddressStatus
from incident_app.models.roster import NoticeStatus
from incident_app.models.roster import RosterPerson
from incident_app.services.mail_merge import worker as mail_worker
from incident_app.services.obligations import reading as obligation_reading
from incident_app.services.roster import people as roster_people
from incident_app.services.roster import returned_letters as returns
from tests.support.inquiry_helpers import count_of
from tests.support.inquiry_helpers import keyring
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import team
from tests.support.mail_merge_helpers import worker

NOW = LATER + timedelta(days=3)
NEW_HOME = returns.NewAddress("77 Birch Rd", "Buffalo", "NY", "14201", line2="Apt 4")


@pytest.fixture
def people(session):
    return team(session)


def _return(session, case, code, **kwargs):
    return returns.record_return(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        keyring=keyring(),
        letter_code=code,
        **kwargs,
    )


def test_a_new_address_re_queues_the_letter_for_the_next_mailing_with_a_new_code(session, people):
    case = mailed_case(session, people, adult("Ana", "García"), adult("Bo"))
    old = case.letters["Ana"]
    row = _return(session, case, old.letter_code, new_address=NEW_HOME)

    assert row.outcome is ReturnOutcome.REMAIL
    person = session.get(RosterPerson, old.person_id)
    assert person.notice_status is NoticeStatus.PENDING
    phi = roster_people.decrypt(keyring(), person)
    assert (phi["a1"], phi["a2"], phi["city"], phi["zip"]) == (
        "77 Birch Rd",
        "Apt 4",
        "Buffalo",
        "14201",
    )
    assert b"Birch" not in person.phi
    assert (person.state, person.zip3, person.address_status) == (
        "NY",
        "142",
        AddressStatus.SUFFICIENT,
    )
    _, views = returns.list_returns(session, actor=case.responder, incident_id=case.incident.id)
    assert views[0].status.startswith("Re-mail pending")

    batch = start(session, people, case.incident)
    mail_worker.work(session, worker=worker())
    again = batch_letters(session, batch)
    assert [letter.person_id for letter in again] == [old.person_id]  # only the re-mailed one
    assert again[0].letter_code != old.letter_code
    assert session.get(MailLetter, old.id) is not None  # history kept
    _, views = returns.list_returns(session, actor=case.responder, incident_id=case.incident.id)
    assert (views[0].status, views[0].new_code) == ("Re-mailed", again[0].letter_code)
    actions = set(session.scalars(sa.select(AuditEvent.action)))
    assert {"roster.letter_returned", "roster.address_changed"} <= actions


def test_without_an_address_the_person_is_unreachable_and_counted(session, people):
    case = mailed_case(session, people, adult("Ana"), adult("Bo"))
    before = session.get(Incident, case.incident.id).insufficient_contact_living or 0
    _return(session, case, case.letters["Ana"].letter_code, returned_on=date(2026, 3, 3))

    person = session.get(RosterPerson, case.letters["Ana"].person_id)
    assert person.notice_status is NoticeStatus.RETURNED_MAIL
    assert person.notice_on == date(2026, 3, 3)
    assert session.get(Incident, case.incident.id).insufficient_contact_living == before + 1


def test_ten_unreachable_people_call_for_substitute_notice(session, people):
    names = [f"P{n}" for n in range(10)]
    case = mailed_case(session, people, *(adult(name) for name in names))
    codes = "letter_code\r\n" + "\r\n".join(case.letters[n].letter_code for n in names)

    result = returns.import_return_codes(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        upload=io.BytesIO(codes.encode()),
        max_bytes=1_000_000,
    )

    assert result.recorded == 10 and result.unreachable_living == 10
    kinds = set(
        session.scalars(
            sa.select(Obligation.kind).where(
                Obligation.incident_id == case.incident.id, obligation_reading.outstanding()
            )
        )
    )
    assert any("substitute" in kind for kind in kinds), kinds


def test_a_letter_recorded_twice_is_refused_and_nothing_changes(session, people):
    case = mailed_case(session, people, adult("Ana"))
    code = case.letters["Ana"].letter_code
    _return(session, case, code)
    events = count_of(session, AuditEvent)

    with pytest.raises(ValidationFailed, match="already recorded as returned") as error:
        _return(session, case, code, new_address=NEW_HOME)
    assert error.value.field == "letter_code"
    session.rollback()
    assert count_of(session, ReturnedLetter) == 1
    assert count_of(session, AuditEvent) == events
    person = session.get(RosterPerson, case.letters["Ana"].person_id)
    assert person.notice_status is NoticeStatus.RETURNED_MAIL
    assert "Birch" not in str(roster_people.decrypt(keyring(), person))


def test_an_unknown_letter_code_is_refused(session, people):
    case = mailed_case(session, people, adult("Ana"))
    with pytest.raises(ValidationFailed, match="No letter of this incident has the code"):
        _return(session, case, "NOPE-1")
    session.rollback()
    assert count_of(session, ReturnedLetter) == 0


@pytest.mark.parametrize(
    ("address", "field"),
    [
        (returns.NewAddress("", "Buffalo", "NY", "14201"), "line1"),
        (returns.NewAddress("1 Main", "Buffalo", "NY", "1"), "zip_code"),
        (returns.NewAddress("1 Main", "Buffalo", "Atlantis", "14201"), "zip_code"),
    ],
)
def test_an_incomplete_new_address_is_refused(session, people, address, field):
    case = mailed_case(session, people, adult("Ana"))
    with pytest.raises(ValidationFailed) as error:
        _return(session, case, case.letters["Ana"].letter_code, new_address=address)
    assert error.value.field == field
    session.rollback()
    assert count_of(session, ReturnedLetter) == 0


def test_a_future_return_date_is_refused(session, people):
    case = mailed_case(session, people, adult("Ana"))
    with pytest.raises(ValidationFailed, match="future"):
        _return(session, case, case.letters["Ana"].letter_code, returned_on=date(2027, 1, 1))


def test_a_codes_file_with_a_bad_row_changes_nothing_and_names_the_rows(session, people):
    case = mailed_case(session, people, adult("Ana"), adult("Bo"))
    ana, bo = case.letters["Ana"].letter_code, case.letters["Bo"].letter_code
    _return(session, case, bo)
    body = f"letter_code,returned_on\r\n{ana},2026-03-03\r\nNOPE-1,\r\n{bo},\r\n{ana},\r\n"

    with pytest.raises(ValidationFailed) as error:
        returns.import_return_codes(
            session,
            actor=case.responder,
            now=NOW,
            incident_id=case.incident.id,
            upload=io.BytesIO(body.encode()),
            max_bytes=1_000_000,
        )
    message = str(error.value)
    assert "Row 3: No letter" in message
    assert f"Row 4: Letter {bo} was already recorded" in message
    assert "Row 5:" in message and "listed twice" in message
    assert message.endswith("Nothing was changed.")
    session.rollback()
    assert count_of(session, ReturnedLetter) == 1


def test_a_codes_file_without_the_column_is_refused(session, people):
    case = mailed_case(session, people, adult("Ana"))
    with pytest.raises(ValidationFailed, match="letter_code column"):
        returns.import_return_codes(
            session,
            actor=case.responder,
            now=NOW,
            incident_id=case.incident.id,
            upload=io.BytesIO(b"external_id\r\nP1\r\n"),
            max_bytes=1_000_000,
        )
