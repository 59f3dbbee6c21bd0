"""Notification letters from generation to legal approval, bound to the exact PDF bytes.

Draft → in legal review → approved → sent, or → changes requested (with comments). Every render
stores the PDF in the file store and a `LetterVersion` with its SHA-256, the template version
and a fingerprint of the case data it printed. Staleness is computed on every look by
rebuilding the context: a change of case data or template, or a re-render, voids the approval.
Letters hold PHI, so every view and download is audited.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app import storage
from incident_app.access import Capability
from incident_app.access import can
from incident_app.errors import DomainError
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterReviewEvent
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import LetterVersion
from incident_app.models.letter import NoticeWording
from incident_app.models.letter import ReviewAction
from incident_app.models.obligation import Obligation
from incident_app.models.timeline import EntryKind
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.services.letters import context as letter_context
from incident_app.services.letters import wording as letter_content
from incident_app.services.organisation import get_organisation

SUBSTITUTE_TEMPLATES = frozenset({"substitute_web.html", "substitute_media.html"})
UNCHECKED_TEMPLATES = frozenset({"hhs_packet.html"})  # a portal worksheet, not a notice
COMMENT_MAX = 5000


class LetterIntegrityFailed(DomainError):
    """The stored PDF no longer matches its recorded SHA-256: nothing is handed out."""

    status_code = 409


# ---- who may do what ------------------------------------------------------------------------


def may_approve(session: Session, actor: User) -> bool:
    """Legal reviewers; privacy officers too when the organisation setting allows it."""
    if can(actor, Capability.APPROVE_LETTERS):
        return True
    return (
        actor.active
        and actor.role == Role.PRIVACY_OFFICER
        and get_organisation(session).privacy_officer_may_approve
    )


def require_visible(session: Session, *, actor: User, incident_id: int) -> None:
    """NotFound unless `actor` may see the incident (404 before any form is looked at)."""
    get_visible(session, actor=actor, incident_id=incident_id)


def _letter(session: Session, incident: Incident, letter_id: int) -> Letter:
    letter = session.get(Letter, letter_id)
    if letter is None or letter.incident_id != incident.id:
        raise NotFound("No such letter on this incident.")
    return letter


def _visible_letter(session: Session, actor: User, incident_id: int, letter_id: int) -> Letter:
    return _letter(session, get_visible(session, actor=actor, incident_id=incident_id), letter_id)


def _workable_letter(session: Session, actor: User, incident_id: int, letter_id: int) -> Letter:
    return _letter(session, get_workable(session, actor=actor, incident_id=incident_id), letter_id)


# ---- generation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterRequest:
    obligation_id: int
    template_name: str
    recipient_name: str = ""
    recipient_address: tuple[str, ...] = ()


def generate(
    session: Session, *, actor: User, now: datetime, incident_id: int, request: LetterRequest
) -> Letter:
    """Render the letter for an obligation (a new version if the letter exists) and store it.

    Raises NotFound, NotAllowed, ValidationFailed (missing case data or template field:
    nothing is stored), InvalidTransition (already sent), LetterRenderError. Commits once.
    """
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    obligation = _obligation(session, incident, request)
    letter = _find_or_new_letter(session, incident, obligation, request, actor, now)
    if letter.status is LetterStatus.SENT:
        raise InvalidTransition("This letter was sent; it can no longer be re-rendered.")
    _set_recipient(letter, request)
    org = get_organisation(session)
    case = letter_context.load_case(session, letter, letter_context.local_date(now, org.timezone))
    context = letter_context.build_context(session, case)
    pdf = letters.render_pdf(letter.template_name, context, archival=True)
    version = _store_version(session, letter, context, pdf, case.letter_date, actor, now)
    _after_render(session, letter, version, actor, now)
    session.commit()
    return letter


def _obligation(session: Session, incident: Incident, request: LetterRequest) -> Obligation:
    obligation = session.get(Obligation, request.obligation_id)
    if obligation is None or obligation.incident_id != incident.id or not obligation.active:
        raise NotFound("No such active obligation on this incident.")
    allowed = letter_context.TEMPLATES_BY_KIND.get(obligation.kind, ())
    if request.template_name not in allowed:
        raise ValidationFailed(
            f"{request.template_name} is not a letter for this obligation; choose one of: "
            f"{', '.join(allowed) or 'none'}.",
            field="template_name",
        )
    return obligation


def _find_or_new_letter(
    session: Session,
    incident: Incident,
    obligation: Obligation,
    request: LetterRequest,
    actor: User,
    now: datetime,
) -> Letter:
    letter = session.scalar(
        sa.select(Letter).where(
            Letter.obligation_id == obligation.id, Letter.template_name == request.template_name
        )
    )
    if letter is not None:
        return letter
    count = (
        session.scalar(
            sa.select(sa.func.count()).select_from(Letter).where(Letter.incident_id == incident.id)
        )
        or 0
    )
    letter = Letter(
        incident_id=incident.id,
        obligation_id=obligation.id,
        kind=obligation.kind,
        template_name=request.template_name,
        document_id=f"{incident.reference}-L{count + 1}",
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        status=LetterStatus.DRAFT,
    )
    session.add(letter)
    return letter


def _set_recipient(letter: Letter, request: LetterRequest) -> None:
    if letter.template_name not in letter_context.ADDRESSED_TEMPLATES:
        return
    if request.recipient_name.strip():
        letter.recipient_name = request.recipient_name.strip()[:120]
    lines = [line.strip() for line in request.recipient_address if line.strip()]
    if lines:
        letter.recipient_address = lines


def _store_version(
    session: Session,
    letter: Letter,
    context: dict[str, Any],
    pdf: bytes,
    letter_date: date,
    actor: User,
    now: datetime,
) -> LetterVersion:
    report = _check_content(letter.template_name, context, pdf)
    stored = storage.put_bytes(pdf)
    session.flush()
    last = (
        session.scalar(
            sa.select(sa.func.max(LetterVersion.number)).where(LetterVersion.letter_id == letter.id)
        )
        or 0
    )
    version = LetterVersion(
        letter_id=letter.id,
        number=last + 1,
        sha256=stored.sha256,
        size_bytes=stored.size,
        template_name=letter.template_name,
        template_version=letters.template_version(letter.template_name),
        data_fingerprint=letter_context.fingerprint(context),
        letter_date=letter_date,
        missing_elements=report["missing"],
        content_report=report,
        rendered_by_id=actor.id,
        rendered_at=now,
    )
    session.add(version)
    session.flush()
    return version


def _check_content(template_name: str, context: dict[str, Any], pdf: bytes) -> dict[str, Any]:
    """The 164.404(c) report as stored JSON (the HHS worksheet is not a notice: no check)."""
    if template_name in UNCHECKED_TEMPLATES:
        return {"missing": [], "phi_warnings": [], "notes": [], "readability": None}
    report = letter_content.check_notice(
        context,
        letters.pdf_text(pdf),
        language="es" if template_name == "individual_es.html" else "en",
        substitute_notice=template_name in SUBSTITUTE_TEMPLATES,
    )
    r = report.readability
    return {
        "missing": [element.value for element in report.missing],
        "phi_warnings": list(report.phi_warnings),
        "notes": list(report.notes),
        "readability": {
            "ease": r.ease,
            "grade": r.grade,
            "words": r.words,
            "sentences": r.sentences,
            "advice": r.advice,
        },
    }


def _after_render(
    session: Session, letter: Letter, version: LetterVersion, actor: User, now: datetime
) -> None:
    was_approved = letter.status is LetterStatus.APPROVED
    letter.current_version_id = version.id
    letter.current_version = version
    letter.status = LetterStatus.DRAFT
    letter.updated_at = now
    if was_approved:
        record_review_event(
            session,
            letter,
            version,
            ReviewAction.APPROVAL_VOIDED,
            actor,
            now,
            "A new render replaced the approved version.",
        )
    record_review_event(session, letter, version, ReviewAction.RENDERED, actor, now)
    details = {
        "document_id": letter.document_id,
        "version": version.number,
        "sha256": version.sha256,
        "template": letter.template_name,
        "template_version": version.template_version,
        "missing_elements": version.missing_elements,
        "approval_voided": was_approved,
    }
    audit_and_timeline(
        session,
        letter,
        "letter.generated",
        actor,
        now,
        details,
        f"{letter_label(letter)} generated (version {version.number}, "
        f"sha256 {version.sha256[:12]}…).",
    )


def record_review_event(
    session: Session,
    letter: Letter,
    version: LetterVersion,
    action: ReviewAction,
    actor: User,
    now: datetime,
    comment: str = "",
) -> None:
    session.add(
        LetterReviewEvent(
            letter_id=letter.id,
            version_id=version.id,
            action=action,
            actor_id=actor.id,
            at=now,
            comment=comment,
            sha256=version.sha256,
            template_version=version.template_version,
        )
    )


def audit_and_timeline(
    session: Session,
    letter: Letter,
    action: str,
    actor: User,
    now: datetime,
    details: dict[str, Any],
    text: str,
    kind: EntryKind = EntryKind.LETTER,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        at=now,
        subject_type="letter",
        subject_id=letter.id,
        incident_id=letter.incident_id,
        details=details,
    )
    timeline.add(
        session,
        incident_id=letter.incident_id,
        kind=kind,
        at=now,
        actor=actor,
        text=text,
        details={"letter_id": letter.id, **details},
    )


def letter_label(letter: Letter) -> str:
    name = letter_context.TEMPLATE_LABELS.get(letter.template_name, letter.template_name)
    return f"{name} {letter.document_id}"


# ---- freshness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    stale: bool
    reasons: tuple[str, ...]


def freshness(session: Session, letter: Letter) -> Freshness:
    """Whether the current version still matches the case data and the template files."""
    version = letter.current_version
    if version is None:
        return Freshness(True, ("The letter has not been rendered.",))
    reasons = []
    if letters.template_version(letter.template_name) != version.template_version:
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


def approval_valid(session: Session, letter: Letter) -> bool:
    """Approved (or sent) version is the current one and nothing it printed has changed."""
    return (
        letter.status in (LetterStatus.APPROVED, LetterStatus.SENT)
        and letter.approved_version_id is not None
        and letter.approved_version_id == letter.current_version_id
        and not freshness(session, letter).stale
    )


# ---- review ---------------------------------------------------------------------------------


def submit_for_review(
    session: Session, *, actor: User, now: datetime, incident_id: int, letter_id: int
) -> Letter:
    """Draft / changes requested → in legal review. Refused (ValidationFailed, naming each
    element) while 164.404(c) elements are missing or PHI values appear. Commits once."""
    letter = _workable_letter(session, actor, incident_id, letter_id)
    if letter.status not in (LetterStatus.DRAFT, LetterStatus.CHANGES_REQUESTED):
        raise InvalidTransition(
            f"A letter that is {letter.status.label.lower()} cannot be sent to review."
        )
    version = _current(letter)
    _require_fresh(session, letter, "send it to review")
    _require_complete(version)
    letter.status, letter.updated_at = LetterStatus.IN_REVIEW, now
    record_review_event(session, letter, version, ReviewAction.SUBMITTED, actor, now)
    audit_and_timeline(
        session,
        letter,
        "letter.submitted",
        actor,
        now,
        {"version": version.number, "sha256": version.sha256},
        f"{letter_label(letter)} sent to legal review.",
    )
    session.commit()
    return letter


def _current(letter: Letter) -> LetterVersion:
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
    version = _current(letter)
    letter.status, letter.updated_at = LetterStatus.CHANGES_REQUESTED, now
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
    letter = _visible_letter(session, actor, incident_id, letter_id)
    if not may_approve(session, actor):
        raise NotAllowed("Only legal reviewers may review letters.")
    if letter.status is not LetterStatus.IN_REVIEW:
        raise InvalidTransition(
            f"The letter is {letter.status.label.lower()}, not in legal review."
        )
    return letter


def approve(
    session: Session, *, actor: User, now: datetime, incident_id: int, letter_id: int
) -> Letter:
    """In legal review → approved: records approver, time, template version and the SHA-256
    of the exact stored bytes (verified first). Refused for the author and for a stale draft.
    Commits once."""
    letter = _reviewable(session, actor, incident_id, letter_id)
    version = _current(letter)
    if actor.id in (letter.created_by_id, version.rendered_by_id):
        raise NotAllowed("You wrote this letter; another reviewer must approve it.")
    _require_fresh(session, letter, "approve it")
    try:
        storage.read_verified(version.sha256)
    except storage.StorageError as error:
        raise LetterIntegrityFailed(
            f"Cannot approve: the stored PDF failed its check ({error})."
        ) from error
    letter.status, letter.approved_version_id, letter.updated_at = (
        LetterStatus.APPROVED,
        version.id,
        now,
    )
    letter.approved_version = version
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
    session.commit()
    return letter


# ---- reading (audited) ----------------------------------------------------------------------


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


def letter_page(
    session: Session, *, actor: User, now: datetime, incident_id: int, letter_id: int
) -> LetterPage:
    """The letter with its staleness, review trail and what `actor` may do. Audited."""
    letter = _visible_letter(session, actor, incident_id, letter_id)
    version = letter.current_version
    events = list(
        session.scalars(
            sa.select(LetterReviewEvent)
            .where(LetterReviewEvent.letter_id == letter.id)
            .order_by(LetterReviewEvent.at, LetterReviewEvent.id)
        )
    )
    page = LetterPage(
        letter=letter,
        version=version,
        freshness=freshness(session, letter),
        approval_valid=approval_valid(session, letter),
        events=events,
        may_review=may_approve(session, actor),
        may_work=_may_work(session, actor, incident_id),
        is_author=actor.id in {letter.created_by_id, version.rendered_by_id if version else 0},
    )
    _audit_read(session, letter, "letter.viewed", actor, now, {})
    session.commit()
    return page


def _may_work(session: Session, actor: User, incident_id: int) -> bool:
    try:
        get_workable(session, actor=actor, incident_id=incident_id)
    except NotAllowed:
        return False
    return True


def _audit_read(
    session: Session,
    letter: Letter,
    action: str,
    actor: User,
    now: datetime,
    details: dict[str, Any],
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        at=now,
        subject_type="letter",
        subject_id=letter.id,
        incident_id=letter.incident_id,
        details={"document_id": letter.document_id, **details},
    )


def download(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    letter_id: int,
    version_id: int,
) -> tuple[str, bytes]:
    """(file name, PDF bytes) of one version, verified against its SHA-256 (and, for the
    approved version, against the approval). A mismatch is audited and refused with
    LetterIntegrityFailed. Commits once."""
    letter = _visible_letter(session, actor, incident_id, letter_id)
    version = session.get(LetterVersion, version_id)
    if version is None or version.letter_id != letter.id:
        raise NotFound("No such version of this letter.")
    details = {"version": version.number, "sha256": version.sha256}
    try:
        data = storage.read_verified(version.sha256)
    except storage.StorageError as error:
        _audit_read(
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
    _audit_read(session, letter, "letter.downloaded", actor, now, details)
    session.commit()
    return f"{letter.document_id}-v{version.number}.pdf", data


@dataclass(frozen=True)
class Comparison:
    letter: Letter
    draft: LetterVersion
    approved: LetterVersion | None
    rows: list[tuple[str, str, str]]  # (tag, approved line, draft line); tag: same/changed/…


def compare(
    session: Session, *, actor: User, now: datetime, incident_id: int, letter_id: int
) -> Comparison:
    """Side by side: the last approved version's text against the current draft's. Audited."""
    letter = _visible_letter(session, actor, incident_id, letter_id)
    draft = _current(letter)
    approved = letter.approved_version
    old = _text_lines(approved.sha256) if approved else []
    new = _text_lines(draft.sha256)
    _audit_read(
        session,
        letter,
        "letter.compared",
        actor,
        now,
        {"draft": draft.number, "approved": approved.number if approved else None},
    )
    session.commit()
    return Comparison(letter, draft, approved, side_by_side(old, new))


def _text_lines(sha256: str) -> list[str]:
    try:
        data = storage.read_verified(sha256)
    except storage.StorageError as error:
        raise LetterIntegrityFailed(f"The stored PDF failed its check: {error}") from error
    return [line.rstrip() for line in letters.pdf_text(data).splitlines() if line.strip()]


def side_by_side(old: list[str], new: list[str]) -> list[tuple[str, str, str]]:
    """difflib opcodes as rows: ("same"|"changed"|"removed"|"added", old line, new line)."""
    rows: list[tuple[str, str, str]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        left, right = old[i1:i2], new[j1:j2]
        label = {"equal": "same", "replace": "changed", "delete": "removed", "insert": "added"}[tag]
        for index in range(max(len(left), len(right))):
            rows.append(
                (
                    label,
                    left[index] if index < len(left) else "",
                    right[index] if index < len(right) else "",
                )
            )
    return rows


def hhs_json(
    session: Session, *, actor: User, now: datetime, incident_id: int, letter_id: int
) -> str:
    """The approved HHS packet's portal answers as JSON (the same text as the PDF). Audited."""
    letter = _visible_letter(session, actor, incident_id, letter_id)
    if letter.template_name != "hhs_packet.html":
        raise NotFound("Only the HHS packet has a JSON form.")
    version = _current(letter)
    case = letter_context.load_case(session, letter, version.letter_date)
    report = letter_context.hhs_report(session, case)
    _audit_read(session, letter, "letter.hhs_json_viewed", actor, now, {"version": version.number})
    session.commit()
    return letters.hhs_packet_json(report)  # type: ignore[arg-type]


