"""Editing the identity-protection offer without a code upload: the change voids the letters'
approval exactly as an upload with a new offer does (the letter context fingerprint), is
audited with before and after, and a bad value or an incident without a pool is refused with
nothing written. An unchanged offer writes nothing and keeps the approval."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
import sqlalchemy as sa

from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.enrolment import CodePool
from incident_app.models.letter import Letter
from incident_app.models.user import Role
from incident_app.services.enrolment import importing
from incident_app.services.letters import review
from tests.support.enrolment_helpers import OFFER
from tests.support.enrolment_helpers import fresh_codes
from tests.support.enrolment_helpers import import_codes
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.inquiry_helpers import count_of
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import start


def _edit(session, people, incident, offer, actor=None):
    return importing.update_offer(
        session, actor=actor or people.officer, now=NOW, incident_id=incident.id, offer=offer
    )


def _approved(session, incident) -> bool:
    session.expire_all()
    letters = session.scalars(sa.select(Letter).where(Letter.incident_id == incident.id)).all()
    return bool(letters) and all(review.approval_valid(session, letter) for letter in letters)


def test_changing_the_offer_alone_voids_the_approval_and_is_audited(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    import_codes(session, people.officer, incident, fresh_codes(2))
    approve(session, people, incident)
    assert _approved(session, incident)

    assert _edit(session, people, incident, dataclasses.replace(OFFER, months=18)) is True

    assert session.scalar(sa.select(CodePool.offer_months)) == 18
    assert not _approved(session, incident)
    with pytest.raises(InvalidTransition, match="the approval is void"):
        start(session, people, incident)
    [event] = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "enrolment.offer_changed")
    ).all()
    assert (event.details["from"]["months"], event.details["to"]["months"]) == (24, 18)

    # Approved again, the mailing starts with the new offer.
    approve(session, people, incident)
    assert start(session, people, incident).mail_count == 1


def test_the_same_offer_again_writes_nothing_and_keeps_the_approval(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    import_codes(session, people.officer, incident, fresh_codes(2))
    approve(session, people, incident)
    events = count_of(session, AuditEvent)

    assert _edit(session, people, incident, OFFER) is False

    assert count_of(session, AuditEvent) == events
    assert _approved(session, incident)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"months": 0}, "months"),
        ({"url": "http://plain.example"}, "url"),
        ({"phone": "call us"}, "phone"),
        ({"vendor": " "}, "vendor"),
        ({"enrol_by": date(2020, 1, 1)}, "enrol_by"),
    ],
)
def test_a_bad_offer_is_refused_and_nothing_changes(session, people, change, field):
    incident = case_with_roster(session, people, adult("Ana"))
    import_codes(session, people.officer, incident, fresh_codes(2))
    approve(session, people, incident)
    events = count_of(session, AuditEvent)

    with pytest.raises(ValidationFailed) as refused:
        _edit(session, people, incident, dataclasses.replace(OFFER, **change))
    assert refused.value.field == field
    session.rollback()
    assert session.scalar(sa.select(CodePool.offer_months)) == OFFER.months
    assert count_of(session, AuditEvent) == events
    assert _approved(session, incident)


def test_no_pool_yet_and_a_responder_are_refused(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    with pytest.raises(ValidationFailed, match="no offer to edit yet"):
        _edit(session, people, incident, OFFER)
    session.rollback()
    assert count_of(session, CodePool) == 0

    import_codes(session, people.officer, incident, fresh_codes(1))
    outsider = make_user(session, role=Role.RESPONDER)
    with pytest.raises(NotFound):
        _edit(session, people, incident, dataclasses.replace(OFFER, months=6), actor=outsider)
    session.rollback()
    assert session.scalar(sa.select(CodePool.offer_months)) == OFFER.months
