"""A tabletop exercise's email reaches the team only (issue 23), through a real SMTP server
(aiosmtpd on a free loopback port): team members get it with "[EXERCISE]" in the subject (and
"EXERCISE — " in the bell),
anything addressed outside is suppressed before SMTP and audited; a real incident's mail is
untouched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import date
from datetime import datetime
from email import message_from_string
from email.policy import default

import pytest
import sqlalchemy as sa

from incident_app.mailer import SmtpMailer
from incident_app.models.audit import AuditEvent
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.models.notification import Notification
from incident_app.models.reminder import ReminderSent
from incident_app.services.reminders import notifications
from incident_app.services.reminders import outbox
from incident_app.services.reminders import sweep as reminders
from tests.support.reminder_factories import Inbox
from tests.support.reminder_factories import free_port
from tests.support.reminder_factories import make_obligation
from tests.support.reminder_factories import make_team
from tests.support.reminder_factories import start_smtp

APRIL_1 = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)
OUTSIDER = "patient.pat@example.net"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, SmtpMailer]]:
    box, port = Inbox(), free_port()
    controller = start_smtp(box, port)
    yield box, SmtpMailer(host="127.0.0.1", port=port, sender="bd@example.org", starttls=False)
    controller.stop()


def _subjects(box: Inbox, address: str) -> list[str]:
    return [message_from_string(raw, policy=default)["Subject"].strip() for raw in box.to(address)]


def _suppressions(session) -> list[AuditEvent]:
    return list(
        session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "email.suppressed_exercise")
        )
    )


def test_a_drills_reminders_reach_the_team_marked_and_nobody_outside(session, inbox) -> None:
    box, mailer = inbox
    team = make_team(session, exercise=True)
    make_obligation(session, team.incident, due_on=date(2026, 5, 1))
    reminders.sweep(session, now=APRIL_1, mailer=mailer, base_url="https://bd.example.org")
    reminder = session.scalars(sa.select(ReminderSent)).first()
    # Someone outside the team on the same reminder (a forwarded address, a client contact).
    session.add(
        EmailMessage(
            reminder_id=reminder.id,
            to_address=OUTSIDER,
            subject="[BreachDesk] a deadline",
            body="x",
            created_at=APRIL_1,
            next_attempt_at=APRIL_1,
        )
    )
    session.commit()

    outbox.deliver_email(session, mailer=mailer, now=APRIL_1)

    for member in (team.lead, team.legal):
        subjects = _subjects(box, member.email)
        assert subjects and all(s.startswith("[EXERCISE] [BreachDesk]") for s in subjects)
    assert box.to(OUTSIDER) == []
    held = session.scalars(sa.select(EmailMessage).where(EmailMessage.to_address == OUTSIDER)).one()
    assert held.status is EmailStatus.SUPPRESSED and held.sent_at is None
    assert "tabletop exercise" in held.last_error
    [event] = _suppressions(session)
    assert event.incident_id == team.incident.id
    assert event.details["to_domain"] == "example.net"
    assert OUTSIDER not in str(event.details)  # the address itself is not copied to the audit
    bell = session.scalars(sa.select(Notification.title)).all()
    assert bell and all(title.startswith("EXERCISE — ") for title in bell)


def test_an_inactive_users_address_counts_as_outside(session, inbox) -> None:
    box, mailer = inbox
    team = make_team(session, exercise=True)
    team.legal.active = False
    session.add(
        EmailMessage(
            to_address=team.legal.email,
            subject="[EXERCISE] Notice of a data breach – Riverbend",
            body="x",
            created_at=APRIL_1,
            next_attempt_at=APRIL_1,
        )
    )
    session.commit()

    outbox.deliver_email(session, mailer=mailer, now=APRIL_1)

    assert box.messages == []
    assert session.scalars(sa.select(EmailMessage)).one().status is EmailStatus.SUPPRESSED


def test_a_review_request_of_a_drill_is_marked(session, inbox) -> None:
    box, mailer = inbox
    team = make_team(session, exercise=True)
    request = notifications.ReviewRequest(
        incident_id=team.incident.id,
        reference=team.incident.reference,
        document_id=f"{team.incident.reference}-L1",
        letter_label="Call-centre FAQ",
        version=1,
        due_on=None,
        link="/incidents/1/letters/1",
        requested_by=team.lead.name,
        revision=False,
    )
    note = notifications.notify_review_request(
        session, reviewer=team.legal, request=request, now=APRIL_1, email_base_url="https://bd"
    )
    session.commit()
    assert note.title.startswith("EXERCISE — ")

    outbox.deliver_email(session, mailer=mailer, now=APRIL_1)

    [subject] = _subjects(box, team.legal.email)
    assert subject.startswith("[EXERCISE] [BreachDesk]")


def test_a_real_incidents_mail_to_an_individual_is_sent_unchanged(session, inbox) -> None:
    box, mailer = inbox
    make_team(session)  # a real incident exists; this message is not an exercise's
    session.add(
        EmailMessage(
            to_address=OUTSIDER,
            subject="Notice of a data breach – Riverbend",
            body="x",
            created_at=APRIL_1,
            next_attempt_at=APRIL_1,
        )
    )
    session.commit()

    assert outbox.deliver_email(session, mailer=mailer, now=APRIL_1) == (1, 0)

    assert _subjects(box, OUTSIDER) == ["Notice of a data breach – Riverbend"]
    assert _suppressions(session) == []