# ---- for the mail merge ---------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovedLetter:
    """What a mail-merge batch starts from: the approved template version and sample."""

    letter_id: int
    version_id: int
    document_id: str
    template_name: str
    template_version: str
    sample_sha256: str
    data_fingerprint: str
    letter_date: date
    approved_by_id: int
    approved_at: datetime
    common_context: dict[str, Any]  # the sample's context without "recipient"


def approved_letter(
    session: Session, *, incident_id: int, kind: str, template_name: str | None = None
) -> ApprovedLetter | None:
    """The incident's approved, still-valid letter for an obligation kind (e.g.
    "individual_notice"), or None. Access is the caller's business (check it first)."""
    query = sa.select(Letter).where(
        Letter.incident_id == incident_id,
        Letter.kind == kind,
        Letter.status.in_([LetterStatus.APPROVED, LetterStatus.SENT]),
    )
    if template_name is not None:
        query = query.where(Letter.template_name == template_name)
    for letter in session.scalars(query.order_by(Letter.id)):
        if approval_valid(session, letter):
            return _approved(session, letter)
    return None


def _approved(session: Session, letter: Letter) -> ApprovedLetter:
    version = letter.approved_version
    assert version is not None  # approval_valid checked it
    event = session.scalars(
        sa.select(LetterReviewEvent)
        .where(
            LetterReviewEvent.version_id == version.id,
            LetterReviewEvent.action == ReviewAction.APPROVED,
        )
        .order_by(LetterReviewEvent.id.desc())
    ).first()
    assert event is not None
    case = letter_context.load_case(session, letter, version.letter_date)
    context = letter_context.build_context(session, case)
    context.pop("recipient", None)
    return ApprovedLetter(
        letter_id=letter.id,
        version_id=version.id,
        document_id=letter.document_id,
        template_name=version.template_name,
        template_version=version.template_version,
        sample_sha256=version.sha256,
        data_fingerprint=version.data_fingerprint,
        letter_date=version.letter_date,
        approved_by_id=event.actor_id,
        approved_at=event.at,
        common_context=context,
    )


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
        names = letter_context.TEMPLATES_BY_KIND.get(obligation.kind, ())
        if names:
            groups.append(
                ObligationLetters(
                    obligation,
                    [(n, letter_context.TEMPLATE_LABELS[n]) for n in names],
                    by_obligation.get(obligation.id, []),
                )
            )
    return incident, groups


