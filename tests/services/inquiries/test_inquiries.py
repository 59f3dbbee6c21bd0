"""The inquiry log: finding the person by letter code or name + date of birth (blind index),
what each category sets off, access, audit, the list, the chart, the export and the follow-up
as a reminder-able deadline; every bad input refused with nothing written."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app.crypto import KeyRing
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.inquiry import FoundBy
from incident_app.models.inquiry import Inquiry
from incident_app.models.inquiry import InquiryCategory as Cat
from incident_app.models.inquiry import InquiryChannel
from incident_app.models.inquiry import InquiryStatus
from incident_app.models.reminder import SubjectType
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.services.inquiries import listing
from incident_app.services.inquiries import recording
from incident_app.services.reminders import deadlines
from incident_app.services.roster import counts as roster_counts
from tests.support.factories import make_user
from tests.support.inquiry_helpers import close
from tests.support.inquiry_helpers import count_of
from tests.support.inquiry_helpers import keyring
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult

NOW = LATER + timedelta(days=2)


def _entry(**fields) -> recording.InquiryInput:
    values = {
        "found_by": FoundBy.LETTER_CODE,
        "channel": InquiryChannel.PHONE,
        "category": Cat.QUESTION,
        "summary": "Asked whether her diagnosis codes were in the file.",
    }
    return recording.InquiryInput(**{**values, **fields})


def _record(session, case, actor=None, **fields):
    return recording.record_inquiry(
        session,
        actor=actor or case.responder,
        now=NOW,
        incident_id=case.incident.id,
        keyring=keyring(),
        entry=_entry(**fields),
    )


def _actions(session, incident_id):
    return list(
        session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.incident_id == incident_id, AuditEvent.action.like("inquiry.%"))
            .order_by(AuditEvent.seq)
        )
    )


@pytest.fixture
def case(session, people):
    return mailed_case(session, people, adult("Ana", "García"), adult("Bo", "Li"))


def test_found_by_letter_code_links_the_person_and_encrypts_the_summary(session, case):
    code = case.letters["Ana"].letter_code
    inquiry = _record(session, case, letter_code=f"  {code.lower()} ")

    assert inquiry.person_id == case.letters["Ana"].person_id
    assert inquiry.letter_code == code
    assert b"diagnosis" not in inquiry.phi
    phi = recording.decrypt(keyring(), inquiry)
    assert phi["summary"].startswith("Asked whether")
    assert phi["initials"] == "A.G."
    assert _actions(session, case.incident.id) == ["inquiry.recorded"]


def test_found_by_name_and_birth_through_the_blind_index(session, case):
    inquiry = _record(
        session,
        case,
        found_by=FoundBy.NAME_DOB,
        first_name="  ana ",
        last_name="GARCÍA",
        birth=date(1980, 4, 2),
    )

    assert inquiry.person_id == case.letters["Ana"].person_id
    assert inquiry.letter_code == case.letters["Ana"].letter_code  # their printed letter


def test_an_unknown_letter_code_is_refused_and_nothing_is_written(session, case):
    before = count_of(session, AuditEvent)
    with pytest.raises(ValidationFailed, match="No letter of this incident has the code") as error:
        _record(session, case, letter_code="BD-2099-0001-M9-000001")
    assert error.value.field == "letter_code"
    session.rollback()
    assert count_of(session, Inquiry) == 0
    assert count_of(session, AuditEvent) == before


def test_another_incidents_letter_code_is_unknown_here(session, people, case):
    other = mailed_case(session, people, adult("Cy"))
    with pytest.raises(ValidationFailed, match="No letter"):
        _record(session, case, letter_code=other.letters["Cy"].letter_code)


def test_name_and_birth_matching_nobody_is_refused(session, case):
    with pytest.raises(ValidationFailed, match="Nobody on this incident's roster") as error:
        _record(
            session,
            case,
            found_by=FoundBy.NAME_DOB,
            first_name="Ana",
            last_name="García",
            birth=date(1980, 4, 3),
        )
    assert error.value.field == "last_name"
    session.rollback()
    assert count_of(session, Inquiry) == 0


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"follow_up_on": date(2026, 3, 1)}, "follow_up_on", "in the past"),
        ({"received_at": NOW + timedelta(days=1)}, "received_at", "in the future"),
        (
            {
                "found_by": FoundBy.NAME_DOB,
                "first_name": "Ana",
                "last_name": "García",
                "birth": date(2030, 1, 1),
            },
            "date_of_birth",
            "in the future",
        ),
        (
            {"found_by": FoundBy.NAME_DOB, "first_name": "Ana", "last_name": "García"},
            "date_of_birth",
            "date of birth",
        ),
        ({"summary": "  "}, "summary", "what the person asked"),
        ({"found_by": FoundBy.NOT_ON_ROSTER}, "caller_name", "caller's name"),
    ],
)
def test_bad_dates_and_missing_parts_are_refused(session, case, fields, field, message):
    fields.setdefault("letter_code", case.letters["Bo"].letter_code)
    with pytest.raises(ValidationFailed, match=message) as error:
        _record(session, case, **fields)
    assert error.value.field == field
    session.rollback()
    assert count_of(session, Inquiry) == 0


def test_someone_not_on_the_roster_is_recorded_with_their_details_encrypted(session, case):
    inquiry = _record(
        session,
        case,
        found_by=FoundBy.NOT_ON_ROSTER,
        caller_name="Dana Whit",
        caller_contact="555-0100",
        channel=InquiryChannel.EMAIL,
    )
    assert inquiry.person_id is None and inquiry.letter_code is None
    assert b"Dana" not in inquiry.phi
    phi = recording.decrypt(keyring(), inquiry)
    assert phi["caller"] == {"name": "Dana Whit", "contact": "555-0100"}
    assert phi["initials"] == "D.W."


def test_a_deceased_notice_marks_the_person_deceased_and_recounts(session, case):
    code = case.letters["Bo"].letter_code
    before = roster_counts.count(session, case.incident.id).deceased_without_nok_address
    _record(session, case, letter_code=code, category=Cat.DECEASED_NOTICE)

    counts = roster_counts.count(session, case.incident.id)
    assert counts.deceased_without_nok_address == before + 1
    marked = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "roster.person_marked_deceased")
    )
    assert marked.subject_id == str(case.letters["Bo"].person_id)


def test_a_media_inquiry_goes_to_a_privacy_officer(session, people, case):
    inquiry = _record(
        session,
        case,
        found_by=FoundBy.NOT_ON_ROSTER,
        caller_name="Daily Ledger",
        category=Cat.MEDIA,
    )
    assert inquiry.assignee_id is not None
    assignee = session.get(type(people.officer), inquiry.assignee_id)
    assert assignee.role is Role.PRIVACY_OFFICER


def test_the_assignee_must_be_on_the_team(session, case):
    outsider = make_user(session, role=Role.RESPONDER)
    with pytest.raises(ValidationFailed, match="team") as error:
        _record(session, case, letter_code=case.letters["Ana"].letter_code, assignee_id=outsider.id)
    assert error.value.field == "assignee_id"


def test_only_the_roster_team_records_and_sees_inquiries(session, case):
    outsider = make_user(session, role=Role.RESPONDER)
    with pytest.raises(NotFound):
        _record(session, case, actor=outsider, letter_code=case.letters["Ana"].letter_code)
    admin = make_user(session, role=Role.ADMIN)
    with pytest.raises(NotAllowed):
        listing.list_inquiries(
            session,
            actor=admin,
            now=NOW,
            incident_id=case.incident.id,
            keyring=keyring(),
            filters=listing.Filters(),
        )


def test_view_is_audited_and_close_keeps_the_outcome_encrypted(session, people, case):
    inquiry = _record(
        session,
        case,
        letter_code=case.letters["Ana"].letter_code,
        follow_up_on=NOW.date() + timedelta(days=3),
    )
    record = recording.view_inquiry(
        session,
        actor=people.officer,
        now=NOW,
        incident_id=case.incident.id,
        inquiry_id=inquiry.id,
        keyring=keyring(),
    )
    assert record.phi["name"] == "Ana García"
    closed = close(session, case, inquiry.id, now=NOW, outcome="Called back; explained the letter.")
    assert closed.status is InquiryStatus.CLOSED and closed.closed_at == NOW
    assert b"explained" not in closed.phi
    assert recording.decrypt(keyring(), closed)["outcome"].startswith("Called back")
    with pytest.raises(InvalidTransition):
        close(session, case, inquiry.id, now=NOW, outcome="again")
    assert _actions(session, case.incident.id) == [
        "inquiry.recorded",
        "inquiry.viewed",
        "inquiry.closed",
    ]


def test_an_inquiry_of_another_incident_is_not_found(session, people, case):
    other = mailed_case(session, people, adult("Cy"))
    inquiry = _record(session, other, letter_code=other.letters["Cy"].letter_code)
    with pytest.raises(NotFound):
        recording.view_inquiry(
            session,
            actor=people.officer,
            now=NOW,
            incident_id=case.incident.id,
            inquiry_id=inquiry.id,
            keyring=keyring(),
        )


def test_the_list_shows_initials_filters_and_reveals_names_only_to_privacy_officers(
    session, people, case
):
    soon = NOW.date() + timedelta(days=1)
    _record(session, case, letter_code=case.letters["Ana"].letter_code, follow_up_on=soon)
    _record(session, case, letter_code=case.letters["Bo"].letter_code, category=Cat.COMPLAINT)

    def shown(actor, **kwargs):
        reveal = kwargs.pop("reveal", False)
        return listing.list_inquiries(
            session,
            actor=actor,
            now=kwargs.pop("now", NOW),
            incident_id=case.incident.id,
            keyring=keyring(),
            filters=listing.Filters(**kwargs),
            reveal=reveal,
        )

    assert [r.who for r in shown(case.responder).rows] == ["B.L.", "A.G."]
    assert [r.who for r in shown(case.responder, category=Cat.COMPLAINT).rows] == ["B.L."]
    assert shown(case.responder, overdue=True).rows == []
    late = shown(case.responder, overdue=True, now=NOW + timedelta(days=3))
    assert [r.who for r in late.rows] == ["A.G."] and late.rows[0].overdue
    with pytest.raises(NotAllowed):
        shown(case.responder, reveal=True)
    assert {r.who for r in shown(people.officer, reveal=True).rows} == {"Ana García", "Bo Li"}
    actions = _actions(session, case.incident.id)
    assert actions.count("inquiry.listed") == 4
    assert actions[-1] == "inquiry.names_revealed"


def test_the_chart_counts_inquiries_per_day(session, case):
    for days_ago in (0, 0, 2):
        _record(
            session,
            case,
            letter_code=case.letters["Ana"].letter_code,
            received_at=NOW - timedelta(days=days_ago),
        )
    chart = listing.per_day(session, actor=case.responder, now=NOW, incident_id=case.incident.id)
    assert [bar.count for bar in chart.bars] == [1, 0, 2]
    assert chart.total == 3 and chart.peak == 2
    assert chart.bars[-1].height == listing.PLOT_HEIGHT


def test_the_export_is_audited_and_neutralises_formulas(session, people, case):
    _record(session, case, found_by=FoundBy.NOT_ON_ROSTER, caller_name="=HYPERLINK(1)")
    lines = list(
        listing.export_inquiries(
            session,
            actor=people.officer,
            now=NOW,
            incident_id=case.incident.id,
            keyring=keyring(),
        )
    )
    assert lines[0].startswith("inquiry_id,")
    assert "'=HYPERLINK(1)" in lines[1]
    assert _actions(session, case.incident.id)[-1] == "inquiry.exported"


def test_a_follow_up_is_a_deadline_until_the_inquiry_is_closed(session, case):
    due = NOW.date() + timedelta(days=2)
    inquiry = _record(
        session,
        case,
        letter_code=case.letters["Ana"].letter_code,
        follow_up_on=due,
        assignee_id=case.responder.id,
    )
    found = [
        d for d in deadlines.active_deadlines(session) if d.subject_type is SubjectType.INQUIRY
    ]
    assert len(found) == 1
    deadline = found[0]
    assert (deadline.subject_id, deadline.due_on, deadline.assignee_id) == (
        inquiry.id,
        due,
        case.responder.id,
    )
    assert "Ana" not in deadline.label and "García" not in deadline.label
    assert deadline.link == f"/incidents/{case.incident.id}/inquiries/{inquiry.id}"
    assert deadlines.still_due(session, deadline)
    close(session, case, inquiry.id, now=NOW, outcome="Done")
    assert not deadlines.still_due(session, deadline)
    assert not [
        d for d in deadlines.active_deadlines(session) if d.subject_type is SubjectType.INQUIRY
    ]


def test_received_at_defaults_to_now(session, case):
    inquiry = _record(session, case, letter_code=case.letters["Ana"].letter_code)
    assert inquiry.received_at == NOW


def test_rows_imported_before_the_name_index_are_indexed_by_the_cli(app, session, runner, case):
    person = session.get(RosterPerson, case.letters["Ana"].person_id)
    person.lookup_index = None  # as a row imported before the index existed
    session.commit()
    by_name = {
        "found_by": FoundBy.NAME_DOB,
        "first_name": "Ana",
        "last_name": "García",
        "birth": date(1980, 4, 2),
    }
    with pytest.raises(ValidationFailed, match="Nobody"):
        _record(session, case, **by_name)
    session.rollback()

    result = runner.invoke(args=["keys", "index-roster", "--batch-size", "1"])

    assert result.exit_code == 0, result.output
    assert "1 roster row(s) indexed" in result.output
    assert _record(session, case, **by_name).person_id == person.id


def test_key_rotation_re_encrypts_inquiries(session, case):
    inquiry = _record(session, case, letter_code=case.letters["Ana"].letter_code)
    keys, index_key = keyring().material()
    rotated = KeyRing([("k-new", bytes(range(100, 132))), *keys], index_key)
    assert rotated.needs_rotation(inquiry.phi)

    assert recording.rotate_inquiries(session, rotated, 1) == 1

    session.refresh(inquiry)
    assert not rotated.needs_rotation(inquiry.phi)
    assert recording.decrypt(rotated, inquiry)["initials"] == "A.G."
    assert recording.rotate_inquiries(session, rotated, 1) == 0
