"""The roster worker job: registered with the scheduler, runs queued imports, survives errors."""

from __future__ import annotations

import io

import sqlalchemy as sa

from incident_app import app_store
from incident_app import scheduler
from incident_app.db import get_session
from incident_app.jobs.roster import roster_imports_job
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.roster import ImportMode
from incident_app.models.roster import ImportStatus
from incident_app.models.roster import RosterImport
from incident_app.models.user import Role
from incident_app.services.roster import upload as roster_upload
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import person


def test_the_job_is_registered_with_the_configured_interval(app) -> None:
    app.config["ROSTER_POLL_SECONDS"] = 6
    job = scheduler.build_scheduler(app, started_at=NOW).get_job("roster-imports")
    assert job is not None and job.trigger.interval.total_seconds() == 6
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)


def test_the_job_runs_every_queued_import(app) -> None:
    with app.app_context():
        session = get_session()
        lead = make_user(session, role=Role.RESPONDER)
        incident = make_incident(session, created_by=lead, members={lead: CaseRole.LEAD})
        for n in range(2):
            roster_upload.create_import(
                session,
                actor=lead,
                now=NOW,
                incident_id=incident.id,
                upload=io.BytesIO(csv_bytes(person(f"M{n}", f"P{n}"))),
                filename="r.csv",
                mode=ImportMode.APPEND,
                store=app_store.current_store(),
                max_bytes=10_000,
            )

    roster_imports_job(app)

    with app.app_context():
        session = get_session()
        statuses = session.scalars(sa.select(RosterImport.status)).all()
        assert statuses == [ImportStatus.COMMITTED, ImportStatus.COMMITTED]
        assert session.get(Incident, incident.id).roster_total == 2


def test_a_broken_stored_file_fails_that_import_and_the_job_carries_on(app) -> None:
    with app.app_context():
        session = get_session()
        lead = make_user(session, role=Role.RESPONDER)
        incident = make_incident(session, created_by=lead, members={lead: CaseRole.LEAD})
        record = roster_upload.create_import(
            session,
            actor=lead,
            now=NOW,
            incident_id=incident.id,
            upload=io.BytesIO(csv_bytes(person("M1"))),
            filename="r.csv",
            mode=ImportMode.REPLACE,
            store=app_store.current_store(),
            max_bytes=10_000,
        )
        app_store.current_store().path_for(record.file_sha256).write_bytes(b"BDFS garbage")

    roster_imports_job(app)

    with app.app_context():
        failed = get_session().get(RosterImport, record.id)
        assert failed.status is ImportStatus.FAILED
        assert "upload the file again" in failed.message
