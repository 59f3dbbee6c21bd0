"""incident_app.demo.seed: determinism, appending, roster sizing, and obligations equal to the
ones `obligations.sync` computes."""

from __future__ import annotations

import sqlalchemy as sa

from incident_app import app_store
from incident_app.demo import seed as demo
from incident_app.models.assessment import Determination
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.models.obligation import Obligation
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.obligations import diff as obligation_diff
from incident_app.services.obligations import evaluation as obligation_evaluation
from incident_app.services.obligations import sync as obligation_sync
from tests.support.factories import NOW
from tests.support.factories import PASSWORD

S = IncidentStatus


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _seed(session, *, incidents: int, seed: int, force_append: bool = False) -> None:
    keyring = app_store.current_keyring()
    options = demo.SeedOptions(
        incidents=incidents, roster=0, seed=seed, password=PASSWORD, force_append=force_append
    )
    demo.seed(
        session,
        options_=options,
        now=NOW,
        keyring=keyring,
        store=app_store.current_store(keyring),
    )


def _fingerprint(session, ids: list[int]) -> list[tuple]:
    cases = session.scalars(
        sa.select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id)
    ).all()
    result = []
    for case in cases:
        due = session.execute(
            sa.select(
                Obligation.kind, Obligation.jurisdiction, Obligation.due_on, Obligation.active
            )
            .where(Obligation.incident_id == case.id)
            .order_by(Obligation.kind, Obligation.jurisdiction)
        ).all()
        result.append(
            (
                case.title,
                case.discovered_on,
                case.affected_estimate,
                case.status,
                case.created_at,
                tuple(case.breach_types),
                tuple(due),
            )
        )
    return result


def test_the_same_seed_and_time_give_the_same_incidents(session, reference_data):
    _seed(session, incidents=30, seed=11)
    first = session.scalars(sa.select(Incident.id).order_by(Incident.id)).all()
    _seed(session, incidents=30, seed=11, force_append=True)
    second = session.scalars(
        sa.select(Incident.id).where(Incident.id.not_in(first)).order_by(Incident.id)
    ).all()
    _seed(session, incidents=30, seed=12, force_append=True)
    third = session.scalars(
        sa.select(Incident.id).where(Incident.id.not_in(first + second)).order_by(Incident.id)
    ).all()

    assert len(first) == len(second) == len(third) == 30
    assert _fingerprint(session, first) == _fingerprint(session, second)
    assert _fingerprint(session, first) != _fingerprint(session, third)
    # Appending continues the yearly counters: no reference is handed out twice.
    references = session.scalars(sa.select(Incident.reference)).all()
    assert len(set(references)) == 90
    assert _count(session, User) == 15  # the demo users were reused, not created again
    assert audit.verify(session).ok


def test_roster_sizes_split_the_total_in_proportion():
    assert demo.roster_sizes(1_000_000, [600, 300, 100]) == [600_000, 300_000, 100_000]
    assert demo.roster_sizes(10, [5, 3, 3]) == [6, 2, 2]  # the remainder goes to the first
    assert demo.roster_sizes(10, []) == []


# --- the seeded obligations are the ones obligations.sync computes -----------------------

OBLIGATION_ROWS = sa.select(
    Obligation.id,
    Obligation.incident_id,
    Obligation.kind,
    Obligation.jurisdiction,
    Obligation.source_key,
    Obligation.due_on,
    Obligation.citation,
    Obligation.reason,
    Obligation.detail,
    Obligation.active,
    Obligation.created_at,
    Obligation.updated_at,
).order_by(Obligation.id)
DETERMINATIONS = sa.select(
    Determination.incident_id,
    Determination.reportable,
    Determination.reason,
    Determination.treated_discovery_on,
    Determination.warnings,
    Determination.assessment_version_id,
).order_by(Determination.incident_id)


def test_the_shared_diff_finds_nothing_to_change_in_seeded_obligations(session, reference_data):
    _seed(session, incidents=40, seed=5)

    for incident in session.scalars(sa.select(Incident)).all():
        assessment = obligation_evaluation.signed_assessment(session, incident.id)
        computed = obligation_evaluation.evaluate_incident(incident, assessment).obligations
        stored = session.scalars(
            sa.select(Obligation).where(Obligation.incident_id == incident.id)
        ).all()
        changes = obligation_diff.diff(stored, computed)
        assert not changes, incident.reference
        assert changes.details == {}


def test_a_sync_of_every_seeded_incident_changes_nothing(session, reference_data):
    _seed(session, incidents=40, seed=5)
    incidents = session.scalars(sa.select(Incident).order_by(Incident.id)).all()
    # Both kinds of signed assessment, and obligations a signed finding retired (inactive).
    assert {i.status for i in incidents} >= {S.CLOSED_NOT_A_BREACH, S.MONITORING}
    inactive = sa.select(sa.func.count()).where(Obligation.active.is_(False))
    assert session.scalar(inactive) > 0
    obligations_before = session.execute(OBLIGATION_ROWS).all()
    determinations_before = session.execute(DETERMINATIONS).all()
    events_before = _count(session, AuditEvent)

    for incident in incidents:
        obligation_sync.sync(session, incident=incident, now=NOW)

    assert session.execute(OBLIGATION_ROWS).all() == obligations_before
    assert session.execute(DETERMINATIONS).all() == determinations_before
    assert _count(session, AuditEvent) == events_before
