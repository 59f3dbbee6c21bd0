"""What the Mailing tab and a batch's page show: who would get what and which letters are
approved, the incident's batches; a batch with its chunks, progress and failed letters (by
letter id and reason: no PHI on the page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.models.incident import Incident
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.mail_batch import Variant
from incident_app.models.user import User
from incident_app.services.mail_merge import planning
from incident_app.services.mail_merge.batches import get_batch
from incident_app.services.mail_merge.planning import Plan
from incident_app.services.mail_merge.progress import Progress
from incident_app.services.mail_merge.progress import progress_of
from incident_app.services.organisation import get_organisation
from incident_app.services.roster import access as roster_access

FAILED_SHOWN = 200


@dataclass(frozen=True)
class Overview:
    incident: Incident
    plan: Plan
    approved: dict[Variant, bool]
    problems: list[str]
    email_enabled: bool
    batches: list[MailBatch]
    open_batch: MailBatch | None
    may_start: bool


def overview(session: Session, *, actor: User, incident_id: int) -> Overview:
    """What the Mailing tab shows: who would get what, which letters are approved, batches."""
    incident = roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    email_enabled = get_organisation(session).email_notice_enabled
    planned = planning.plan(session, incident_id, email_enabled=email_enabled)
    approved = {v: planning.approval(session, incident_id, v) is not None for v in Variant}
    needed = set(planned.variants) | {Variant.ADULT}
    problems = [
        planning.why_not_approved(session, incident_id, v)
        for v in Variant
        if v in needed and not approved[v]
    ]
    batches = list(
        session.scalars(
            sa.select(MailBatch)
            .where(MailBatch.incident_id == incident_id)
            .order_by(MailBatch.id.desc())
        )
    )
    open_batch = next((b for b in batches if b.status.is_open), None)
    return Overview(
        incident,
        planned,
        approved,
        problems,
        email_enabled,
        batches,
        open_batch,
        roster_access.can_change(session, actor=actor, incident=incident),
    )


@dataclass(frozen=True)
class BatchPage:
    incident: Incident
    batch: MailBatch
    chunks: list[MailChunk]
    failed: list[MailLetter]
    failed_total: int
    progress: Progress
    started_by: User
    may_change: bool


def batch_page(
    session: Session, *, actor: User, now: datetime, incident_id: int, batch_id: int
) -> BatchPage:
    """The batch with chunks, failed letters (by letter id and reason: no PHI on the page)."""
    incident = roster_access.get_readable(session, actor=actor, incident_id=incident_id)
    batch = get_batch(session, incident_id, batch_id)
    chunks = list(
        session.scalars(
            sa.select(MailChunk).where(MailChunk.batch_id == batch.id).order_by(MailChunk.number)
        )
    )
    failed_query = sa.select(MailLetter).where(
        MailLetter.batch_id == batch.id, MailLetter.state == LetterState.FAILED
    )
    failed = list(session.scalars(failed_query.order_by(MailLetter.sequence).limit(FAILED_SHOWN)))
    failed_total = (
        session.scalar(sa.select(sa.func.count()).select_from(failed_query.subquery())) or 0
    )
    return BatchPage(
        incident,
        batch,
        chunks,
        failed,
        failed_total,
        progress_of(session, batch, now),
        session.get_one(User, batch.started_by_id),
        roster_access.can_change(session, actor=actor, incident=incident),
    )
