"""In Chromium: a billing company (a business associate) has a breach that touches three
clinics — Elm (no clause of its own), Oak (a 5-business-day BAA clause) and Pine (delegates
individual notice to us). The officer names the clinics, uploads a roster with a client column,
drafts Elm's 164.410 notice with identities and sends it, and invites Elm's contact. The
contact signs in, must set up an authenticator first, sees only Elm's people (Oak's URL is a
404) and acknowledges the notice; the officer sees the acknowledgement. Legal approves Pine's
own letter and the officer mails it on Pine's letterhead, in a mailing of Pine's own."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from pypdf import PdfReader

from incident_app.db import get_session
from incident_app.jobs.mail_merge import mail_merge_job
from incident_app.jobs.roster import roster_imports_job
from incident_app.models.client import Client
from incident_app.models.incident import CaseRole
from incident_app.models.user import Role
from incident_app.services.clients import registry
from incident_app.services.organisation import get_organisation
from tests.browser.test_review_queue_flow import _shot
from tests.browser.test_review_queue_flow import _sign_in
from tests.browser.test_review_queue_flow import _sign_out
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.roster_helpers import HEADER
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import person

pytestmark = pytest.mark.browser

CLINICS = (
    registry.ClientValues("Elm Clinic", "Dana Reyes, dana@elm.example"),
    registry.ClientValues(
        "Oak Practice", "Sam Oak, sam@oak.example", period_count=5, period_unit="business_days"
    ),
    registry.ClientValues(
        "Pine Hospital",
        "Lee Pine, lee@pine.example",
        delegates_individual_notice=True,
        ba_is_agent=True,
        letterhead_name="Pine Family Medicine",
        letterhead_address="1 Pine Way\nAlbany, NY 12207",
        signatory_name="Dr. Lee Pine",
        signatory_title="Medical Director",
    ),
)
CONTACT = "dana@elm.example"
CONTACT_PASSWORD = "elm clinic first password"


def _roster(tmp_path: Path) -> Path:
    path = tmp_path / "billing-roster.csv"
    path.write_bytes(
        csv_bytes(
            person("E-1", "Ana", "Lee") + ",Elm Clinic",
            person("E-2", "Ben", "Ortiz", state="NJ", city="Newark", zip_code="07102")
            + ",Elm Clinic",
            person("O-1", "Cy", "Oakes") + ",Oak Practice",
            person("P-1", "Lou", "Larch") + ",Pine Hospital",
            person("P-2", "Max", "Maple") + ",Pine Hospital",
            header=HEADER + ",client",
        )
    )
    return path


def _seed(app):
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
        legal = make_user(session, role=Role.LEGAL, email="counsel@example.org")
        for values in CLINICS:
            registry.create_client(session, actor=officer, values=values, now=NOW)
        incident = breach_case(session, officer=officer, members={legal: CaseRole.LEGAL})
        get_organisation(session).acts_as_business_associate = True
        session.commit()
        ids = dict(session.execute(sa.select(Client.name, Client.id)).all())
        return incident.id, ids


def _line(page, name: str):
    return page.locator("table.data tbody tr", has_text=name)


def test_a_billing_companys_breach_across_three_clinics(live_app, live_server, page, tmp_path):
    incident_id, ids = _seed(live_app)
    base = live_server.url
    clients_tab = f"{base}/incidents/{incident_id}/clients"

    # The officer names the clinics: Oak's clause makes its notice due 5 business days after
    # our discovery (Monday 2025-09-15 → Monday 2025-09-22), long past: overdue, in red.
    _sign_in(page, base, "po@example.org")
    page.goto(clients_tab)
    for name in ("Elm Clinic", "Oak Practice", "Pine Hospital"):
        page.get_by_label(name).check()
    page.get_by_role("button", name="Save clients").click()
    expect(page.get_by_text("Per-client deadlines recalculated")).to_be_visible()
    oak = _line(page, "Oak Practice")
    expect(oak).to_contain_text("2025-09-22")
    expect(oak).to_have_class(re.compile("overdue"))
    expect(_line(page, "Elm Clinic")).to_contain_text("2025-11-14")

    # A roster with a client column, imported by the worker.
    page.goto(f"{base}/incidents/{incident_id}/roster/")
    page.get_by_label("Roster CSV file").set_input_files(str(_roster(tmp_path)))
    page.get_by_role("button", name="Upload and import").click()
    roster_imports_job(live_app)
    page.goto(clients_tab)
    expect(_line(page, "Elm Clinic").locator("td").nth(1)).to_have_text("2")
    expect(_line(page, "Pine Hospital").locator("td").nth(1)).to_have_text("2")

    # Elm's notice: the 164.404(c) facts and Elm's people only, then recorded as sent.
    page.get_by_role("region", name="Notices to Elm Clinic").get_by_role(
        "button", name="Draft the notice with identities"
    ).click()
    expect(page.get_by_text("Notice drafted with 2 individual(s).")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download their identities").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert sorted(row[2] for row in rows[1:]) == ["Lee", "Ortiz"]
    page.get_by_role("button", name="Record as sent to the client").click()
    expect(page.get_by_text("Recorded as sent to the client.")).to_be_visible()
    page.goto(clients_tab)
    page.get_by_role("region", name="Notices to Oak Practice").get_by_role(
        "button", name="Draft the notice with identities"
    ).click()
    expect(page.get_by_text("Notice drafted with 1 individual(s).")).to_be_visible()

    # Elm's contact, invited from the client's page.
    page.goto(f"{base}/clients/{ids['Elm Clinic']}")
    page.get_by_label("Name", exact=True).fill("Dana Reyes")
    page.get_by_label("Email", exact=True).fill(CONTACT)
    page.get_by_label("I set a first password").check()  # an emailed link is the default
    page.get_by_label("First password (only if you set it)").fill(CONTACT_PASSWORD)
    page.get_by_role("button", name="Invite a client contact").click()
    expect(page.get_by_text(f"{CONTACT} invited.")).to_be_visible()
    _sign_out(page)

    # The contact must set up an authenticator before anything else.
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(CONTACT)
    page.get_by_label("Password").fill(CONTACT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/account/mfa")
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Enter the 6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_text("Two-step sign-in is on")).to_be_visible()

    page.goto(f"{base}/")
    page.wait_for_url(f"{base}/portal/")
    expect(page.get_by_role("heading", name="Elm Clinic: breaches reported to you")).to_be_visible()
    page.get_by_role("link", name=re.compile("BD-")).click()
    expect(page.get_by_text("Your individuals affected: 2")).to_be_visible()
    page.get_by_role("link", name="See the individuals identified to you").click()
    expect(page.get_by_role("cell", name="Ana Lee")).to_be_visible()
    expect(page.get_by_role("cell", name="Ben Ortiz")).to_be_visible()
    expect(page.get_by_text("Cy Oakes")).to_have_count(0)
    _shot(page, "portal-individuals.png")
    oak_url = f"{base}/portal/clients/{ids['Oak Practice']}/incidents/{incident_id}"
    assert page.goto(oak_url).status == 404
    assert page.goto(f"{base}/incidents/{incident_id}").status == 404
    page.goto(f"{base}/portal/clients/{ids['Elm Clinic']}/incidents/{incident_id}")
    page.get_by_role("link", name="Notice", exact=True).click()
    page.get_by_role("button", name="Acknowledge receipt of this notice").click()
    expect(page.get_by_text("You acknowledged receipt")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    _sign_in(page, base, "po@example.org")
    page.goto(clients_tab)
    expect(page.get_by_role("region", name="Notices to Elm Clinic")).to_contain_text("acknowledged")
    acknowledged = _line(page, "Elm Clinic").locator("td").nth(7)  # the Acknowledged column
    expect(acknowledged).to_have_text(
        re.compile(
            r"^Notice, all acknowledged\s*Latest: Notice, sent \d{4}-\d{2}-\d{2}, "
            r"acknowledged \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$"
        )
    )
    expect(_line(page, "Oak Practice").locator("td").nth(7)).to_have_text("—")  # not sent

    # Pine delegates individual notice: its own letter, on its letterhead, approved by legal.
    page.goto(f"{base}/incidents/{incident_id}/letters/")
    pine = page.locator('article[data-kind="individual_notice"][data-client="Pine Hospital"]')
    pine.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("generated.")).to_be_visible()
    letter_url = page.url
    page.get_by_role("button", name="Send to legal review").click()
    _sign_out(page)
    _sign_in(page, base, "counsel@example.org")
    page.goto(letter_url)
    page.get_by_test_id("approve-confirm").locator("summary").click()
    page.get_by_role("button", name="Confirm approval of").click()
    expect(page.get_by_test_id("approval")).to_have_text("Approval valid")
    _sign_out(page)

    _sign_in(page, base, "po@example.org")
    page.goto(f"{base}/incidents/{incident_id}/mailing/")
    page.get_by_test_id("client-mailing").click()
    expect(page.get_by_role("heading", name=re.compile("for Pine Hospital"))).to_be_visible()
    page.get_by_test_id("start-mailing").click()
    expect(page.get_by_test_id("confirm-letters")).to_have_text("2")
    page.get_by_role("button", name="Queue 2 notices").click()
    page.get_by_test_id("batch-status").wait_for()
    mail_merge_job(live_app)
    page.reload()
    expect(page.get_by_test_id("batch-status")).to_have_text("Completed")
    with page.expect_download() as download:
        page.get_by_role("link", name="print PDF").click()
    pdf = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert "Pine Family Medicine" in text and "Dr. Lee Pine" in text
    assert "Larch" in text and "Maple" in text and "Oakes" not in text
    _shot(page, "pine-mailing.png")
