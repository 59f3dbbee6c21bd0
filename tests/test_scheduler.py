"""The scheduler process: its jobs, its heartbeat, and the one-instance guard."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from incident_app import scheduler
from incident_app.db import get_session
from incident_app.db import make_engine
from incident_app.models.system import SchedulerHeartbeat
from tests.support.factories import NOW
from tests.support.scratch_db import scratch_postgres


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


# --- Losing the lock while running (issue 24 §3) -------------------------------------------------


def _sqlite_only(app) -> None:
    if app.extensions["engine"].dialect.name != "sqlite":
        pytest.skip("the file lock is the SQLite deployment's")


def test_a_deleted_lock_file_is_noticed_and_a_second_scheduler_stops_the_first(app) -> None:
    _sqlite_only(app)
    ran, stopped = [], []
    with scheduler.single_instance(app) as first:
        (app.config["INSTANCE_DIR"] / "scheduler.lock").unlink()
        with scheduler.single_instance(app) as second:  # it can start: the file is new
            scheduler.guarded(first, lambda: stopped.append(1), ran.append, "tick")
            assert (ran, stopped, first.lost) == ([], [1], True)
            assert second.keep()  # the newcomer keeps running, alone
    with scheduler.single_instance(app):  # both released
        pass


def test_a_deleted_lock_file_nobody_took_is_taken_again(app) -> None:
    _sqlite_only(app)
    ran = []
    with scheduler.single_instance(app) as lock:
        (app.config["INSTANCE_DIR"] / "scheduler.lock").unlink()
        scheduler.guarded(lock, pytest.fail, ran.append, "tick")
        assert ran == ["tick"] and not lock.lost
        with pytest.raises(scheduler.SchedulerAlreadyRunning):
            with scheduler.single_instance(app):
                pass


@pytest.fixture
def pg_app():
    """A bare app-like holder of an engine on a scratch PostgreSQL database (advisory locks are
    per database, so other suites' schedulers cannot interfere)."""
    with scratch_postgres("schedlock") as (url,):
        engine = make_engine(url)
        yield SimpleNamespace(extensions={"engine": engine}, config={})
        engine.dispose()


def _terminate_backend_of(lock, engine) -> None:
    pid = lock._connection.scalar(sa.text("SELECT pg_backend_pid()"))
    with engine.connect() as other:
        assert other.scalar(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        for _ in range(50):  # the backend goes away asynchronously
            gone = not other.scalar(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            )
            if gone:
                break
            time.sleep(0.05)
        other.commit()


def test_a_terminated_lock_backend_lets_a_second_start_and_the_first_stops(pg_app) -> None:
    engine = pg_app.extensions["engine"]
    ran, stopped = [], []
    with scheduler.single_instance(pg_app) as first:
        _terminate_backend_of(first, engine)
        with scheduler.single_instance(pg_app) as second:  # what the outside test saw
            scheduler.guarded(first, lambda: stopped.append(1), ran.append, "tick")
            assert (ran, stopped, first.lost) == ([], [1], True)
            assert second.keep()
    with scheduler.single_instance(pg_app):  # released
        pass


def test_a_terminated_lock_backend_nobody_took_is_taken_again(pg_app) -> None:
    engine = pg_app.extensions["engine"]
    ran = []
    with scheduler.single_instance(pg_app) as lock:
        _terminate_backend_of(lock, engine)
        scheduler.guarded(lock, pytest.fail, ran.append, "tick")
        assert ran == ["tick"] and not lock.lost
        with pytest.raises(scheduler.SchedulerAlreadyRunning):
            with scheduler.single_instance(pg_app):
                pass


def test_every_job_of_a_locked_scheduler_checks_the_lock(app) -> None:
    _sqlite_only(app)
    with scheduler.single_instance(app) as lock:
        sched = scheduler.build_scheduler(app, started_at=NOW, lock=lock)
        jobs = sched.get_jobs()
        assert len(jobs) == 1 + len(scheduler.JOBS)
        assert all(job.func is scheduler.guarded and job.args[0] is lock for job in jobs)
        (app.config["INSTANCE_DIR"] / "scheduler.lock").unlink()
        with scheduler.single_instance(app):
            heartbeat = sched.get_job("heartbeat")
            heartbeat.func(*heartbeat.args)  # the tick of a scheduler that lost its lock
    with app.app_context():
        assert get_session().get(SchedulerHeartbeat, 1) is None  # the heartbeat does not lie
