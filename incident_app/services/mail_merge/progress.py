"""How far a batch is: its letters counted by outcome, and the live progress (done, failed,
rate over the last two minutes across all workers, ETA) that the batch page polls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Route
from incident_app.models.user import User
from incident_app.services.mail_merge.batches import WORKABLE
from incident_app.services.mail_merge.batches import get_batch
from incident_app.services.roster import access as roster_access

RATE_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class Counts:
    done: int
    failed: int
    retry: int
    emailed: int


class Progress(TypedDict):
    """The batch page's progress bar, also served as JSON to the page's poller."""

    status: str
    status_label: str
    total: int
    done: int
    failed: int
    left: int
    emailed: int
    percent: float
    rate: float  # letters per second over RATE_WINDOW; 0 when not running
    eta_seconds: int | None
    message: str
    active: bool


def letter_counts(session: Session, batch_id: int) -> Counts:
    rows = session.execute(
        sa.select(MailLetter.state, MailLetter.route, sa.func.count())
        .where(MailLetter.batch_id == batch_id)
        .group_by(MailLetter.state, MailLetter.route)
    ).all()
    by = {(state, route): n for state, route, n in rows}
    return Counts(
        done=sum(n for (state, _), n in by.items() if state is LetterState.DONE),
        failed=sum(n for (state, _), n in by.items() if state is LetterState.FAILED),
        retry=sum(n for (state, _), n in by.items() if state is LetterState.RETRY),
        emailed=by.get((LetterState.DONE, Route.EMAIL), 0),
    )


def progress_of(session: Session, batch: MailBatch, now: datetime) -> Progress:
    """Done, failed, rate (letters/s over the last two minutes, all workers) and ETA."""
    counts = letter_counts(session, batch.id)
    total = batch.mail_count + batch.email_count
    recent, first, last = session.execute(
        sa.select(
            sa.func.count(), sa.func.min(MailLetter.done_at), sa.func.max(MailLetter.done_at)
        ).where(MailLetter.batch_id == batch.id, MailLetter.done_at >= now - RATE_WINDOW)
    ).one()
    span = (last - first).total_seconds() if recent > 1 and first and last else 0.0
    rate = recent / span if span > 0 else 0.0
    left = max(total - counts.done - counts.failed, 0)
    active = batch.status in WORKABLE
    return {
        "status": batch.status.value,
        "status_label": batch.status.label,
        "total": total,
        "done": counts.done,
        "failed": counts.failed,
        "left": left,
        "emailed": counts.emailed,
        "percent": round(100 * (counts.done + counts.failed) / total, 1) if total else 100.0,
        "rate": round(rate, 1) if active else 0.0,
        "eta_seconds": round(left / rate) if active and rate > 0 and left else None,
        "message": batch.message,
        "active": active,
    }


def progress(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> Progress:
    """The batch's progress for the roster's readers."""
    roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    return progress_of(session, get_batch(session, incident_id, batch_id), now)
