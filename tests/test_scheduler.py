"""The scheduler process: its jobs, its heartbeat, and the one-instance guard."""

from __future__ import annotations

import pytest

from incident_app import scheduler
from incident_app.db import get_session
from incident_app.models.system import SchedulerHeartbeat
from tests.support.factories import NOW


def test_build_scheduler_registers_the_heartbeat_with_safe_defaults(app) -> None:
    sched = scheduler.build_scheduler(app, started_at=NOW)

    job = sched.get_job("heartbeat")
    assert job is not None
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    assert str(sched.timezone) == "UTC"


def test_heartbeat_job_records_a_beat(app) -> None:
    scheduler.heartbeat_job(app, NOW)

    with app.app_context():
        beat = get_session().get(SchedulerHeartbeat, 1)
    assert beat is not None and beat.started_at == NOW


def test_a_second_scheduler_refuses_to_start(app) -> None:
    with scheduler.single_instance(app):
        with pytest.raises(scheduler.SchedulerAlreadyRunning, match="already running"):
            with scheduler.single_instance(app):
                pass
    with scheduler.single_instance(app):  # released: the next start works
        pass
