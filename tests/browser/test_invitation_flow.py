"""In Chromium: a privacy officer invites a client's contact by email (the default). The
invitation really leaves through the outbox to a local SMTP server (aiosmtpd); the test reads
the link from the received mail, the contact opens it (the page passes axe), sets a password,
signs in, sets up an authenticator and lands on its portal. The link then no longer works."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_string

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import expect

from incident_app import app_store
from incident_app import clock
from incident_app.db import get_session
from incident_app.jobs.reminders import mailer_for
from incident_app.models.user import Role
from incident_app.services.clients import registry
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders.outbox import deliver_email
from tests.browser.test_review_queue_flow import _shot
from tests.browser.test_review_queue_flow import _sign_in
from tests.browser.test_review_queue_flow import _sign_out
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.invitation_helpers import path_in
from tests.support.reminder_factories import Inbox
from tests.support.reminder_factories import free_port
from tests.support.reminder_factories import start_smtp

pytestmark = pytest.mark.browser

CONTACT = "dana@elm.example"
CHOSEN = "dana chose this password"


@pytest.fixture
def inbox(live_app: Flask) -> Iterator[Inbox]:
    box, port = Inbox(), free_port()
    controller = start_smtp(box, port)
    live_app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_SSL=False
    )
    yield box
    controller.stop()


def _seed(app: Flask) -> int:
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        elm = registry.create_client(
            session,
            actor=officer,
            values=registry.ClientValues("Elm Clinic", "Dana Reyes, dana@elm.example"),
            now=NOW,
        )
        get_organisation(session).acts_as_business_associate = True
        session.commit()
        return elm.id


def _send_outbox(app: Flask) -> int:
    """What the scheduler's sweep does after the commit: hand queued mail to SMTP."""
    with app.app_context():
        delivered, failed = deliver_email(
            get_session(),
            mailer=mailer_for(app),
            now=clock.utcnow(),
            keyring=app_store.current_keyring(),
        )
    assert failed == 0
    return delivered


def test_an_invited_contact_sets_a_password_enrols_and_reaches_the_portal(
    live_app, live_server, page, inbox
) -> None:
    elm = _seed(live_app)
    base = live_server.url
    live_app.config["APP_BASE_URL"] = base  # links in email point at this server

    _sign_in(page, base, "po@example.org")
    page.goto(f"{base}/clients/{elm}")
    page.get_by_label("Name", exact=True).fill("Dana Reyes")
    page.get_by_label("Email", exact=True).fill(CONTACT)
    expect(page.get_by_label("Email them a one-time link")).to_be_checked()
    page.get_by_role("button", name="Invite a client contact").click()
    expect(page.get_by_text(f"{CONTACT} invited.")).to_be_visible()
    expect(page.get_by_text("invited: has not set a password yet")).to_be_visible()
    _sign_out(page)

    assert _send_outbox(live_app) == 1
    recipients, raw = inbox.messages[0]
    assert recipients == [CONTACT]
    body = message_from_string(raw).get_payload(decode=True).decode()
    link = base + path_in(body)

    page.goto(link)
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    axe_module = pytest.importorskip(
        "axe_playwright_python.sync_playwright",
        reason="axe-playwright-python (requirements-dev.txt) is not installed",
    )
    results = axe_module.Axe().run(page)
    assert not results.violations_count, results.generate_report()
    _shot(page, "invitation-set-password.png")

    page.get_by_label("Choose a password").fill("too short")
    page.get_by_label("Repeat the password").fill("too short")
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_text("The password must be at least 12 characters long.")).to_be_visible()
    page.get_by_label("Choose a password").fill(CHOSEN)
    page.get_by_label("Repeat the password").fill(CHOSEN)
    page.get_by_role("button", name="Set my password").click()
    page.wait_for_url(f"{base}/login")
    expect(page.get_by_text("Your password is set")).to_be_visible()

    page.get_by_label("Email").fill(CONTACT)
    page.get_by_label("Password").fill(CHOSEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/account/mfa")
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Enter the 6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_text("Two-step sign-in is on")).to_be_visible()
    page.goto(f"{base}/")
    page.wait_for_url(f"{base}/portal/")
    expect(page.get_by_role("heading", name="Elm Clinic: breaches reported to you")).to_be_visible()

    page.goto(link)
    expect(page.get_by_text("This invitation link was already used")).to_be_visible()
