"""Each sent notice and supplement carries its own acknowledgement: the overview summarises
them per client with overdue ones marked, the contact's portal lists what awaits its
acknowledgement first, and one still unacknowledged N business days after sending (an
organisation setting, default 5) is reminded to the privacy officers, without PHI, and shows
in the calendar feed."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from incident_app.errors import ValidationFailed
from incident_app.mailer import RecordingMailer
from incident_app.models.audit import AuditEvent
from incident_app.models.notification import Notification
from incident_app.models.reminder import ReminderSent
from incident_app.models.reminder import SubjectType
from incident_app.models.user import Role
from incident_app.services import organisation
from incident_app.services.clients import incident_clients
from incident_app.services.clients import notices
from incident_app.services.clients import portal
from incident_app.services.reminders import calendar_feed
from incident_app.services.reminders import sweep
from tests.support.client_helpers import LATER
from tests.support.client_helpers import append_rows
from tests.support.client_helpers import contact
from tests.support.client_helpers import draft
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.roster_helpers import person

BASE = "https://breachdesk.example.org"
# NOW is Monday 2026-03-02: five business days later is Monday 2026-03-09.
DUE = date(2026, 3, 9)


def _send(session, officer, incident, notice, now):
    return notices.record_sent(
        session, actor=officer, incident_id=incident.id, notice_id=notice.id, now=now
    )


def _acknowledge(session, dana, client, incident, notice, now):
    return notices.acknowledge(
        session,
        actor=dana,
        client_id=client.id,
        incident_id=incident.id,
        notice_id=notice.id,
        now=now,
    )


def _notice_and_supplement(session, officer, store, incident, elm):
    first = draft(session, officer, store, incident, elm)
    _send(session, officer, incident, first, NOW)
    append_rows(session, officer, store, incident, person("E3", "Di", "Novak") + ",Elm Clinic")
    second = draft(session, officer, store, incident, elm, update="A second night.", now=LATER)
    _send(session, officer, incident, second, LATER)
    return first, second


def _lines(session, officer, incident, now):
    lines = incident_clients.overview(session, actor=officer, incident_id=incident.id, now=now)
    return {line.client.name: line for line in lines}


def _ack_reminders(session):
    return session.scalars(
        sa.select(ReminderSent).where(ReminderSent.subject_type == SubjectType.CLIENT_NOTICE)
    ).all()


def test_the_overview_shows_every_notice_and_supplement_and_marks_overdue_ones(
    session, officer, store, world
):
    incident, elm, _oak = world
    first, second = _notice_and_supplement(session, officer, store, incident, elm)
    dana = contact(session, officer, elm)

    lines = _lines(session, officer, incident, LATER)
    assert lines["Elm Clinic"].acks.text == "Notice + 1 supplement, 2 unacknowledged"
    assert lines["Elm Clinic"].acks.overdue == 0
    assert lines["Oak Practice"].acks.text == "—"

    _acknowledge(session, dana, elm, incident, first, LATER)
    acks = _lines(session, officer, incident, LATER)["Elm Clinic"].acks
    assert acks.text == "Notice + 1 supplement, 1 unacknowledged"
    assert (acks.latest_label, acks.latest_acknowledged_at) == ("Supplement 1", None)

    # The supplement, sent Thursday 2026-03-05, is due five business days later: 03-12.
    assert (
        _lines(session, officer, incident, NOW + timedelta(days=10))["Elm Clinic"].acks.overdue == 0
    )
    late = _lines(session, officer, incident, NOW + timedelta(days=11))["Elm Clinic"].acks
    assert late.overdue == 1

    _acknowledge(session, dana, elm, incident, second, NOW + timedelta(days=11))
    done = _lines(session, officer, incident, NOW + timedelta(days=11))["Elm Clinic"].acks
    assert (done.text, done.overdue) == ("Notice + 1 supplement, all acknowledged", 0)


def test_the_portal_lists_what_awaits_acknowledgement_first(session, officer, store, world):
    incident, elm, _oak = world
    first, second = _notice_and_supplement(session, officer, store, incident, elm)
    dana = contact(session, officer, elm)
    _acknowledge(session, dana, elm, incident, first, LATER)

    case = portal.case(session, actor=dana, client_id=elm.id, incident_id=incident.id, now=LATER)
    assert [n.id for n in case.notices] == [second.id, first.id]
    assert portal.awaiting_by_incident(session, elm.id) == {incident.id: 1}
    _acknowledge(session, dana, elm, incident, second, LATER)
    assert portal.awaiting_by_incident(session, elm.id) == {}


def test_an_unacknowledged_notice_is_reminded_to_privacy_officers_once_without_phi(
    session, officer, store, world
):
    incident, elm, _oak = world
    first = draft(session, officer, store, incident, elm)
    _send(session, officer, incident, first, NOW)
    dana = contact(session, officer, elm)
    mailer = RecordingMailer()

    sweep.sweep(session, now=NOW + timedelta(days=6), mailer=mailer, base_url=BASE)  # Sunday
    assert _ack_reminders(session) == []

    due_morning = NOW + timedelta(days=7)  # Monday 2026-03-09
    sweep.sweep(session, now=due_morning, mailer=mailer, base_url=BASE)
    sweep.sweep(session, now=due_morning + timedelta(days=1), mailer=mailer, base_url=BASE)
    (reminder,) = _ack_reminders(session)
    assert (reminder.subject_id, reminder.due_on, reminder.days_before) == (first.id, DUE, 0)
    told = set(
        session.scalars(
            sa.select(Notification.user_id).where(Notification.reminder_id == reminder.id)
        )
    )
    assert officer.id in told and dana.id not in told
    (body,) = [mail.body for mail in mailer.sent if "acknowledgement of Notice" in mail.body]
    assert "Client acknowledgement: Elm Clinic: acknowledgement of Notice (45 CFR 164.410)" in body
    assert f"/incidents/{incident.id}/client-notices/{first.id}" in body
    for phi in ("Lee", "Ortiz", "Ana", "1980"):
        assert phi not in body

    token = calendar_feed.issue_token(session, actor=officer, now=NOW)
    calendar = Calendar.from_ical(calendar_feed.feed(session, token=token, now=NOW, base_url=BASE))
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert events[f"client_notice-{first.id}@breachdesk.example.org"].decoded("DTSTART") == DUE

    _acknowledge(session, dana, elm, incident, first, due_morning + timedelta(days=1))
    calendar = Calendar.from_ical(calendar_feed.feed(session, token=token, now=NOW, base_url=BASE))
    assert f"client_notice-{first.id}@breachdesk.example.org" not in {
        str(e["UID"]) for e in calendar.walk("VEVENT")
    }


def test_an_acknowledged_notice_is_not_reminded_and_the_days_are_a_setting(
    session, officer, store, world
):
    incident, elm, oak = world
    elm_notice = draft(session, officer, store, incident, elm)
    oak_notice = draft(session, officer, store, incident, oak)
    _send(session, officer, incident, elm_notice, NOW)
    _send(session, officer, incident, oak_notice, NOW)
    _acknowledge(session, contact(session, officer, elm), elm, incident, elm_notice, LATER)

    admin = make_user(session, role=Role.ADMIN)
    org = organisation.get_organisation(session)
    values = {name: getattr(org, name) for name in organisation.TEXT_FIELDS}
    with pytest.raises(ValidationFailed, match="between 1 and 30 business days"):
        organisation.update_settings(
            session, actor=admin, values=values, logo=None, now=NOW, client_ack_business_days=0
        )
    session.rollback()
    assert organisation.get_organisation(session).client_ack_business_days == 5
    organisation.update_settings(
        session, actor=admin, values=values, logo=None, now=NOW, client_ack_business_days=2
    )
    changed = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "settings.updated")
    ).all()[-1]
    assert changed.details["client_ack_business_days"] == [5, 2]

    sweep.sweep(session, now=NOW + timedelta(days=2), mailer=RecordingMailer(), base_url=BASE)
    (reminder,) = _ack_reminders(session)  # Oak's only: Elm acknowledged
    assert (reminder.subject_id, reminder.due_on) == (oak_notice.id, date(2026, 3, 4))
