"""The audit chain: appended in the caller's transaction, tamper-evident, never forked."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.audit import AuditEvent
from incident_app.services import audit
from tests.support.factories import NOW
from tests.support.factories import make_user


def _append(session: Session, n: int) -> None:
    for i in range(n):
        audit.record(
            session,
            actor=None,
            action=f"test.event{i}",
            at=NOW + timedelta(seconds=i),
            details={"i": i, "when": NOW},
        )
    session.commit()


def test_events_chain_to_their_predecessor(session: Session) -> None:
    _append(session, 3)

    events = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()

    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    report = audit.verify(session)
    assert report.ok and report.checked == 3 and report.head_hash == events[2].hash


def test_record_does_not_commit_the_callers_transaction(session: Session) -> None:
    audit.record(session, actor=None, action="test.uncommitted", at=NOW)
    session.rollback()

    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_an_edited_row_is_named(session: Session) -> None:
    _append(session, 4)
    session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 2).values(action="test.forged"))
    session.expire_all()

    report = audit.verify(session)

    assert not report.ok and report.broken_seq == 2 and "edited" in report.problem


def test_a_deleted_middle_row_is_named(session: Session) -> None:
    _append(session, 4)
    session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 3))

    report = audit.verify(session)

    assert not report.ok and report.broken_seq == 3 and "missing" in report.problem


def test_deleting_the_newest_rows_is_detected_by_the_head(session: Session) -> None:
    _append(session, 4)
    session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 4))

    report = audit.verify(session)

    assert not report.ok and report.broken_seq == 4 and "deleted" in report.problem


def test_a_rehashed_forgery_is_named_by_its_mac(session: Session) -> None:
    _append(session, 3)
    forged = session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == 2)).one()
    forged.details = {"i": 99}
    forged.hash = audit.event_hash(forged)
    session.commit()

    report = audit.verify(session)

    assert not report.ok and report.broken_seq == 2 and "MAC" in report.problem


def test_actor_is_recorded_by_id_and_email(session: Session) -> None:
    user = make_user(session)
    event = audit.record(
        session, actor=user, action="test.actor", at=NOW, subject_type="user", subject_id=user.id
    )
    session.commit()

    assert (event.actor_id, event.actor_label, event.subject_id) == (
        user.id,
        user.email,
        str(user.id),
    )
