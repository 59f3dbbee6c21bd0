"""Supplements to the BA→CE notice (45 CFR 164.410(c)(2)) print their own numbered, dated
"what is new" section; the first notice's letter is unchanged. PDFs are read back with pypdf."""

from __future__ import annotations

import hashlib
import re
from io import BytesIO

import sqlalchemy as sa
from pypdf import PdfReader

from incident_app import letters
from incident_app.models.letter import NoticeWording
from incident_app.services.clients import letter
from incident_app.services.clients import notices
from tests.letters.samples import document_contexts
from tests.support.client_helpers import LATER
from tests.support.client_helpers import append_rows
from tests.support.client_helpers import draft
from tests.support.factories import NOW
from tests.support.roster_helpers import person

# The HTML of ba_to_ce.html for the sample context, as it was before supplements had a
# section: the first notice (and the Letters tab's approved BA→CE letter) must not change.
ORIGINAL_HTML_SHA256 = "5471771e014b11843d75763e107d7edefdd45a552751524f1ddd8c6ab88cb459"


def _pdf_text(session, officer, incident, notice) -> str:
    _name, pdf = letter.notice_pdf(
        session, actor=officer, incident_id=incident.id, notice_id=notice.id, now=NOW
    )
    reader = PdfReader(BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _send(session, officer, incident, notice, now):
    notices.record_sent(
        session, actor=officer, incident_id=incident.id, notice_id=notice.id, now=now
    )


def test_the_first_notice_letter_is_unchanged_and_has_no_supplement_section(
    session, officer, store, world
):
    html = letters.render_html("ba_to_ce.html", document_contexts()["ba_to_ce.html"])
    assert hashlib.sha256(html.encode()).hexdigest() == ORIGINAL_HTML_SHA256

    incident, elm, _oak = world
    first = draft(session, officer, store, incident, elm)
    _send(session, officer, incident, first, NOW)
    text = _pdf_text(session, officer, incident, first)
    assert "Supplement" not in text and "what is new" not in text
    assert "What happened" in text


def test_supplements_are_numbered_dated_and_list_what_changed(session, officer, store, world):
    incident, elm, _oak = world
    first = draft(session, officer, store, incident, elm)
    _send(session, officer, incident, first, NOW)
    before = _pdf_text(session, officer, incident, first)

    # Learned later: a new Elm patient, diagnosis codes, a corrected account.
    append_rows(session, officer, store, incident, person("E3", "Di", "Novak") + ",Elm Clinic")
    wording = session.scalars(
        sa.select(NoticeWording).where(NoticeWording.incident_id == incident.id)
    ).one()
    wording.phi_types = [*wording.phi_types, "Health plan member ID"]
    wording.what_happened = "An intruder copied the billing database on two nights."
    session.commit()
    second = draft(session, officer, store, incident, elm, update="Logs show a second night.")
    _send(session, officer, incident, second, LATER)
    text = _pdf_text(session, officer, incident, second)

    first_date = f"{NOW:%B} {NOW.day}, {NOW.year}"
    later_date = f"{LATER:%B} {LATER.day}, {LATER.year}"
    assert f"Supplement 1 to our notice of {first_date}: what is new" in text
    assert f"since our notice of {first_date}" in text
    assert "What we have learned: Logs show a second night." in text
    assert "1 more individual identified (3 so far)" in text
    assert "Types of information involved, added: Health plan member ID." in text
    assert "What happened: our account below has been updated." in text
    # The section comes before the restated facts, and the facts are not prefixed any more.
    assert text.index("what is new") < text.index("What happened An intruder copied")
    assert "— what is new" not in text

    third = draft(session, officer, store, incident, elm, update="Encryption keys were not taken.")
    third_text = _pdf_text(session, officer, incident, third)
    assert f"Supplement 2 to our notice of {first_date}: what is new" in third_text
    assert f"since our supplement 1 of {later_date}" in third_text
    assert "Types of information involved, added" not in third_text  # nothing new there
    assert "more individual" not in third_text

    # The notice already sent reads the same as before anything was learned.
    assert _pdf_text(session, officer, incident, first) == before


def test_a_supplement_with_only_new_people_says_so():
    lines = letter.changes(
        {"what_happened": "x", "phi_types": ["Name"]},
        {"what_happened": "x", "phi_types": ["Name"], "update": ""},
        new_identities=2,
        identified_so_far=1204,
    )
    assert lines == [
        "2 more individuals identified (1,204 so far), in the encrypted identities file sent "
        "with this supplement (164.410(c)(1))."
    ]
    dropped = letter.changes(
        {"phi_types": ["Name", "SSN"], "breach_end": "2025-09-01"},
        {"phi_types": ["Name"], "breach_end": "2025-09-03"},
        new_identities=0,
        identified_so_far=0,
    )
    assert dropped == [
        "The breach ended on September 3, 2025 (corrected).",
        "Types of information involved, no longer listed: SSN.",
    ]
    assert re.match(
        "No fact has changed", letter.changes({}, {}, new_identities=0, identified_so_far=0)[0]
    )
