"""Reading letters, every look audited (letters hold PHI): the Letters tab, a letter's page,
verified downloads, the approved-vs-draft comparison and the HHS packet as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.letters.ocr_portal import hhs_packet_json
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterReviewEvent
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import LetterVersion
from incident_app.models.letter import ReviewAction
from incident_app.models.obligation import Obligation
from incident_app.models.user import User
from incident_app.services.incidents.access import get_visible
from incident_app.services.letters import context as letter_context
from incident_app.services.letters import reviewers
from incident_app.services.letters.access import may_approve
from incident_app.services.letters.access import may_work
from incident_app.services.letters.access import visible_letter
from incident_app.services.letters.preview import Preview
from incident_app.services.letters.preview import preview_of
from incident_app.services.letters.preview import side_by_side
from incident_app.services.letters.preview import text_lines
from incident_app.services.letters.review import Freshness
from incident_app.services.letters.review import LetterIntegrityFailed
from incident_app.services.letters.review import approval_valid
from incident_app.services.letters.review import current_version
from incident_app.services.letters.review import freshness
from incident_app.services.letters.trail import audit_read
from incident_app.services.letters.trail import letter_label
from incident_app.storage import FileStore
from incident_app.storage import StorageError


@dataclass(frozen=True)
class LetterPage:
    letter: Letter
    version: LetterVersion | None
    freshness: Freshness
    approval_valid: bool
    events: list[LetterReviewEvent]
    may_review: bool
    may_work: bool
    is_author: bool
    label: str = ""  # "Individual notice (adult) — sample", not the template file name
    preview: Preview | None = None
    reviewer_choices: list[User] = field(default_factory=list)  # for "send to legal review"
    suggested_reviewer: User | None = None

    @property
    def requested_changes(self) -> LetterReviewEvent | None:
        """The reviewer's latest request for changes, while the letter waits for them."""
        if self.letter.status is not LetterStatus.CHANGES_REQUESTED:
            return None
        asked = [e for e in self.events if e.action is ReviewAction.CHANGES_REQUESTED]
        return asked[-1] if asked else None


def letter_page(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    store: FileStore | None = None,
) -> LetterPage:
    """The letter with its staleness, review trail and what `actor` may do, and with `store`
    its preview (page count, text, changes since the last approval). Audited."""
    letter = visible_letter(session, actor, incident_id, letter_id)
    version = letter.current_version
    events = list(
        session.scalars(
            sa.select(LetterReviewEvent)
            .where(LetterReviewEvent.letter_id == letter.id)
            .order_by(LetterReviewEvent.at, LetterReviewEvent.id)
        )
    )
    working = may_work(session, actor, incident_id)
    choosing = working and letter.status in (LetterStatus.DRAFT, LetterStatus.CHANGES_REQUESTED)
    page = LetterPage(
        letter=letter,
        version=version,
        freshness=freshness(session, letter),
        approval_valid=approval_valid(session, letter),
        events=events,
        may_review=may_approve(session, actor),
        may_work=working,
        label=letter_label(letter).removesuffix(f" {letter.document_id}"),
        is_author=actor.id in {letter.created_by_id, version.rendered_by_id if version else 0},
        preview=preview_of(store, letter) if store is not None else None,
        reviewer_choices=reviewers.eligible_reviewers(session, letter) if choosing else [],
        suggested_reviewer=reviewers.suggested_reviewer(session, letter) if choosing else None,
    )
    audit_read(session, letter, "letter.viewed", actor, now, {})
    session.commit()
    return page


def download(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    version_id: int,
    store: FileStore,
) -> tuple[str, bytes]:
    """(file name, PDF bytes) of one version, verified against its SHA-256 (and, for the
    approved version, against the approval). A mismatch is audited and refused with
    LetterIntegrityFailed. Commits once."""
    letter = visible_letter(session, actor, incident_id, letter_id)
    version = session.get(LetterVersion, version_id)
    if version is None or version.letter_id != letter.id:
        raise NotFound("No such version of this letter.")
    details = {"version": version.number, "sha256": version.sha256}
    try:
        data = store.read_verified(version.sha256)
    except StorageError as error:
        audit_read(
            session,
            letter,
            "letter.download_refused",
            actor,
            now,
            {**details, "reason": str(error)},
        )
        session.commit()
        raise LetterIntegrityFailed(
            f"Download refused: the stored PDF of {letter.document_id} version {version.number} "
            "no longer matches the SHA-256 recorded when it was rendered"
            + (" and approved" if version.id == letter.approved_version_id else "")
            + ". The attempt was recorded in the audit trail; restore the file from a backup "
            "or generate the letter again."
        ) from error
    audit_read(session, letter, "letter.downloaded", actor, now, details)
    session.commit()
    return f"{letter.document_id}-v{version.number}.pdf", data