WORDING_LISTS = ("phi_types", "steps_for_individuals", "what_we_are_doing", "substitute_areas")
WORDING_TEXTS = ("what_happened", "media_contact", "covered_entity_type", "contact_phone")
WORDING_DATES = ("posting_start", "posting_end", "toll_free_active_until")
SPANISH_KEYS = ("what_happened", "phi_types", "steps_for_individuals", "what_we_are_doing")


def wording_of(
    session: Session, *, actor: User, incident_id: int
) -> tuple[Incident, NoticeWording]:
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    wording = session.scalar(
        sa.select(NoticeWording).where(NoticeWording.incident_id == incident.id)
    )
    return incident, wording or letter_context.empty_wording(incident.id)


def save_wording(
    session: Session, *, actor: User, now: datetime, incident_id: int, values: dict[str, Any]
) -> NoticeWording:
    """Save the texts letters print. Letters rendered from the old texts become stale (their
    approval is void until re-rendered and re-approved). Raises ValidationFailed. Commits."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    _validate_wording(values)
    wording = session.scalar(
        sa.select(NoticeWording).where(NoticeWording.incident_id == incident.id)
    )
    if wording is None:
        wording = NoticeWording(incident_id=incident.id)
        session.add(wording)
    changed = _apply_wording(wording, values)
    wording.updated_by_id, wording.updated_at = actor.id, now
    audit.record(
        session,
        actor=actor,
        action="letters.wording_saved",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details={"changed": changed},
    )
    session.commit()
    return wording


def _validate_wording(values: dict[str, Any]) -> None:
    start, end, until = (values.get(name) for name in WORDING_DATES)
    if start and end and end < start:
        raise ValidationFailed("The posting ends before it starts.", field="posting_end")
    for name in ("what_happened", "es_what_happened"):
        if len(values.get(name) or "") > COMMENT_MAX:
            raise ValidationFailed(f"Keep it under {COMMENT_MAX} characters.", field=name)
    if until and start and until < start:
        raise ValidationFailed(
            "The toll-free number must work during the posting.", field="toll_free_active_until"
        )


def _apply_wording(wording: NoticeWording, values: dict[str, Any]) -> list[str]:
    new: dict[str, Any] = {name: (values.get(name) or "").strip() for name in WORDING_TEXTS}
    new |= {name: _lines(values.get(name)) for name in WORDING_LISTS}
    new |= {name: values.get(name) for name in WORDING_DATES}
    new["spanish"] = {
        key: (
            _lines(values.get(f"es_{key}"))
            if key != "what_happened"
            else (values.get("es_what_happened") or "").strip()
        )
        for key in SPANISH_KEYS
    }
    new["covered_entity_type"] = new["covered_entity_type"] or "Healthcare Provider"
    changed = [name for name, value in new.items() if getattr(wording, name) != value]
    for name in changed:
        setattr(wording, name, new[name])
    return changed


def _lines(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]
