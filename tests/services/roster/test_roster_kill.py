"""All or nothing, for real: a worker process killed with SIGKILL in the middle of an import
leaves the roster exactly as it was; recovery removes its rows and the retry completes.

Runs against a real database file (SQLite) and, with TEST_DATABASE_URL, a scratch PostgreSQL
database created for the test, because the worker is a separate process that must see what
the test committed (the rolled-back fixture transaction would hide it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.db import Base
from incident_app.db import make_engine
from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import StateCount
from incident_app.models.roster import ImportMode
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import worker as roster_worker
from tests.support.audit_helpers import audit_info
from tests.support.audit_helpers import create_chain_head
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person
from tests.support.roster_helpers import store_at
from tests.support.roster_helpers import upload
from tests.support.scratch_db import scratch_postgres
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
WORKER = textwrap.dedent("""
    import sys
    from sqlalchemy.orm import Session
    from incident_app.db import make_engine
    from tests.support.audit_helpers import audit_info
    from incident_app.services.roster import worker as roster_worker
    from tests.support.factories import NOW
    from tests.support.roster_helpers import store_at
    from pathlib import Path

    engine = make_engine(sys.argv[1])
    store = store_at(Path(sys.argv[2]))
    with Session(engine, expire_on_commit=False, info=audit_info(Path(sys.argv[2]))) as session:
        roster_worker.run_next(session, keyring=store.keyring, store=store, clock=lambda: NOW,
                               batch_rows=200)
    print("finished", flush=True)
""")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kill.sqlite'}"
        return
    with scratch_postgres("roster_kill") as (url,):
        yield url


def _roster_state(session: Session, incident_id: int) -> tuple[object, ...]:
    session.expire_all()
    incident = session.get(Incident, incident_id)
    counts = session.execute(
        sa.select(StateCount.state, StateCount.residents)
        .where(StateCount.incident_id == incident_id, StateCount.source == CountSource.ROSTER)
        .order_by(StateCount.state)
    ).all()
    return (
        roster_counts.count(session, incident_id),
        incident.roster_total,
        incident.insufficient_contact_living,
        [tuple(c) for c in counts],
    )


@pytest.mark.slow
def test_sigkill_mid_import_leaves_the_roster_as_it_was(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    create_chain_head(engine)
    store = store_at(tmp_path)
    with Session(engine, expire_on_commit=False, info=audit_info(tmp_path)) as session:
        lead = make_user(session, role=Role.RESPONDER)
        incident = make_incident(
            session, created_by=lead, members={lead: CaseRole.LEAD}, discovered_on=date(2025, 9, 15)
        )
        import_csv(
            session,
            actor=lead,
            incident_id=incident.id,
            store=store,
            data=csv_bytes(
                person("OLD1", "Ana"), person("OLD2", "Bo", state="VT", zip_code="05401")
            ),
        )
        before = _roster_state(session, incident.id)
        assert before[0].total == 2
        big = csv_bytes(
            *[person(f"NEW{n}", f"P{n}", state="CA", zip_code="94105") for n in range(40_000)]
        )
        record = upload(
            session,
            actor=lead,
            incident_id=incident.id,
            data=big,
            store=store,
            mode=ImportMode.REPLACE,
        )

    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, database_url, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        staged = _wait_for_staged_rows(engine, record.id, worker)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    assert staged > 0

    with Session(engine, expire_on_commit=False, info=audit_info(tmp_path)) as session:
        assert _roster_state(session, incident.id) == before
        left = session.get(RosterImport, record.id)
        assert left.status is ImportStatus.RUNNING and left.rows_accepted > 0
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(RosterPerson)
                .where(RosterPerson.import_id == record.id)
            )
            > 0
        )  # staged, but invisible

        later = NOW.replace(year=NOW.year + 1)  # the heartbeat is long stale by then
        assert roster_worker.recover_interrupted(session, now=later) == [record.id]
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(RosterPerson)
                .where(RosterPerson.import_id == record.id)
            )
            == 0
        )
        assert _roster_state(session, incident.id) == before

        retried = roster_worker.run_next(
            session, keyring=store.keyring, store=store, clock=lambda: NOW
        )
        assert retried.status is ImportStatus.COMMITTED and retried.attempts == 2
        assert roster_counts.count(session, incident.id).by_state == {"CA": 40_000}
    engine.dispose()


def _wait_for_staged_rows(
    engine: sa.Engine, import_id: int, worker: subprocess.Popen[bytes]
) -> int:
    """Poll until the worker has committed at least one batch (but not finished)."""

    def accepted() -> int:
        assert worker.poll() is None, worker.communicate()
        with engine.connect() as connection:
            return connection.scalar(
                sa.select(RosterImport.rows_accepted).where(RosterImport.id == import_id)
            )

    return wait_until(accepted, timeout=120, message="the worker never staged a batch")
