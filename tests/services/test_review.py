"""The post-incident review: versions, privacy-officer sign-off, the closing rule, the PDF."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app import letters
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentStatus
from incident_app.models.review import ReviewVersion
from incident_app.models.timeline import EntryKind
from incident_app.models.user import Role
from incident_app.services import corrective_actions
from incident_app.services import review
from incident_app.services import review_report
from incident_app.services.corrective_actions import ActionInput
from incident_app.services.impact import costs as impact_costs
from incident_app.services.impact.costs import CostInput
from incident_app.services.incidents import timeline
from incident_app.services.organisation import get_organisation
from incident_app.services.review import ReviewInput
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user

LATER = NOW + timedelta(hours=2)
REVIEW = ReviewInput(
    timeline_summary="2026-01-05 — laptop reported stolen",
    root_cause="Unencrypted laptop left in a car.",
    what_worked="The theft was reported within the hour.",
    what_did_not="Nobody knew which patients were on the laptop.",
    decisions="Full-disk encryption on every laptop by April.",
    control_gaps={
        "technical": ["No full-disk encryption", " "],
        "physical": [],
        "administrative": ["Device inventory out of date"],
    },
)


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER, name="Pat Officer")


@pytest.fixture
def responder(session):
    return make_user(session, role=Role.RESPONDER, name="Rae Responder")


@pytest.fixture
def incident(session, officer, responder):
    return make_incident(
        session,
        created_by=officer,
        members={responder: CaseRole.LEAD},
        status=IncidentStatus.MONITORING,
        affected_estimate=1200,
    )


def save(session, actor, incident, review_input: ReviewInput = REVIEW, now=NOW) -> ReviewVersion:
    return review.save_review(
        session, actor=actor, incident_id=incident.id, review=review_input, now=now
    )


def require_signed_review(session) -> None:
    get_organisation(session).require_signed_review_to_close = True
    session.commit()


def test_a_first_save_creates_version_one(session, responder, incident) -> None:
    row = save(session, responder, incident)

    assert row.number == 1 and not row.signed
    assert row.control_gaps == {
        "administrative": ["Device inventory out of date"],
        "technical": ["No full-disk encryption"],
    }
    event = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.details["version"]) == ("review.saved", 1)


def test_saving_before_signing_updates_the_same_version(session, responder, incident) -> None:
    save(session, responder, incident)
    again = save(
        session,
        responder,
        incident,
        ReviewInput(**{**REVIEW.__dict__, "root_cause": "Laptop left in a car."}),
    )
    assert again.number == 1
    assert again.root_cause == "Laptop left in a car."


def test_signing_then_editing_creates_a_new_version(session, officer, responder, incident) -> None:
    save(session, responder, incident)
    signed = review.sign_review(session, actor=officer, incident_id=incident.id, number=1, now=NOW)
    assert (signed.signed_by_id, signed.signed_at) == (officer.id, NOW)
    assert signed.signed_sha256 == review.content_hash(signed)

    edited = save(
        session,
        responder,
        incident,
        ReviewInput(**{**REVIEW.__dict__, "decisions": "Encryption by March."}),
        now=LATER,
    )

    assert (edited.number, edited.signed) == (2, False)
    first = session.scalar(
        sa.select(ReviewVersion).where(
            ReviewVersion.incident_id == incident.id, ReviewVersion.number == 1
        )
    )
    assert first.decisions == "Full-disk encryption on every laptop by April."
    assert review.content_hash(first) == first.signed_sha256


def test_saving_unchanged_text_after_signing_adds_no_version(
    session, officer, responder, incident
) -> None:
    save(session, responder, incident)
    review.sign_review(session, actor=officer, incident_id=incident.id, number=1, now=NOW)
    assert save(session, responder, incident).number == 1
    assert len(review.versions(session, actor=officer, incident_id=incident.id)) == 1


def test_only_a_privacy_officer_signs(session, responder, incident) -> None:
    save(session, responder, incident)
    with pytest.raises(NotAllowed):
        review.sign_review(session, actor=responder, incident_id=incident.id, number=1, now=NOW)


def test_signing_needs_a_root_cause_and_the_latest_unsigned_version(
    session, officer, responder, incident
) -> None:
    with pytest.raises(InvalidTransition, match="Only the latest version"):
        review.sign_review(session, actor=officer, incident_id=incident.id, number=1, now=NOW)
    save(session, responder, incident, ReviewInput(what_worked="Quick report."))
    with pytest.raises(ValidationFailed, match="root cause before signing"):
        review.sign_review(session, actor=officer, incident_id=incident.id, number=1, now=NOW)
    save(session, responder, incident)
    review.sign_review(session, actor=officer, incident_id=incident.id, number=1, now=NOW)
    with pytest.raises(InvalidTransition, match="already signed"):
        review.sign_review(session, actor=officer, incident_id=incident.id, number=1, now=NOW)


def test_an_auditor_cannot_write_the_review(session, incident) -> None:
    auditor = make_user(session, role=Role.AUDITOR)
    with pytest.raises(NotAllowed):
        save(session, auditor, incident)


# --- the closing rule -------------------------------------------------------------------------


def test_no_blockers_without_the_setting(session, incident) -> None:
    assert review.closure_blockers(session, incident) == []


def test_blockers_until_the_latest_version_is_signed(session, officer, responder, incident) -> None:
    require_signed_review(session)
    assert review.closure_blockers(session, incident) == [
        "The organisation requires a signed post-incident review before an incident closes, "
        "and this incident has none yet."
    ]
    save(session, responder, incident)
    assert (
        "Version 1 of the post-incident review is not signed"
        in review.closure_blockers(session, incident)[0]
    )
    review.sign_review(session, actor=officer, incident_id=incident.id, number=1, now=NOW)
    assert review.closure_blockers(session, incident) == []
    save(session, responder, incident, ReviewInput(root_cause="Changed after signing"))
    assert "Version 2" in review.closure_blockers(session, incident)[0]


def test_closing_an_incident_without_the_required_review_is_refused(
    session, officer, responder, incident
) -> None:
    from incident_app.services.incidents import lifecycle

    require_signed_review(session)
    with pytest.raises(InvalidTransition, match="signed post-incident review"):
        lifecycle.transition(
            session, actor=responder, incident_id=incident.id, to=IncidentStatus.CLOSED, now=NOW
        )
    session.rollback()
    assert incident.status is IncidentStatus.MONITORING

    save(session, responder, incident)
    review.sign_review(session, actor=officer, incident_id=incident.id, number=1, now=NOW)
    closed = lifecycle.transition(
        session, actor=responder, incident_id=incident.id, to=IncidentStatus.CLOSED, now=LATER
    )
    assert closed.status is IncidentStatus.CLOSED


# --- the timeline summary ---------------------------------------------------------------------


def test_the_summary_comes_from_the_timeline(session, responder, incident) -> None:
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.STATUS,
        actor=responder,
        at=datetime(2026, 1, 6, 15, 0, tzinfo=UTC),
        text="Status moved: A → B.",
    )
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.ACTION,
        actor=responder,
        at=datetime(2026, 1, 6, 16, 0, tzinfo=UTC),
        occurred_at=datetime(2026, 1, 5, 14, 30, tzinfo=UTC),
        text="Laptop  reported\nstolen to police.",
    )
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.FACT,
        actor=responder,
        at=datetime(2026, 1, 7, tzinfo=UTC),
        text="Fact changed: title",
    )
    session.commit()

    text = review.draft_timeline_summary(session, actor=responder, incident_id=incident.id)

    # New York time; fact edits are left out.
    assert text == (
        "2026-01-05 09:30 — Laptop reported stolen to police.\n"
        "2026-01-06 10:00 — Status moved: A → B."
    )


def test_without_timeline_entries_the_summary_comes_from_the_audit(
    session, officer, responder, incident
) -> None:
    corrective_actions.create_action(
        session,
        actor=officer,
        incident_id=incident.id,
        now=NOW,
        action=ActionInput("policies", "", responder.id, date(2026, 4, 1)),
    )
    text = review.draft_timeline_summary(session, actor=responder, incident_id=incident.id)
    assert text == f"2026-03-02 10:30 — corrective action: created ({officer.email})"


# --- the PDF ----------------------------------------------------------------------------------


def test_the_review_exports_as_a_pdf_report(session, officer, responder, incident) -> None:
    org = get_organisation(session)
    org.legal_name, org.city, org.state = "Lakeside Clinic", "Springfield", "IL"
    corrective_actions.create_action(
        session,
        actor=officer,
        incident_id=incident.id,
        now=NOW,
        action=ActionInput("encryption", "", responder.id, date(2026, 4, 1)),
    )
    impact_costs.record_cost(
        session,
        actor=officer,
        incident_id=incident.id,
        now=NOW,
        cost=CostInput("outside_counsel", "actual", "24,000.00", "USD", date(2026, 2, 1)),
    )
    save(session, responder, incident)
    review.sign_review(session, actor=officer, incident_id=incident.id, number=1, now=NOW)

    pdf = review_report.review_pdf(
        session, actor=responder, incident_id=incident.id, number=1, now=LATER
    )

    assert pdf.startswith(b"%PDF")
    text = " ".join(letters.pdf_text(pdf).split())
    for expected in (
        f"Post-incident review — {incident.reference}",
        "Lakeside Clinic",
        "Signed by Pat Officer on 2026-03-02 10:30",
        "Unencrypted laptop left in a car.",
        "Technical safeguards (45 CFR 164.312)",
        "No full-disk encryption",
        "Adopted encryption technologies",
        "Rae Responder",
        "USD 24,000.00",
        "USD 20.00 (1200 individuals)",
        f"PIR-{incident.reference}-V1",
    ):
        assert expected in text, expected
    event = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.details["signed"]) == ("review.exported", True)


def test_an_unsigned_version_exports_as_a_draft(session, responder, incident) -> None:
    save(session, responder, incident)
    pdf = review_report.review_pdf(
        session, actor=responder, incident_id=incident.id, number=1, now=NOW
    )
    assert "DRAFT — not signed" in letters.pdf_text(pdf)
