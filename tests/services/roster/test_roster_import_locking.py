"""Issue 18: the roster import's writes on a live SQLite database that others write to.

A job's session begins deferred transactions; db.py takes the write lock (BEGIN IMMEDIATE,
which waits the busy timeout) before the first write it sees. A write that db.py does not see
upgrades the read transaction in place, and SQLite answers that at once with "database is
locked" (SQLITE_BUSY_SNAPSHOT) when another connection committed since the read: the busy
timeout does not apply. The soak met it in the roster import's staging writer. These tests
make it happen deterministically: a reader holds a snapshot while another connection commits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from incident_app import db
from incident_app.db import get_session
from incident_app.models.incident import CaseRole
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.roster import staging as roster_staging
from incident_app.services.roster import worker as roster_worker
from incident_app.services.roster.rows import BuilderSpec
from incident_app.storage import FileStore
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.live_db import backend
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import person
from tests.support.roster_helpers import ring
from tests.support.roster_helpers import upload

PEOPLE = [person(f"MRN{n}", first=f"Ana{n}", last="García") for n in range(5)]


class CommitsMeanwhile(FileStore):
    """A real file store that, when the import opens its file (after the job read the import
    and its clients, before the first batch is written), lets another connection commit."""

    def __init__(self, root: Path, meanwhile: Callable[[], None]) -> None:
        super().__init__(root, ring())
        self.meanwhile = meanwhile

    def open_verified(self, sha256: str) -> Iterator[bytes]:
        self.meanwhile()
        return super().open_verified(sha256)


def other_connection_commits(app: Flask) -> Callable[[], None]:
    """Another process's short write, committed: it moves the database past any snapshot
    (a real change: SQLite writes no WAL frame for an update that changes no byte)."""

    def commit() -> None:
        engine = db.make_engine(app.config["DATABASE_URL"])
        with engine.begin() as connection:
            connection.execute(sa.update(User).values(name=User.name + "."))
        engine.dispose()

    return commit


def queued_import(app: Flask, store: FileStore) -> RosterImport:
    with app.app_context():
        session = get_session()
        lead = make_user(session, role=Role.RESPONDER)
        incident = make_incident(session, created_by=lead, members={lead: CaseRole.LEAD})
        session.commit()
        record = upload(
            session, actor=lead, incident_id=incident.id, data=csv_bytes(*PEOPLE), store=store
        )
        assert record.status is ImportStatus.QUEUED
        return record


@pytest.fixture
def sqlite_app(live_app: Flask) -> Flask:
    if backend(live_app) != "sqlite":
        pytest.skip("SQLite's single write lock; PostgreSQL locks rows")
    return live_app


def staged_rows(record: RosterImport) -> list[tuple[object, ...]]:
    spec = BuilderSpec(
        headers=tuple(record.headers),
        mapping=dict(record.mapping),
        incident_id=record.incident_id,
        import_id=record.id,
        today=NOW.date(),
        clients=(),
    )
    builder = spec.builder(ring())
    rows = []
    for number, fields in enumerate(csv.reader(io.StringIO("\n".join(PEOPLE))), start=2):
        row, issues = builder.build(fields, number)
        assert row is not None, issues
        rows.append(row)
    return rows


def test_staging_a_batch_after_another_connection_committed_takes_the_lock_first(
    sqlite_app: Flask, tmp_path: Path
) -> None:
    record = queued_import(sqlite_app, FileStore(tmp_path / "files", ring()))
    rows = staged_rows(record)
    reader: Session = sqlite_app.extensions["sessionmaker"](
        execution_options={db.BEGIN_OPTION: db.DEFERRED}  # as every job's session begins
    )
    try:
        # The reader's snapshot: the import and its clients, as the staging job reads them.
        assert reader.get(RosterImport, record.id) is not None
        other_connection_commits(sqlite_app)()  # the database moved on past that snapshot
        roster_staging.stage_rows(reader.connection(), rows)  # used to fail here at once
        reader.commit()
    finally:
        reader.close()
    with sqlite_app.app_context():
        staged = get_session().scalar(
            sa.select(sa.func.count()).where(RosterPerson.import_id == record.id)
        )
    assert staged == len(PEOPLE)


def test_the_roster_import_job_survives_a_commit_between_its_read_and_its_first_batch(
    live_app: Flask, tmp_path: Path
) -> None:
    """On SQLite the case above through the whole job; on PostgreSQL, nothing regresses."""
    store = CommitsMeanwhile(tmp_path / "files", other_connection_commits(live_app))
    record = queued_import(live_app, FileStore(store.root, store.keyring))
    with live_app.app_context():
        session = get_session()  # deferred, as the scheduler's job session
        done = roster_worker.run_next(
            session, keyring=store.keyring, store=store, clock=lambda: NOW, batch_rows=2
        )
        assert done is not None and done.id == record.id
        assert done.status is ImportStatus.COMMITTED, done.message
        assert done.rows_accepted == len(PEOPLE)
        visible = session.scalar(
            sa.select(sa.func.count()).where(RosterPerson.import_id == record.id)
        )
    assert visible == len(PEOPLE)
