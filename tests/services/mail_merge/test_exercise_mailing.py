"""A tabletop exercise's mailing (issue 23) runs the same mail merge: every page of its letters,
print file and proof says EXERCISE (read back with pypdf), and its emailed notices reach only
team members' addresses — through a real SMTP server — while the rest are suppressed."""

from __future__ import annotations

import io
from email import message_from_string
from email.policy import default

import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import app_store
from incident_app.letters import EXERCISE_TEXT
from incident_app.mailer import SmtpMailer
from incident_app.models.incident import CaseRole
from incident_app.models.mail_batch import MailChunk
from incident_app.models.notification import EmailMessage
from incident_app.models.notification import EmailStatus
from incident_app.services.mail_merge import worker as mail_worker
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders import outbox
from tests.support.letter_factories import breach_case
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import letter_pdf
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import worker
from tests.support.reminder_factories import Inbox
from tests.support.reminder_factories import free_port
from tests.support.reminder_factories import start_smtp
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv

OUTSIDER = "mail.me@example.org"


def _pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _drill_with_roster(session, people, *rows):
    incident = breach_case(
        session, officer=people.officer, members={people.legal: CaseRole.LEGAL}, exercise=True
    )
    import_csv(
        session,
        actor=people.officer,
        incident_id=incident.id,
        data=csv_bytes(*rows),
        store=app_store.current_store(),
    )
    return incident


def test_a_drill_mailing_is_marked_on_every_page_and_emails_only_the_team(session, people):
    org = get_organisation(session)
    org.email_notice_enabled = True
    session.commit()
    incident = _drill_with_roster(
        session,
        people,
        adult("Ana", "García"),
        adult("Bo", "Lind"),
        adult("Mail", "Me", email=OUTSIDER, consent="Y"),
        adult("Team", "Mate", email=people.legal.email.upper(), consent="Y"),
    )
    [sample] = approve(session, people, incident)
    assert all(
        EXERCISE_TEXT in page
        for page in _pages(app_store.read_verified(sample.current_version.sha256))
    )

    batch = start(session, people, incident)
    assert mail_worker.work(session, worker=worker()) == 1

    proof = _pages(app_store.read_verified(batch.proof_sha256))
    assert proof and all(EXERCISE_TEXT in page for page in proof)
    rows = [row for row in batch_letters(session, batch) if row.sha256]
    assert len(rows) == 2
    for row in rows:
        pages = _pages(letter_pdf(row))
        assert all(EXERCISE_TEXT in page for page in pages)
        assert row.letter_code in "".join(pages)
    chunk = session.scalars(sa.select(MailChunk).where(MailChunk.batch_id == batch.id)).one()
    printed = _pages(app_store.read_verified(chunk.print_sha256))
    assert len(printed) >= 2 and all(EXERCISE_TEXT in page for page in printed)

    box, port = Inbox(), free_port()
    controller = start_smtp(box, port)
    try:
        mailer = SmtpMailer(host="127.0.0.1", port=port, sender="bd@example.org", starttls=False)
        outbox.deliver_email(session, mailer=mailer, now=LATER, keyring=app_store.current_keyring())
    finally:
        controller.stop()

    assert box.to(OUTSIDER) == []
    [(recipients, raw)] = box.messages
    parsed = message_from_string(raw, policy=default)
    assert recipients == [people.legal.email.upper()]
    assert parsed["Subject"].strip().startswith("[EXERCISE] Notice of a data breach")
    assert EXERCISE_TEXT in parsed.get_content()
    statuses = {m.to_address: m.status for m in session.scalars(sa.select(EmailMessage))}
    assert statuses == {
        OUTSIDER: EmailStatus.SUPPRESSED,
        people.legal.email.upper(): EmailStatus.SENT,
    }
