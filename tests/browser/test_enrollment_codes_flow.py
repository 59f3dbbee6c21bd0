"""In Chromium (issue 23, "codes imported and printed on letters"): the privacy officer imports
the vendor's codes with the offer (a file repeating a code is refused first, naming the rows),
sees the pool and the state offer lengths, mails the roster from the approved letters, then —
as the mail house would — downloads the print file and the manifest: every code is printed
exactly once and the manifest lists each letter's last four; each letter's own PDF carries its
person's code and no other; the vendor export lists each code once; the person's record shows
their code. 1,000 letters, as the issue's "Done means" asks (one print file: a chunk is 1,000
letters); the cross-chunk check (codes once across several print files) is the service test
tests/services/enrolment/test_enrolment_print_files.py."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from pypdf import PdfReader

from incident_app import app_store
from incident_app.db import get_session
from incident_app.jobs.mail_merge import mail_merge_job
from incident_app.letters import pdf_text
from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.mail_batch import MailBatch
from incident_app.models.user import User
from incident_app.services.enrolment import codes as code_crypto
from tests.browser.test_review_queue_flow import _shot
from tests.browser.test_review_queue_flow import _sign_in
from tests.support.enrolment_helpers import codes_csv
from tests.support.enrolment_helpers import fresh_codes
from tests.support.mail_merge_helpers import Team
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import letter_pdf
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import team

pytestmark = pytest.mark.browser
LETTERS = 1000


def _import(page, path, months: str) -> None:
    page.get_by_label("Monitoring vendor").fill("Experian")
    page.get_by_label("Product (as the letter names it)").fill("IdentityWorks credit monitoring")
    page.get_by_label("Length of the offer, in months").fill(months)
    page.get_by_label("Enrollment web address").fill("https://www.experianidworks.com/3bcredit")
    page.get_by_label("Enrollment phone number").fill("1-877-288-8057")
    page.get_by_label("Enroll by").fill("2030-12-31")
    page.get_by_label("Codes file (CSV)").set_input_files(str(path))
    page.get_by_test_id("import-codes").click()


def test_codes_imported_and_printed_once_each(live_app, live_server, page, tmp_path):
    with live_app.app_context():
        session = get_session()
        people = team(session)
        rows = [adult(f"Person{n}") for n in range(LETTERS - 1)]
        incident = case_with_roster(
            session, people, adult("Penny", state="PA", zip_code="19103"), *rows
        )
        officer, legal, incident_id = people.officer.email, people.legal.email, incident.id
        reference = incident.reference
    base = live_server.url
    codes = fresh_codes(LETTERS + 5)
    repeated = tmp_path / "repeated.csv"
    repeated.write_bytes(codes_csv([*codes[:3], codes[1]]))
    good = tmp_path / "codes.csv"
    good.write_bytes(codes_csv(codes))

    _sign_in(page, base, officer)
    page.goto(f"{base}/incidents/{incident_id}/codes/")
    expect(page.get_by_test_id("offer-requirements")).to_contain_text("No offer yet")
    _import(page, repeated, "12")
    expect(page.locator(".has-error")).to_contain_text("row 5 repeats row 3")
    expect(page.get_by_test_id("pool-total")).to_have_count(0)  # nothing was imported
    _import(page, good, "12")
    expect(page.locator(".flash-success")).to_contain_text(f"{LETTERS + 5:,} codes imported")
    expect(page.get_by_test_id("pool-free")).to_have_text(f"{LETTERS + 5:,}")
    expect(page.get_by_test_id("offer-requirements")).to_contain_text("Meets it")  # PA: 12
    _shot(page, "enrollment-codes.png")

    with live_app.app_context():  # legal approves the letters that now print the offer
        session = get_session()
        approve(session, team_of(session, officer, legal), session.get(type(incident), incident_id))

    page.goto(f"{base}/incidents/{incident_id}/mailing/")
    expect(page.get_by_test_id("code-supply")).to_contain_text(f"need {LETTERS:,}")
    page.get_by_test_id("start-mailing").click()
    page.get_by_role("button", name=f"Queue {LETTERS:,} notices").click()
    expect(page.get_by_test_id("batch-status")).to_be_visible()
    mail_merge_job(live_app)
    page.reload()
    expect(page.get_by_test_id("batch-status")).to_have_text("Completed")

    # What the mail house downloads.
    href = page.get_by_role("link", name="print PDF").get_attribute("href")
    printed = page.request.get(f"{base}{href}")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(printed.body())).pages)
    code_pattern = re.compile(r"\b(" + codes[0][:4] + r"\d{5})\b")
    seen = Counter(code_pattern.findall(text))
    assert len(seen) == LETTERS and set(seen.values()) == {1}
    assert text.count("Enrollment code") == LETTERS
    manifest_link = page.get_by_role("link", name="manifest CSV")
    manifest_url = f"{base}{manifest_link.get_attribute('href')}"
    manifest = page.request.get(manifest_url).text().lstrip("\ufeff")
    lines = list(csv.DictReader(io.StringIO(manifest)))
    assert len(lines) == LETTERS
    assert sorted(m["enrollment_code_last4"] for m in lines) == sorted(c[-4:] for c in seen)
    with live_app.app_context():  # each letter's own PDF: its person's code, no other
        session = get_session()
        keyring = app_store.current_keyring()
        owners = {
            row.person_id: code_crypto.reveal(keyring, row)
            for row in session.scalars(
                sa.select(EnrolmentCode).where(EnrolmentCode.person_id.is_not(None))
            )
        }
        [batch] = session.scalars(sa.select(MailBatch).where(MailBatch.incident_id == incident_id))
        letters = batch_letters(session, batch)
        assert len(letters) == LETTERS
        for letter in letters:
            assert code_pattern.findall(pdf_text(letter_pdf(letter))) == [owners[letter.person_id]]

    # The vendor's export: each assigned code once, with the letter it was printed on.
    page.goto(f"{base}/incidents/{incident_id}/codes/")
    expect(page.get_by_test_id("pool-free")).to_have_text("5")
    with page.expect_download() as download:
        page.get_by_test_id("export-codes").click()
    exported = list(csv.reader(io.StringIO(download.value.path().read_text("utf-8-sig"))))
    assert exported[0] == ["code", "assigned_on", "letter_code"]
    assert Counter(r[0] for r in exported[1:]) == seen
    assert all(r[2].startswith(f"{reference}-M") for r in exported[1:])

    # The person's record shows their code.
    with live_app.app_context():
        session = get_session()
        penny = roster_people(session, session.get(type(incident), incident_id))["Penny"].id
    penny_code = next(r[0] for r in exported[1:] if r[2].endswith("-000001"))
    page.goto(f"{base}/incidents/{incident_id}/roster/people/{penny}")
    expect(page.get_by_test_id("enrollment-code")).to_contain_text(penny_code)


def team_of(session, officer: str, legal: str):
    """The officer and legal reviewer of the journey, read again in this session."""
    users = {u.email: u for u in session.scalars(sa.select(User))}
    return Team(users[officer], users[legal])
