"""The roster import's worker pool: the same roster, counts and report as the one-process path,
in row order, and no worker process left behind whatever way the import ends."""

from __future__ import annotations

import csv
import io
import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_app.demo.roster_files import write_roster
from incident_app.models.incident import CaseRole
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.services.roster import counts as roster_counts
from incident_app.services.roster import people as roster_people
from incident_app.services.roster import worker as roster_worker
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import person
from tests.support.roster_helpers import store_at
from tests.support.roster_helpers import upload

ROWS = 3000  # bad rows of every kind (1 in 50) and repeated ids (1 in 400) among them


@pytest.fixture
def lead(session):
    return make_user(session, role=Role.RESPONDER)


@pytest.fixture
def store(tmp_path: Path):
    return store_at(tmp_path)


def _import(session, lead, store, data: bytes, workers: int) -> RosterImport:
    incident = make_incident(session, created_by=lead, members={lead: CaseRole.LEAD})
    upload(session, actor=lead, incident_id=incident.id, data=data, store=store)
    record = roster_worker.run_next(
        session,
        keyring=store.keyring,
        store=store,
        clock=lambda: NOW,
        batch_rows=700,
        workers=workers,
        pool_min_bytes=0,
    )
    assert record is not None
    return record


def _people(session, store, record: RosterImport) -> list[tuple[object, ...]]:
    """Every staged row in row order: clear columns, decrypted PHI, and which row it merged
    into (import ids and primary keys differ between imports, row numbers do not)."""
    rows = session.scalars(
        sa.select(RosterPerson)
        .where(RosterPerson.import_id == record.id)
        .order_by(RosterPerson.row_number)
    ).all()
    row_of = {p.id: p.row_number for p in rows}
    return [
        (
            p.row_number,
            p.external_index,
            p.identity_index,
            p.state,
            p.zip3,
            p.address_status,
            p.deceased,
            p.minor,
            p.nok_address,
            p.email_consent,
            p.language,
            row_of.get(p.duplicate_of_id),
            roster_people.decrypt(store.keyring, p),
        )
        for p in rows
    ]


def _report(store, record: RosterImport) -> list[list[str]]:
    return list(csv.reader(io.StringIO(store.read_verified(record.report_sha256).decode())))


@pytest.mark.slow
def test_the_pool_imports_exactly_what_one_process_imports(
    session, lead, store, tmp_path: Path
) -> None:
    path = tmp_path / "roster.csv"
    write_roster(path, ROWS, seed=7)
    data = path.read_bytes()

    alone = _import(session, lead, store, data, workers=0)
    pooled = _import(session, lead, store, data, workers=2)

    for record in (alone, pooled):
        assert record.status is ImportStatus.COMMITTED
        # 60 bad rows (n % 50 == 7) and 8 repeated ids (n % 400 == 11: 11, 411, … 2811)
        assert (
            record.rows_read,
            record.rows_accepted,
            record.rows_rejected,
            record.rows_merged,
        ) == (3000, 2940, 60, 8)
    assert _report(store, pooled) == _report(store, alone)
    assert len(_report(store, pooled)) == 1 + 60 + 8
    assert _people(session, store, pooled) == _people(session, store, alone)
    assert [p[0] for p in _people(session, store, pooled)] == sorted(
        p[0] for p in _people(session, store, pooled)
    )
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_a_pooled_import_that_fails_part_way_leaves_no_workers_and_nothing_staged(
    session, lead, store
) -> None:
    good = [person(f"MRN{n}") for n in range(12_000)]  # several chunks before the bad row
    data = csv_bytes(*good) + person("BAD", "José").encode("latin-1") + b"\r\n"

    record = _import(session, lead, store, data, workers=2)

    assert record.status is ImportStatus.FAILED
    assert record.message.startswith("Row 12002 is not UTF-8 text")
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(RosterPerson)
            .where(RosterPerson.import_id == record.id)
        )
        == 0
    )
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_a_pooled_import_cancelled_while_running_stops_its_workers(session, lead, store) -> None:
    incident = make_incident(session, created_by=lead, members={lead: CaseRole.LEAD})
    data = csv_bytes(*[person(f"MRN{n}") for n in range(12_000)])
    record = upload(session, actor=lead, incident_id=incident.id, data=data, store=store)
    clock_calls = []

    def clock():
        # The first progress commit is the moment a person presses "cancel".
        clock_calls.append(1)
        if len(clock_calls) == 3:
            session.execute(
                sa.update(RosterImport)
                .where(RosterImport.id == record.id)
                .values(status=ImportStatus.CANCELLED)
            )
        return NOW

    finished = roster_worker.run_next(
        session, keyring=store.keyring, store=store, clock=clock, workers=2, pool_min_bytes=0
    )

    assert finished.status is ImportStatus.CANCELLED
    assert roster_counts.count(session, incident.id).total == 0
    assert multiprocessing.active_children() == []
