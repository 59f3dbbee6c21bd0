"""Legal review: draft → in legal review → approved, bound to the exact PDF bytes.

Or → changes requested (with comments). Staleness is computed on every look by rebuilding the
context: a change of case data or template, or a re-render, voids the approval. The mail merge
starts from an approved, still-valid letter (`approved_letter`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import DomainError
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.letters.versions import template_version
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterReviewEvent
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import LetterVersion
from incident_app.models.letter import ReviewAction
from incident_app.models.user import User
from incident_app.services.letters import context as letter_context
from incident_app.services.letters import reviewers
from incident_app.services.letters.access import may_approve
from incident_app.services.letters.access import visible_letter
from incident_app.services.letters.access import workable_letter
from incident_app.services.letters.trail import audit_and_timeline
from incident_app.services.letters.trail import letter_label
from incident_app.services.letters.trail import record_review_event
from incident_app.storage import FileStore
from incident_app.storage import StorageError

COMMENT_MAX = 5000


class LetterIntegrityFailed(DomainError):
    """The stored PDF no longer matches its recorded SHA-256: nothing is handed out."""

    status_code = 409


# ---- freshness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    stale: bool
    reasons: tuple[str, ...]


def freshness(session: Session, letter: Letter, *, printed_from: str | None = None) -> Freshness:
    """Whether the current version still matches the case data and the template files
    (`printed_from`: the template version it will be printed from instead of the files on
    disk, e.g. a mailing's template snapshot)."""
    version = letter.current_version
    if version is None:
        return Freshness(True, ("The letter has not been rendered.",))
    reasons = []
    template = template_version(letter.template_name) if printed_from is None else printed_from
    if template != version.template_version:
        reasons.append("The letter template changed since this version was rendered.")
    case = letter_context.load_case(session, letter, version.letter_date)
    try:
        context = letter_context.build_context(session, case)
    except ValidationFailed as error:
        reasons.append(f"The case data can no longer produce this letter: {error}")
    else:
        if letter_context.fingerprint(context) != version.data_fingerprint:
            reasons.append("The case data this letter prints changed since it was rendered.")
    return Freshness(bool(reasons), tuple(reasons))


def approval_valid(session: Session, letter: Letter, *, printed_from: str | None = None) -> bool:
    """Approved (or sent) version is the current one and nothing it printed has changed
    (`printed_from`: see freshness)."""
    return (
        letter.status in (LetterStatus.APPROVED, LetterStatus.SENT)
        and letter.approved_version_id is not None
        and letter.approved_version_id == letter.current_version_id
        and not freshness(session, letter, printed_from=printed_from).stale
    )


# ---- review ---------------------------------------------------------------------------------


def submit_for_review(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    reviewer_id: int | None = None,
    email_base_url: str | None = None,
) -> Letter:
    """Draft / changes requested → in legal review, sent to `reviewer_id` (default: the
    reviewer it went to before, else the team's legal reviewer), who is notified in the app
    and, with `email_base_url`, by email. Refused (ValidationFailed, naming each element)
    while 164.404(c) elements are missing or PHI values appear. Commits once."""
    letter = workable_letter(session, actor, incident_id, letter_id)
    send_to_review(session, letter, actor, now, reviewer_id, email_base_url)
    session.commit()
    return letter


def send_to_review(
    session: Session,
    letter: Letter,
    actor: User,
    now: datetime,
    reviewer_id: int | None,
    email_base_url: str | None,
    notify: bool = True,
) -> User | None:
    """The submit step without the commit (revision and "prepare every letter" share it;
    the latter sends one notice for all its letters, so it passes notify=False)."""
    if letter.status not in (LetterStatus.DRAFT, LetterStatus.CHANGES_REQUESTED):
        raise InvalidTransition(
            f"A letter that is {letter.status.label.lower()} cannot be sent to review."
        )
    version = current_version(letter)
    _require_fresh(session, letter, "send it to review")
    _require_complete(version)
    reviewer = reviewers.choose_reviewer(session, letter, reviewer_id)
    revision = _was_reviewed_before(session, letter)
    letter.status = LetterStatus.IN_REVIEW
    letter.updated_at = now
    letter.review_requested_at = now
    letter.reviewer_id = reviewer.id if reviewer else None
    letter.reviewer = reviewer  # keep the loaded relationship in step with the id
    record_review_event(session, letter, version, ReviewAction.SUBMITTED, actor, now)
    if reviewer is not None and notify:
        reviewers.notify_reviewer(
            session,
            letter=letter,
            version=version,
            reviewer=reviewer,
            sender=actor,
            now=now,
            revision=revision,
            email_base_url=email_base_url,
        )
    audit_and_timeline(
        session,
        letter,
        "letter.submitted",
        actor,
        now,
        {
            "version": version.number,
            "sha256": version.sha256,
            "reviewer_id": reviewer.id if reviewer else None,
        },
        f"{letter_label(letter)} sent to legal review"
        + (f" ({reviewer.name})." if reviewer else "."),
    )
    return reviewer


def _was_reviewed_before(session: Session, letter: Letter) -> bool:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(LetterReviewEvent)
            .where(
                LetterReviewEvent.letter_id == letter.id,
                LetterReviewEvent.action == ReviewAction.CHANGES_REQUESTED,
            )
        )
        or 0
    ) > 0


