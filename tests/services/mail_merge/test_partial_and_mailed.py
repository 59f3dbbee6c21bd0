"""Mailing the approved variants while others are still in review, the confirmation's counts,
and recording a completed mailing as mailed (proof of notice once nobody is waiting)."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import IncidentStatus
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import NoticeSent
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import MailBatch
from incident_app.models.obligation import Obligation
from incident_app.models.roster import NoticeStatus
from incident_app.models.user import Role
from incident_app.services.incidents import lifecycle
from incident_app.services.mail_merge import mailed
from incident_app.services.mail_merge import pages
from incident_app.services.mail_merge import worker as mail_worker
from incident_app.services.obligations import reading as obligation_reading
from tests.support.factories import make_user
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import worker

MINOR = "individual_minor.html"
MAILED_ON = LATER.date()


def _kid() -> str:
    return adult("Kid", minor="Y", dob="2015-01-02")


def _record(session, people, incident, batch, on=MAILED_ON, actor=None):
    return mailed.record_mailed(
        session,
        actor=actor or people.officer,
        now=LATER + timedelta(hours=1),
        incident_id=incident.id,
        batch_id=batch.id,
        mailed_on=on,
    )


def _outstanding(session, incident):
    return set(
        session.scalars(
            sa.select(Obligation.kind).where(
                Obligation.incident_id == incident.id, obligation_reading.outstanding()
            )
        )
    )


def _notices(session, incident):
    return list(session.scalars(sa.select(NoticeSent).where(NoticeSent.incident_id == incident.id)))


def test_the_approved_variant_goes_out_while_the_other_waits(session, people):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"), _kid())
    approve(session, people, incident)  # adult only; the minor's letter is not approved

    view = pages.overview(session, actor=people.officer, incident_id=incident.id)
    states = {row.variant.value: row.state for row in view.rows}
    assert states == {
        "adult": "approved",
        "minor": "waiting",
        "deceased": "not needed",
        "spanish": "not needed",
    }
    assert view.startable and len(view.problems) == 1

    confirmation = pages.confirmation(session, actor=people.officer, incident_id=incident.id)
    assert (confirmation.letters, confirmation.print_files, confirmation.people) == (2, 1, 2)
    assert [row.variant.value for row in confirmation.variants] == ["adult"]
    assert [(row.variant.value, row.people) for row in confirmation.waiting] == [("minor", 1)]

    batch = start(session, people, incident, expected_people=confirmation.people)
    assert set(batch.variants) == {"adult"} and batch.mail_count == 2
    mail_worker.work(session, worker=worker())
    by_name = roster_people(session, incident)
    assert by_name["Kid"].notice_status is NoticeStatus.PENDING
    assert by_name["Ana"].notice_status is NoticeStatus.LETTER_GENERATED


def test_a_changed_plan_since_the_confirmation_is_refused(session, people):
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    approve(session, people, incident)
    with pytest.raises(InvalidTransition, match="cover 2 people, not 3"):
        start(session, people, incident, expected_people=3)
    assert session.scalar(sa.select(sa.func.count()).select_from(MailBatch)) == 0


def test_the_obligation_is_met_only_when_everyone_is_notified(session, people):
    incident = case_with_roster(session, people, adult("Ana"), _kid())
    approve(session, people, incident)
    first = start(session, people, incident)
    mail_worker.work(session, worker=worker())

    result = _record(session, people, incident, first)
    assert (result.people, result.still_waiting, result.notices) == (1, 1, [])
    assert roster_people(session, incident)["Ana"].notice_status is NoticeStatus.MAILED
    assert roster_people(session, incident)["Ana"].notice_on == MAILED_ON
    assert _notices(session, incident) == []
    suggestion = pages.suggestion(session, incident)
    assert suggestion is not None and suggestion.status is IncidentStatus.NOTIFICATION
    assert "individual_notice" in _outstanding(session, incident)

    approve(session, people, incident, MINOR)
    second = start(session, people, incident)
    assert set(second.variants) == {"minor"}
    mail_worker.work(session, worker=worker())
    later = MAILED_ON + timedelta(days=1)
    result = mailed.record_mailed(
        session,
        actor=people.officer,
        now=LATER + timedelta(days=2),
        incident_id=incident.id,
        batch_id=second.id,
        mailed_on=later,
    )
    assert (result.people, result.still_waiting) == (1, 0)
    notices = _notices(session, incident)
    assert sorted((n.letter.template_name, n.sent_on) for n in notices) == [
        ("individual_adult.html", MAILED_ON),
        ("individual_minor.html", later),
    ]
    assert all(n.days_after_discovery == (n.sent_on - date(2025, 9, 15)).days for n in notices)
    assert {
        letter.status
        for letter in session.scalars(sa.select(Letter).where(Letter.kind == "individual_notice"))
    } == {LetterStatus.SENT}
    assert "individual_notice" not in _outstanding(session, incident)
    suggestion = pages.suggestion(session, incident)
    assert suggestion is not None and suggestion.status is IncidentStatus.MONITORING
    actions = list(
        session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.action.in_(["mail_batch.mailed", "notice.sent"])
            )
        )
    )
    assert actions.count("mail_batch.mailed") == 2 and actions.count("notice.sent") == 2


def test_recording_is_refused_clearly_and_writes_nothing(session, people):
    incident = case_with_roster(session, people, adult("Ana"))
    approve(session, people, incident)
    batch = start(session, people, incident)
    with pytest.raises(InvalidTransition, match="Only a completed mailing"):
        _record(session, people, incident, batch)
    mail_worker.work(session, worker=worker())
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
    with pytest.raises(ValidationFailed, match="in the future"):
        _record(session, people, incident, batch, on=MAILED_ON + timedelta(days=3))
    with pytest.raises(ValidationFailed, match="before the letters were printed"):
        _record(session, people, incident, batch, on=MAILED_ON - timedelta(days=1))
    auditor = make_user(session, role=Role.AUDITOR)
    with pytest.raises(NotAllowed):
        _record(session, people, incident, batch, actor=auditor)
    assert session.get(MailBatch, batch.id).mailed_on is None
    assert roster_people(session, incident)["Ana"].notice_status is NoticeStatus.LETTER_GENERATED

    _record(session, people, incident, batch)
    with pytest.raises(InvalidTransition, match="already recorded as mailed on"):
        _record(session, people, incident, batch)
    assert len(_notices(session, incident)) == 1


def test_the_suggested_status_walks_the_allowed_steps():
    S = IncidentStatus
    assert lifecycle.path_to(S.REPORTED, S.NOTIFICATION) == [
        S.INVESTIGATION,
        S.RISK_ASSESSMENT,
        S.NOTIFICATION,
    ]
    assert lifecycle.path_to(S.NOTIFICATION, S.NOTIFICATION) == []
    assert lifecycle.path_to(S.NOTIFICATION, S.MONITORING) == [S.MONITORING]
