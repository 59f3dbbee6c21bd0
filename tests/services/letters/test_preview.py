"""A letter read in the page: page images rasterised from the verified stored bytes (audited),
and the text changes since the last approved version."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import NotFound
from incident_app.letters.raster import PNG_SIGNATURE
from incident_app.letters.raster import PreviewUnavailable
from incident_app.letters.raster import page_png
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.user import Role
from incident_app.services.letters import generation
from incident_app.services.letters import notice_wording
from incident_app.services.letters import preview
from incident_app.services.letters import review
from incident_app.services.letters.review import LetterIntegrityFailed
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation

LATER = NOW + timedelta(hours=2)


@pytest.fixture
def approved(session):
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    legal = make_user(session, role=Role.LEGAL)
    incident = breach_case(session, officer=officer, members={legal: CaseRole.LEGAL})
    ob = obligation(session, incident, "individual_notice")
    store = app_store.current_store()
    request = generation.LetterRequest(ob.id, "individual_adult.html")
    ids = {"incident_id": incident.id}
    letter = generation.generate(
        session, actor=officer, now=NOW, request=request, store=store, **ids
    )
    review.submit_for_review(session, actor=officer, now=NOW, letter_id=letter.id, **ids)
    review.approve(
        session,
        actor=legal,
        now=NOW,
        letter_id=letter.id,
        store=store,
        expected_sha256=letter.current_version.sha256[:12],
        **ids,
    )
    return officer, legal, incident, letter, request


def test_a_new_version_shows_what_changed_since_the_approved_one(session, approved):
    officer, _, incident, letter, request = approved
    store = app_store.current_store()
    unchanged = preview.preview_of(store, letter)
    assert unchanged.pages >= 1 and unchanged.baseline is None and not unchanged.problem
    assert "What happened" in unchanged.lines

    _, wording = notice_wording.wording_of(session, actor=officer, incident_id=incident.id)
    notice_wording.save_wording(
        session,
        actor=officer,
        now=LATER,
        incident_id=incident.id,
        values={
            "what_happened": wording.what_happened,
            "phi_types": wording.phi_types,
            "steps_for_individuals": [*wording.steps_for_individuals, "Call your bank."],
            "what_we_are_doing": wording.what_we_are_doing,
        },
    )
    generation.generate(
        session, actor=officer, now=LATER, incident_id=incident.id, request=request, store=store
    )
    changed = preview.preview_of(store, letter)

    assert changed.version.number == 2 and changed.baseline.number == 1
    added = [new for tag, _, new in changed.changes if tag in ("added", "changed")]
    assert any("Call your bank." in line for line in added)
    assert all(tag != "same" for tag, _, _ in changed.changes)


def test_page_images_come_from_the_verified_bytes_and_are_audited(session, approved):
    _, legal, incident, letter, _ = approved
    version = letter.current_version
    ask = {
        "actor": legal,
        "now": LATER,
        "incident_id": incident.id,
        "letter_id": letter.id,
        "version_id": version.id,
        "store": app_store.current_store(),
    }

    image = preview.page_image(session, page=1, **ask)

    assert image.startswith(PNG_SIGNATURE)
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "letter.page_viewed")
    ).one()
    assert event.actor_id == legal.id and event.details["sha256"] == version.sha256
    with pytest.raises(PreviewUnavailable, match="no page 99"):
        preview.page_image(session, page=99, **ask)
    with pytest.raises(NotFound):
        preview.page_image(session, page=1, **{**ask, "version_id": 999_999})
    path = app_store.current_store().path_for(version.sha256)
    path.write_bytes(b"not the letter")
    with pytest.raises(LetterIntegrityFailed, match="no longer matches its SHA-256"):
        preview.page_image(session, page=1, **ask)
    refused = sa.select(AuditEvent).where(AuditEvent.action == "letter.page_refused")
    assert len(session.scalars(refused).all()) == 1


def test_a_broken_pdf_is_a_clear_preview_failure():
    with pytest.raises(PreviewUnavailable, match="cannot be read"):
        page_png(b"%PDF-1.7 broken", 1)