@dataclass(frozen=True)
class Comparison:
    letter: Letter
    draft: LetterVersion
    approved: LetterVersion | None
    rows: list[tuple[str, str, str]]  # (tag, approved line, draft line); tag: same/changed/…


def compare(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    store: FileStore,
) -> Comparison:
    """Side by side: the last approved version's text against the current draft's. Audited."""
    letter = visible_letter(session, actor, incident_id, letter_id)
    draft = current_version(letter)
    approved = letter.approved_version
    old = _text_lines(store, approved.sha256) if approved else []
    new = _text_lines(store, draft.sha256)
    audit_read(
        session,
        letter,
        "letter.compared",
        actor,
        now,
        {"draft": draft.number, "approved": approved.number if approved else None},
    )
    session.commit()
    return Comparison(letter, draft, approved, side_by_side(old, new))


def _text_lines(store: FileStore, sha256: str) -> list[str]:
    try:
        data = store.read_verified(sha256)
    except StorageError as error:
        raise LetterIntegrityFailed(f"The stored PDF failed its check: {error}") from error
    return text_lines(data)


def hhs_json(
    session: Session, *, actor: User, now: datetime, incident_id: int, letter_id: int
) -> str:
    """The approved HHS packet's portal answers as JSON (the same text as the PDF). Audited."""
    letter = visible_letter(session, actor, incident_id, letter_id)
    if letter.template_name != "hhs_packet.html":
        raise NotFound("Only the HHS packet has a JSON form.")
    if letter.incident.exercise:
        # The JSON is pasted into OCR's portal; a drill's answers must never get there.
        raise InvalidTransition(
            f"{letter.incident.reference} is a tabletop exercise: its HHS answers are not "
            "exported for the OCR portal. Use the PDF (marked EXERCISE) for the drill."
        )
    version = current_version(letter)
    case = letter_context.load_case(session, letter, version.letter_date)
    report = letter_context.hhs_report(session, case)
    audit_read(session, letter, "letter.hhs_json_viewed", actor, now, {"version": version.number})
    session.commit()
    return hhs_packet_json(report)  # type: ignore[arg-type]


# ---- the Letters tab ------------------------------------------------------------------------


@dataclass(frozen=True)
class ObligationLetters:
    obligation: Obligation
    templates: list[tuple[str, str]]  # (template name, label) this obligation can produce
    letters: list[LetterSummary]


@dataclass(frozen=True)
class LetterSummary:
    letter: Letter
    label: str
    freshness: Freshness
    approval_valid: bool


def letters_overview(
    session: Session, *, actor: User, incident_id: int
) -> tuple[Incident, list[ObligationLetters]]:
    """The incident's active obligations that produce letters, with their letters."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    by_obligation: dict[int, list[LetterSummary]] = {}
    for letter in session.scalars(
        sa.select(Letter).where(Letter.incident_id == incident.id).order_by(Letter.id)
    ):
        by_obligation.setdefault(letter.obligation_id, []).append(
            LetterSummary(
                letter,
                letter_label(letter),
                freshness(session, letter),
                approval_valid(session, letter),
            )
        )
    groups = []
    for obligation in sorted(
        letter_context.incident_obligations(session, incident.id),
        key=lambda o: (o.due_on or date.max, o.kind, o.jurisdiction),
    ):
        names = letter_context.templates_for(obligation.kind)
        if names:
            groups.append(
                ObligationLetters(
                    obligation,
                    [(n, letter_context.TEMPLATE_LABELS[n]) for n in names],
                    by_obligation.get(obligation.id, []),
                )
            )
    return incident, groups
