"""Who reviews a letter: the legal reviewers who may approve it, the one it is sent to, and the
notice they get (in-app and by email through the reminder outbox; no PHI in email).

A letter sent back after "changes requested" goes to the same reviewer unless the sender picks
another. Any reviewer who may approve can still act on it (an absence must not block a notice
with a 60-day outer limit, 45 CFR 164.404(b)); the assignment routes the work and the queue.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentMember
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterVersion
from incident_app.models.notification import Notification
from incident_app.models.notification import NotificationKind
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.letters.trail import letter_label
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders.notifications import ReviewRequest
from incident_app.services.reminders.notifications import notify_review_request


def eligible_reviewers(session: Session, letter: Letter) -> list[User]:
    """Active people who may approve this letter: legal reviewers on the incident's team (legal
    reviewers see only their incidents) and, when the organisation allows it, privacy officers;
    never its author (four eyes). Team legal reviewers first, then by name."""
    authors = {letter.created_by_id}
    if letter.current_version is not None:
        authors.add(letter.current_version.rendered_by_id)
    rows = session.execute(
        sa.select(User, IncidentMember.case_role)
        .join(IncidentMember, IncidentMember.user_id == User.id)
        .where(
            IncidentMember.incident_id == letter.incident_id,
            User.role == Role.LEGAL,
            User.active.is_(True),
        )
    ).all()
    ranked = {user.id: (0 if role is CaseRole.LEGAL else 1, user) for user, role in rows}
    if get_organisation(session).privacy_officer_may_approve:
        for user in session.scalars(
            sa.select(User).where(User.role == Role.PRIVACY_OFFICER, User.active.is_(True))
        ):
            ranked.setdefault(user.id, (2, user))
    people = [pair for uid, pair in ranked.items() if uid not in authors]
    return [user for _, user in sorted(people, key=lambda pair: (pair[0], pair[1].name))]


def suggested_reviewer(session: Session, letter: Letter) -> User | None:
    """The reviewer the letter went to last time, else the first eligible one."""
    people = eligible_reviewers(session, letter)
    for user in people:
        if user.id == letter.reviewer_id:
            return user
    return people[0] if people else None


def choose_reviewer(session: Session, letter: Letter, reviewer_id: int | None) -> User | None:
    """The reviewer to send to: the one asked for (ValidationFailed unless eligible), else the
    suggestion; None when nobody on the team may approve (any approver may then act)."""
    if reviewer_id is None:
        return suggested_reviewer(session, letter)
    for user in eligible_reviewers(session, letter):
        if user.id == reviewer_id:
            return user
    raise ValidationFailed(
        "Choose a legal reviewer on this incident's team who did not write the letter.",
        field="reviewer_id",
    )


def notify_reviewer(
    session: Session,
    *,
    letter: Letter,
    version: LetterVersion,
    reviewer: User,
    sender: User,
    now: datetime,
    revision: bool,
    email_base_url: str | None,
) -> None:
    """The reviewer's notification (and queued email); rows only, the caller commits."""
    incident = letter.incident
    notify_review_request(
        session,
        reviewer=reviewer,
        request=ReviewRequest(
            incident_id=incident.id,
            reference=incident.reference,
            document_id=letter.document_id,
            letter_label=letter_label(letter).removesuffix(f" {letter.document_id}"),
            version=version.number,
            due_on=letter.obligation.effective_due_on,
            link=f"/incidents/{incident.id}/letters/{letter.id}",
            requested_by=sender.name,
            revision=revision,
        ),
        now=now,
        email_base_url=email_base_url,
    )


def close_review_notes(session: Session, *, letter: Letter, user: User, now: datetime) -> None:
    """Mark `user`'s unread review notifications for this letter read: they acted on it."""
    session.execute(
        sa.update(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.kind == NotificationKind.LETTER_REVIEW,
            Notification.link == f"/incidents/{letter.incident_id}/letters/{letter.id}",
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
