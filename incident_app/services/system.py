"""Process-level use cases: readiness, the scheduler heartbeat, dashboard panels."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import TypedDict

import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from incident_app.models.system import SchedulerHeartbeat
from incident_app.models.user import User
from incident_app.services.incidents import listing as incident_list
from incident_app.services.letters import queue as review_queue
from incident_app.services.letters.access import may_approve
from incident_app.services.letters.queue import QueueItem
from incident_app.services.organisation import local_today

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
HEARTBEAT_ID = 1
HEARTBEAT_STALE_AFTER = timedelta(minutes=3)


class Readiness(TypedDict):
    """The /readyz body."""

    ready: bool
    checks: dict[str, str]  # "database", "migrations", "scheduler" -> "ok" or why not


class SchedulerStatus(TypedDict):
    running: bool
    detail: str


class DashboardPanels(TypedDict):
    scheduler: SchedulerStatus
    today: date
    incidents: Mapping[str, object]  # incidents.listing.dashboard
    review_queue: list[QueueItem]  # letters awaiting this user's legal review
    may_review: bool
    now: datetime


def migration_head() -> str | None:
    config = AlembicConfig(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def readiness(session: Session, *, now: datetime) -> Readiness:
    """What /readyz reports. Never raises: every failed check is a reason."""
    checks: dict[str, str] = {}
    try:
        session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        session.rollback()
        checks["database"] = f"unreachable: {type(error).__name__}"
        return {"ready": False, "checks": checks}
    checks["database"] = "ok"
    current = _current_revision(session)
    checks["migrations"] = "ok" if current == migration_head() else f"at {current or 'none'}"
    beat = session.get(SchedulerHeartbeat, HEARTBEAT_ID)
    fresh = beat is not None and now - beat.beat_at < HEARTBEAT_STALE_AFTER
    checks["scheduler"] = "ok" if fresh else ("never seen" if beat is None else "stale")
    return {"ready": all(v == "ok" for v in checks.values()), "checks": checks}


def _current_revision(session: Session) -> str | None:
    # Asked first rather than caught in a savepoint: a savepoint on SQLite takes the write
    # lock (db.py), and /readyz must answer while a long write runs.
    if not sa.inspect(session.connection()).has_table("alembic_version"):
        return None
    revision: str | None = session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    return revision


def record_heartbeat(
    session: Session, *, now: datetime, host: str, pid: int, started_at: datetime
) -> None:
    beat = session.get(SchedulerHeartbeat, HEARTBEAT_ID)
    if beat is None:
        beat = SchedulerHeartbeat(
            id=HEARTBEAT_ID, beat_at=now, started_at=started_at, host=host, pid=pid
        )
        session.add(beat)
    beat.beat_at, beat.host, beat.pid, beat.started_at = now, host, pid, started_at
    session.commit()


def scheduler_status(session: Session, *, now: datetime) -> SchedulerStatus:
    beat = session.get(SchedulerHeartbeat, HEARTBEAT_ID)
    if beat is None:
        return {"running": False, "detail": "The scheduler has never reported."}
    age = now - beat.beat_at
    return {
        "running": age < HEARTBEAT_STALE_AFTER,
        "detail": f"Last heartbeat {int(age.total_seconds())} s ago from {beat.host} "
        f"(pid {beat.pid}).",
    }


def dashboard_panels(session: Session, *, actor: User, now: datetime) -> DashboardPanels:
    """What the dashboard shows this user. Areas add their panels here."""
    today = local_today(session, now)
    return {
        "scheduler": scheduler_status(session, now=now),
        "today": today,
        "incidents": incident_list.dashboard(session, actor=actor, today=today),
        "review_queue": review_queue.awaiting_review(session, actor=actor),
        "may_review": may_approve(session, actor),
        "now": now,
    }
