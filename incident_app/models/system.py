"""Process bookkeeping: the scheduler's heartbeat, read by /readyz and the admin page."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from incident_app.db import Base


class SchedulerHeartbeat(Base):
    __tablename__ = "scheduler_heartbeat"

    id: Mapped[int] = mapped_column(primary_key=True)
    beat_at: Mapped[datetime]
    started_at: Mapped[datetime]
    host: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int]