def current_version(letter: Letter) -> LetterVersion:
    if letter.current_version is None:
        raise InvalidTransition("The letter has not been rendered yet.")
    return letter.current_version


def _require_fresh(session: Session, letter: Letter, doing: str) -> None:
    state = freshness(session, letter)
    if state.stale:
        raise InvalidTransition(
            f"Cannot {doing}: {' '.join(state.reasons)} Generate the letter again first."
        )


def _require_complete(version: LetterVersion) -> None:
    warnings = (version.content_report or {}).get("phi_warnings", [])
    if version.missing_elements:
        raise ValidationFailed(
            "The letter is missing required 164.404(c) elements: "
            + "; ".join(version.missing_elements)
            + ". Complete the notice wording and generate it again.",
            field="missing_elements",
        )
    if warnings:
        raise ValidationFailed(
            "The letter seems to contain PHI values where only types belong: "
            + "; ".join(warnings),
            field="missing_elements",
        )


def request_changes(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    comment: str,
) -> Letter:
    """In legal review → changes requested, with the reviewer's comments. Commits once."""
    letter = _reviewable(session, actor, incident_id, letter_id)
    comment = comment.strip()
    if not comment:
        raise ValidationFailed("Say what has to change.", field="comment")
    if len(comment) > COMMENT_MAX:
        raise ValidationFailed(f"Keep comments under {COMMENT_MAX} characters.", field="comment")
    version = current_version(letter)
    letter.status, letter.updated_at = LetterStatus.CHANGES_REQUESTED, now
    reviewers.close_review_notes(session, letter=letter, user=actor, now=now)
    record_review_event(
        session, letter, version, ReviewAction.CHANGES_REQUESTED, actor, now, comment
    )
    audit_and_timeline(
        session,
        letter,
        "letter.changes_requested",
        actor,
        now,
        {"version": version.number, "comment": comment},
        f"Changes requested on {letter_label(letter)}.",
    )
    session.commit()
    return letter


def _reviewable(session: Session, actor: User, incident_id: int, letter_id: int) -> Letter:
    letter = visible_letter(session, actor, incident_id, letter_id)
    if not may_approve(session, actor):
        raise NotAllowed("Only legal reviewers may review letters.")
    if letter.status is not LetterStatus.IN_REVIEW:
        raise InvalidTransition(
            f"The letter is {letter.status.label.lower()}, not in legal review."
        )
    return letter


def approve(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    store: FileStore,
    expected_sha256: str,
) -> Letter:
    """In legal review → approved: records approver, time, template version and the SHA-256
    of the exact stored bytes (verified first). `expected_sha256` is what the reviewer
    confirmed (at least its first 12 characters): refused (InvalidTransition) when the current
    version is another one. Refused for the author and for a stale draft. Commits once."""
    letter = approve_unsaved(
        session,
        actor=actor,
        now=now,
        incident_id=incident_id,
        letter_id=letter_id,
        store=store,
        expected_sha256=expected_sha256,
    )
    session.commit()
    return letter


def approve_unsaved(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    store: FileStore,
    expected_sha256: str,
) -> Letter:
    """The approval step of `approve` without the commit (approving a set together)."""
    letter = _reviewable(session, actor, incident_id, letter_id)
    version = current_version(letter)
    _require_confirmed(letter, version, expected_sha256)
    if actor.id in (letter.created_by_id, version.rendered_by_id):
        raise NotAllowed("You wrote this letter; another reviewer must approve it.")
    _require_fresh(session, letter, "approve it")
    try:
        store.read_verified(version.sha256)
    except StorageError as error:
        raise LetterIntegrityFailed(
            f"Cannot approve: the stored PDF failed its check ({error})."
        ) from error
    letter.status, letter.approved_version_id, letter.updated_at = (
        LetterStatus.APPROVED,
        version.id,
        now,
    )
    letter.approved_version = version
    reviewers.close_review_notes(session, letter=letter, user=actor, now=now)
    record_review_event(session, letter, version, ReviewAction.APPROVED, actor, now)
    audit_and_timeline(
        session,
        letter,
        "letter.approved",
        actor,
        now,
        {
            "version": version.number,
            "sha256": version.sha256,
            "template_version": version.template_version,
        },
        f"{letter_label(letter)} approved (sha256 {version.sha256[:12]}…).",
    )
    return letter


CONFIRM_PREFIX = 12  # characters of the SHA-256 the reviewer confirms


def _require_confirmed(letter: Letter, version: LetterVersion, expected: str) -> None:
    expected = expected.strip().lower()
    if len(expected) < CONFIRM_PREFIX or not all(c in "0123456789abcdef" for c in expected):
        raise ValidationFailed(
            f"Confirm the approval with the first {CONFIRM_PREFIX} characters of the "
            "letter's SHA-256.",
            field="expected_sha256",
        )
    if not version.sha256.startswith(expected):
        raise InvalidTransition(
            f"Not approved: {letter.document_id} changed since you opened it. Version "
            f"{version.number} (SHA-256 {version.sha256[:CONFIRM_PREFIX]}) is now current, not "
            f"the one you confirmed ({expected[:CONFIRM_PREFIX]}). Read it and confirm again."
        )
