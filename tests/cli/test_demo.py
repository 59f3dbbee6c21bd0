"""`flask demo seed`: counts, validity, a re-sync that changes nothing, refusals with a clear
message. The demo package itself is tested in tests/demo."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.assessment import Determination
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.obligation import Obligation
from incident_app.models.roster import RosterPerson
from incident_app.models.task import Task
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.obligations import sync as obligation_sync
from tests.demo.reference_data import add_reference_data
from tests.support.factories import NOW
from tests.support.factories import PASSWORD

REFERENCE = re.compile(r"BD-\d{4}-\d{4}")


@pytest.fixture
def reference_data(app):
    with app.app_context():
        add_reference_data(get_session())


def _seed_args(*extra: str) -> list[str]:
    return [
        "demo",
        "seed",
        "--incidents",
        "50",
        "--roster",
        "2000",
        "--seed",
        "7",
        "--password",
        PASSWORD,
        *extra,
    ]


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seed_fills_an_empty_database_with_valid_cases(app, runner, reference_data):
    result = runner.invoke(args=_seed_args())

    assert result.exit_code == 0, result.output
    assert "Seeded 50 incidents" in result.output
    assert "2,000 roster people in 1 roster(s)" in result.output
    assert f"password shown once: {PASSWORD}" in result.output
    assert "demo-privacy-officer-1@example.org" in result.output
    with app.app_context():
        session = get_session()
        cases = session.scalars(sa.select(Incident)).all()
        assert len(cases) == 50
        references = [c.reference for c in cases]
        assert len(set(references)) == 50
        assert all(REFERENCE.fullmatch(r) for r in references)
        # Drawn from the three usable OCR rows only (never the duplicate's "loss").
        assert {t for c in cases for t in c.breach_types} <= {
            "hacking",
            "theft",
            "unauthorized_access",
        }
        leads = session.scalars(
            sa.select(IncidentMember.incident_id).where(IncidentMember.case_role == CaseRole.LEAD)
        ).all()
        assert sorted(leads) == sorted(c.id for c in cases)
        assert _count(session, Determination) == 50
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Obligation)
                .where(Obligation.active.is_(True))
            )
            > 50
        )
        hacking = [c.id for c in cases if "hacking" in c.breach_types]
        assert _count(session, Task) == 2 * len(hacking)
        assert len({c.status for c in cases}) >= 3
        assert sum(c.roster_total or 0 for c in cases) == 2000
        assert _count(session, RosterPerson) == 2000
        assert audit.verify(session).ok


def test_a_resync_of_seeded_incidents_changes_nothing(app, runner, reference_data):
    assert runner.invoke(args=_seed_args()).exit_code == 0
    with app.app_context():
        session = get_session()
        rows = sa.select(
            Obligation.id,
            Obligation.due_on,
            Obligation.active,
            Obligation.reason,
            Obligation.updated_at,
        ).order_by(Obligation.id)
        before, events = session.execute(rows).all(), _count(session, AuditEvent)
        for incident in session.scalars(sa.select(Incident)):
            obligation_sync.sync(session, incident=incident, now=NOW)
        assert session.execute(rows).all() == before
        assert _count(session, AuditEvent) == events


def test_seed_refuses_a_database_with_incidents_and_writes_nothing(app, runner, reference_data):
    assert runner.invoke(args=_seed_args()).exit_code == 0
    with app.app_context():
        users_before = _count(get_session(), User)

    result = runner.invoke(args=_seed_args())

    assert result.exit_code != 0
    assert "already holds 50 incident(s)" in result.output
    assert "--force-append" in result.output
    with app.app_context():
        assert _count(get_session(), Incident) == 50
        assert _count(get_session(), User) == users_before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--incidents", "0"], "Seed at least one incident."),
        (["--roster", "-5"], "The roster size cannot be negative."),
        (["--password", "short"], "The demo password must be at least 12 characters."),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(app, runner, reference_data, args, message):
    result = runner.invoke(args=[*_seed_args(), *args])

    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert _count(get_session(), Incident) == 0
        assert _count(get_session(), User) == 0
