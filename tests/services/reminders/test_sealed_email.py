"""Notice emails that carry PHI wait in the outbox encrypted and are opened only to send."""

from __future__ import annotations

import sqlalchemy as sa

from incident_app import app_store
from incident_app.mailer import RecordingMailer
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.services.reminders import notifications
from incident_app.services.reminders import outbox as email_outbox
from tests.support.factories import NOW

NOTICE = "Dear Núñez, we are writing about an incident that may involve your information."


def _queue(session, keyring) -> EmailMessage:
    message = EmailMessage(
        to_address="n@example.org",
        subject="Notice",
        body=notifications.seal_body(keyring, NOTICE),
        created_at=NOW,
        next_attempt_at=NOW,
    )
    session.add(message)
    session.commit()
    return message


def test_a_sealed_body_is_sent_in_clear_and_stored_encrypted(session) -> None:
    keyring = app_store.current_keyring()
    message = _queue(session, keyring)
    mailer = RecordingMailer()

    delivered, failed = email_outbox.deliver_email(session, mailer=mailer, now=NOW, keyring=keyring)

    assert (delivered, failed) == (1, 0)
    assert mailer.sent[0].body == NOTICE
    stored = session.scalars(sa.select(EmailMessage.body)).one()
    assert "Núñez" not in stored and message.status is EmailStatus.SENT


def test_without_the_key_ring_nothing_is_sent_and_the_reason_is_kept(session) -> None:
    message = _queue(session, app_store.current_keyring())
    mailer = RecordingMailer()

    delivered, failed = email_outbox.deliver_email(session, mailer=mailer, now=NOW, keyring=None)

    assert (delivered, failed) == (0, 1) and mailer.sent == []
    assert "cannot decrypt" in message.last_error and message.status is EmailStatus.PENDING
