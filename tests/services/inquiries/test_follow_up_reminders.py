"""An inquiry's follow-up date goes through the reminder machinery like a task's: the sweep
reminds the assignee (no PHI in the message), the assignee's calendar feed lists it, and a
closed inquiry is reminded no more."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from icalendar import Calendar

from incident_app.mailer import RecordingMailer
from incident_app.models.inquiry import FoundBy
from incident_app.models.inquiry import InquiryCategory
from incident_app.models.inquiry import InquiryChannel
from incident_app.models.notification import Notification
from incident_app.models.reminder import ReminderSent
from incident_app.models.reminder import SubjectType
from incident_app.services.inquiries import recording
from incident_app.services.reminders import calendar_feed
from incident_app.services.reminders import sweep
from tests.support.inquiry_helpers import close
from tests.support.inquiry_helpers import keyring
from tests.support.inquiry_helpers import mailed_case
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult

NOW = LATER + timedelta(days=2)
DUE = NOW.date() + timedelta(days=7)
BASE = "https://breachdesk.example.org"


def _inquiry(session, case):
    return recording.record_inquiry(
        session,
        actor=case.responder,
        now=NOW,
        incident_id=case.incident.id,
        keyring=keyring(),
        entry=recording.InquiryInput(
            found_by=FoundBy.LETTER_CODE,
            channel=InquiryChannel.PHONE,
            category=InquiryCategory.COPY_REQUEST,
            summary="Wants a copy of the letter for her lawyer.",
            letter_code=case.letters["Ana"].letter_code,
            follow_up_on=DUE,
            assignee_id=case.responder.id,
        ),
    )


def _inquiry_points(session):
    rows = session.scalars(
        sa.select(ReminderSent).where(ReminderSent.subject_type == SubjectType.INQUIRY)
    )
    return [(r.subject_id, r.days_before) for r in rows]


def test_the_assignee_is_reminded_without_phi_and_the_feed_lists_it(session, people):
    case = mailed_case(session, people, adult("Ana", "García"))
    inquiry = _inquiry(session, case)
    mailer = RecordingMailer()

    sweep.sweep(session, now=NOW, mailer=mailer, base_url=BASE)

    assert _inquiry_points(session) == [(inquiry.id, 7)]  # the case's obligations have theirs
    assert case.responder.id in session.scalars(sa.select(Notification.user_id)).all()
    bodies = [mail.body for mail in mailer.sent if "Inquiry" in mail.body]
    assert bodies and all("García" not in body and "lawyer" not in body for body in bodies)
    assert f"/incidents/{case.incident.id}/inquiries/{inquiry.id}" in bodies[0]

    token = calendar_feed.issue_token(session, actor=case.responder, now=NOW)
    calendar = Calendar.from_ical(calendar_feed.feed(session, token=token, now=NOW, base_url=BASE))
    found = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    event = found[f"inquiry-{inquiry.id}@breachdesk.example.org"]
    assert event.decoded("DTSTART") == DUE
    assert "García" not in calendar.to_ical().decode()


def test_a_closed_inquiry_is_not_reminded(session, people):
    case = mailed_case(session, people, adult("Ana"))
    inquiry = _inquiry(session, case)
    close(session, case, inquiry.id, now=NOW, outcome="Sent the copy.")
    sweep.sweep(session, now=NOW + timedelta(days=7), mailer=RecordingMailer(), base_url=BASE)
    assert _inquiry_points(session) == []
