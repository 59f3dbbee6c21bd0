"""Email through a real SMTP server (aiosmtpd on a free loopback port): delivery, refusal,
an unreachable server, backoff, and what admins see. In-app delivery never waits for email."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from email import message_from_string
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa

from incident_app.jobs.reminders import mailer_for
from incident_app.mailer import Mail
from incident_app.mailer import MailDeliveryError
from incident_app.mailer import SmtpMailer
from incident_app.mailer import UnconfiguredMailer
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.models.notification import Notification
from incident_app.models.user import Role
from incident_app.services.reminders import notifications
from incident_app.services.reminders import sweep as reminders
from tests.support.factories import make_user
from tests.support.reminder_factories import Inbox
from tests.support.reminder_factories import free_port
from tests.support.reminder_factories import make_obligation
from tests.support.reminder_factories import make_team
from tests.support.reminder_factories import start_smtp

APRIL_1 = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = start_smtp(box, port)
    yield box, port
    controller.stop()


def smtp_config(port: int) -> dict[str, object]:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_STARTTLS": False,
        "SMTP_SSL": False,
        "MAIL_FROM": "reminders@breachdesk.example.org",
        "SMTP_TIMEOUT_SECONDS": 5,
    }


def test_smtp_mailer_delivers_to_a_real_server(inbox) -> None:
    box, port = inbox
    mailer = SmtpMailer.from_config(smtp_config(port))

    mailer.send(Mail("lead@example.org", "BD-2026-0001: due in 30 days", "Body line."))

    assert len(box.messages) == 1
    recipients, raw = box.messages[0]
    parsed = message_from_string(raw)
    assert recipients == ["lead@example.org"]
    assert parsed["From"] == "reminders@breachdesk.example.org"
    assert parsed["Subject"] == "BD-2026-0001: due in 30 days"
    assert parsed.get_payload().strip() == "Body line."
    # RFC 5322 3.6: an origination date (parseable, timezone-aware) and a Message-ID.
    sent = parsedate_to_datetime(parsed["Date"])
    assert sent.tzinfo is not None
    assert abs((datetime.now(UTC) - sent).total_seconds()) < 120
    assert parsed["Message-ID"].startswith("<") and parsed["Message-ID"].endswith(">")


def test_a_refusing_server_gives_a_readable_error(inbox) -> None:
    box, port = inbox
    box.refuse_with = "550 5.7.1 Relaying denied"
    mailer = SmtpMailer.from_config(smtp_config(port))

    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(Mail("lead@example.org", "s", "b"))

    assert "refused the message: 550 5.7.1 Relaying denied" in str(caught.value)
    assert caught.value.server_down is False


def test_an_unreachable_server_is_reported_as_down() -> None:
    mailer = SmtpMailer.from_config(smtp_config(free_port()))  # nothing listens there

    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(Mail("lead@example.org", "s", "b"))

    assert "could not deliver through 127.0.0.1" in str(caught.value)
    assert caught.value.server_down is True


def test_no_smtp_host_means_an_unconfigured_mailer_and_a_startup_warning(app, caplog) -> None:
    app.config["SMTP_HOST"] = ""
    app.extensions.pop("mailer", None)

    with caplog.at_level(logging.WARNING, logger="breachdesk.reminders"):
        mailer = mailer_for(app)

    assert isinstance(mailer, UnconfiguredMailer)
    assert "SMTP is not configured" in caplog.text
    with pytest.raises(MailDeliveryError, match="SMTP_HOST is empty"):
        mailer.send(Mail("a@example.org", "s", "b"))


# ---------------------------------------------------------------- the sweep with SMTP


def test_reminder_email_reaches_the_team_once(session, inbox) -> None:
    box, port = inbox
    team = make_team(session)
    make_obligation(session, team.incident, due_on=date(2026, 5, 1))
    mailer = SmtpMailer.from_config(smtp_config(port))

    for minute in range(3):  # three sweeps, a minute apart
        reminders.sweep(
            session,
            now=APRIL_1 + timedelta(minutes=minute),
            mailer=mailer,
            base_url="https://breachdesk.example.org",
        )

    assert sorted(r[0] for r, _ in box.messages) == sorted([team.lead.email, team.legal.email])
    raw = box.to(team.lead.email)[0]
    assert f"Incident: {team.incident.reference}" in raw
    assert "Jane" not in raw


def test_smtp_down_keeps_the_in_app_reminder_and_retries_with_backoff(session) -> None:
    port = free_port()
    team = make_team(session)
    admin = make_user(session, role=Role.ADMIN)
    make_obligation(session, team.incident, due_on=date(2026, 5, 1), kind="hhs_notice")
    mailer = SmtpMailer.from_config(smtp_config(port))

    def run(after: timedelta) -> reminders.SweepReport:
        return reminders.sweep(
            session, now=APRIL_1 + after, mailer=mailer, base_url="https://breachdesk.example.org"
        )

    first = run(timedelta(0))  # nothing listens: the server is down
    assert len(first.sent) == 1 and first.email_failures == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    message = session.scalars(sa.select(EmailMessage)).one()
    assert (message.status, message.attempts) == (EmailStatus.PENDING, 1)
    assert message.next_attempt_at == APRIL_1 + timedelta(minutes=1)
    status = notifications.email_delivery_status(session, actor=admin, now=APRIL_1, configured=True)
    assert status.pending == 1 and "could not deliver" in status.failing[0].last_error
    assert notifications.failing_email_count(session, actor=admin) == 1
    assert notifications.failing_email_count(session, actor=team.lead) == 0

    assert run(timedelta(seconds=30)).email_failures == 0  # still backing off: no attempt
    assert run(timedelta(minutes=1)).email_failures == 1
    session.refresh(message)
    assert message.next_attempt_at == APRIL_1 + timedelta(minutes=3)  # 1 + 2 minutes

    box = Inbox()
    controller = start_smtp(box, port)  # the server comes back
    try:
        assert run(timedelta(minutes=3)).emailed == 1
        assert run(timedelta(minutes=4)).emailed == 0
    finally:
        controller.stop()
    session.refresh(message)
    assert (message.status, message.attempts) == (EmailStatus.SENT, 3)
    assert [r for r, _ in box.messages] == [[team.lead.email]]
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    assert notifications.failing_email_count(session, actor=admin) == 0


def test_a_refusing_server_is_retried_and_visible_to_admins(session, inbox) -> None:
    box, port = inbox
    box.refuse_with = "554 5.7.1 Message rejected"
    team = make_team(session)
    admin = make_user(session, role=Role.ADMIN)
    make_obligation(session, team.incident, due_on=date(2026, 5, 1), kind="hhs_notice")
    mailer = SmtpMailer.from_config(smtp_config(port))

    report = reminders.sweep(session, now=APRIL_1, mailer=mailer, base_url="https://x.test")

    assert report.email_failures == 1
    status = notifications.email_delivery_status(session, actor=admin, now=APRIL_1, configured=True)
    assert status.failing[0].last_error.endswith("554 5.7.1 Message rejected")
    box.refuse_with = None
    later = reminders.sweep(
        session, now=APRIL_1 + timedelta(minutes=1), mailer=mailer, base_url="https://x.test"
    )
    assert later.emailed == 1 and len(box.messages) == 1


def test_backoff_is_capped(session) -> None:
    team = make_team(session)
    make_obligation(session, team.incident, due_on=date(2026, 5, 1), kind="hhs_notice")
    mailer = SmtpMailer.from_config(smtp_config(free_port()))
    now = APRIL_1
    for _ in range(8):
        reminders.sweep(
            session, now=now, mailer=mailer, base_url="https://x.test", retry_cap_minutes=10
        )
        message = session.scalars(sa.select(EmailMessage)).one()
        session.refresh(message)
        now = message.next_attempt_at

    gaps = message.attempts, message.next_attempt_at - message.last_attempt_at
    assert gaps == (8, timedelta(minutes=10))  # 1, 2, 4, 8, then 10 every time
