"""services.obligations.sync: stored facts become Obligation rows, kept in step with the facts."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Conclusion
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CountSource
from incident_app.models.incident import LawEnforcementStatement
from incident_app.models.incident import StateCount
from incident_app.models.incident import StatementForm
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from incident_app.services.obligations import reading as obligation_reading
from incident_app.services.obligations import sync as obligation_sync
from tests.factories import NOW
from tests.factories import make_incident
from tests.factories import make_user


def _incident(session, *, counts=None, source=CountSource.ESTIMATE, **fields):
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    fields.setdefault("affected_estimate", 1500)
    incident = make_incident(session, created_by=officer, **fields)
    counts = {"TX": 900, "OK": 500, "AR": 100} if counts is None else counts
    for state, residents in counts.items():
        session.add(
            StateCount(incident_id=incident.id, source=source, state=state, residents=residents)
        )
    session.flush()
    return incident


def _active(session, incident):
    rows = session.scalars(
        sa.select(Obligation).where(Obligation.incident_id == incident.id, Obligation.active)
    )
    return {(r.kind, r.jurisdiction): r.due_on for r in rows}


def test_sync_stores_the_obligations_of_a_presumed_breach(session):
    incident = _incident(session)

    determination = obligation_sync.sync(session, incident=incident, now=NOW)

    assert determination.reportable
    assert _active(session, incident) == {
        ("individual_notice", "US"): date(2025, 11, 14),
        ("hhs_notice", "US"): date(2025, 11, 14),
        ("media_notice", "TX"): date(2025, 11, 14),
        ("state_individual_notice", "TX"): date(2025, 11, 14),
        ("state_regulator_notice", "TX"): date(2025, 10, 15),
        # Oklahoma (24 O.S. 163): "without unreasonable delay", no computable date.
        ("state_individual_notice", "OK"): None,
    }
    stored = obligation_reading.stored_determination(session, incident.id)
    assert stored.reportable is True
    assert stored.treated_discovery_on == date(2025, 9, 15)
    assert "Presumed breach" in stored.reason
    assert stored.assessment_version_id is None


def test_sync_does_not_commit(session):
    incident = _incident(session)
    obligation_sync.sync(session, incident=incident, now=NOW)

    session.rollback()

    assert session.scalar(sa.select(sa.func.count()).select_from(Obligation)) == 0


def test_a_later_discovery_date_moves_every_due_date_and_is_audited(session):
    incident = _incident(session)
    obligation_sync.sync(session, incident=incident, now=NOW)

    incident.discovered_on = date(2025, 10, 1)
    obligation_sync.sync(session, incident=incident, now=NOW)

    assert _active(session, incident) == {
        ("individual_notice", "US"): date(2025, 11, 30),
        ("hhs_notice", "US"): date(2025, 11, 30),
        ("media_notice", "TX"): date(2025, 11, 30),
        ("state_individual_notice", "TX"): date(2025, 11, 30),
        ("state_regulator_notice", "TX"): date(2025, 10, 31),
        ("state_individual_notice", "OK"): None,
    }
    event = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "obligations.recomputed")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event.details["due_dates"]["individual_notice US"] == ["2025-11-14", "2025-11-30"]
    assert event.incident_id == incident.id


def test_syncing_unchanged_facts_writes_no_audit_event(session):
    incident = _incident(session)
    obligation_sync.sync(session, incident=incident, now=NOW)
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    obligation_sync.sync(session, incident=incident, now=NOW)

    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before


def test_obligations_that_no_longer_apply_become_inactive_and_come_back(session):
    incident = _incident(session)
    obligation_sync.sync(session, incident=incident, now=NOW)
    media = session.scalar(sa.select(Obligation).where(Obligation.kind == "media_notice"))

    incident.affected_estimate = 1000
    session.execute(
        sa.update(StateCount)
        .where(StateCount.incident_id == incident.id, StateCount.state == "TX")
        .values(residents=400)
    )
    obligation_sync.sync(session, incident=incident, now=NOW)

    assert ("media_notice", "TX") not in _active(session, incident)
    session.refresh(media)
    assert media.active is False  # kept, never deleted

    session.execute(
        sa.update(StateCount)
        .where(StateCount.incident_id == incident.id, StateCount.state == "TX")
        .values(residents=501)
    )
    incident.affected_estimate = 1101
    obligation_sync.sync(session, incident=incident, now=NOW)

    session.refresh(media)
    assert media.active is True
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Obligation)
            .where(Obligation.kind == "media_notice")
        )
        == 1
    )


def test_roster_counts_replace_the_estimate(session):
    incident = _incident(session, counts={"TX": 900, "OK": 500, "AR": 100})
    for state, residents in {"OK": 700, "TX": 300}.items():
        session.add(
            StateCount(
                incident_id=incident.id, source=CountSource.ROSTER, state=state, residents=residents
            )
        )
    incident.roster_total = 1000

    obligation_sync.sync(session, incident=incident, now=NOW)

    media = {j for (kind, j) in _active(session, incident) if kind == "media_notice"}
    assert media == {"OK"}


def test_a_signed_low_probability_assessment_means_no_notices(session):
    incident = _incident(session)
    obligation_sync.sync(session, incident=incident, now=NOW)
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    session.add(
        AssessmentVersion(
            incident_id=incident.id,
            number=1,
            conclusion=Conclusion.LOW_PROBABILITY,
            rationale="Recipient returned the list unopened.",
            created_by_id=officer.id,
            signed_by_id=officer.id,
            signed_at=NOW,
        )
    )

    determination = obligation_sync.sync(session, incident=incident, now=NOW)

    assert not determination.reportable
    assert _active(session, incident) == {}


def test_an_unsigned_assessment_leaves_the_presumption_of_breach(session):
    incident = _incident(session)
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    session.add(
        AssessmentVersion(
            incident_id=incident.id,
            number=1,
            conclusion=Conclusion.LOW_PROBABILITY,
            rationale="Draft.",
            created_by_id=officer.id,
        )
    )

    determination = obligation_sync.sync(session, incident=incident, now=NOW)

    assert determination.reportable


def test_the_latest_law_enforcement_statement_governs(session):
    incident = _incident(session)
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    for stated_on, until in (
        (date(2025, 9, 20), date(2025, 12, 1)),
        (date(2025, 10, 20), date(2026, 1, 15)),
    ):
        session.add(
            LawEnforcementStatement(
                incident_id=incident.id,
                form=StatementForm.WRITTEN,
                official_name="Det. Ruiz",
                agency="FBI",
                stated_on=stated_on,
                delay_until=until,
                created_by_id=officer.id,
            )
        )

    obligation_sync.sync(session, incident=incident, now=NOW)

    assert _active(session, incident)[("individual_notice", "US")] == date(2026, 1, 15)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"affected_estimate": 1000}, "state_counts"),  # 900+500+100 > 1000
        ({"discovered_on": None}, "discovered_on"),
        ({"insufficient_contact_living": 2000}, "insufficient_contact_living"),
    ],
)
def test_facts_the_engine_rejects_name_the_form_field(session, change, field):
    incident = _incident(session)
    for name, value in change.items():
        setattr(incident, name, value)

    with pytest.raises(ValidationFailed) as raised:
        obligation_sync.sync(session, incident=incident, now=NOW)

    assert raised.value.field == field
    assert session.scalar(sa.select(sa.func.count()).select_from(Obligation)) == 0


def test_business_associate_notified_before_it_discovered_is_shown_on_its_field(session):
    incident = _incident(
        session,
        ba_involved=True,
        ba_discovered_on=date(2025, 9, 10),
        ba_notified_on=date(2025, 9, 1),
    )

    with pytest.raises(ValidationFailed) as raised:
        obligation_sync.sync(session, incident=incident, now=NOW)

    assert raised.value.field == "ba_notified_on"
    assert "before the business associate discovered" in str(raised.value)


def test_obligations_of_counts_days_left_and_overdue(session):
    incident = _incident(session)
    obligation_sync.sync(session, incident=incident, now=NOW)

    views = obligation_reading.obligations_of(
        session, incident_id=incident.id, today=date(2025, 10, 20)
    )

    by_kind = {(v.row.kind, v.row.jurisdiction): v for v in views}
    assert by_kind[("individual_notice", "US")].days_left == 25
    assert by_kind[("state_regulator_notice", "TX")].days_left == -5
    assert by_kind[("state_regulator_notice", "TX")].overdue
    assert views[0].row.kind == "state_regulator_notice"  # soonest first
