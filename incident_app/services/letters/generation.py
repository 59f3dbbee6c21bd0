"""Generating a letter: render it from the case, store the PDF, record a new version.

Every render stores the PDF in the file store and a `LetterVersion` with its SHA-256, the
template version, a fingerprint of the case data it printed and the 164.404(c) content report
(wording.py). A re-render of an approved letter voids the approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.letters.pdf import pdf_text
from incident_app.letters.render import render_pdf
from incident_app.letters.versions import template_version
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import LetterVersion
from incident_app.models.letter import ReviewAction
from incident_app.models.obligation import Obligation
from incident_app.models.user import User
from incident_app.services.incidents.access import get_workable
from incident_app.services.letters import context as letter_context
from incident_app.services.letters import wording as letter_content
from incident_app.services.letters.trail import audit_and_timeline
from incident_app.services.letters.trail import letter_label
from incident_app.services.letters.trail import record_review_event
from incident_app.services.organisation import get_organisation
from incident_app.storage import FileStore

SUBSTITUTE_TEMPLATES = frozenset({"substitute_web.html", "substitute_media.html"})
# Not notices to individuals, so no 164.404(c) check: portal worksheets, the FTC and GDPR
# records, the SEC worksheet and the letters to agencies and business partners (their builders
# refuse to render without the facts each must state).
UNCHECKED_TEMPLATES = frozenset(
    {
        "hhs_packet.html",
        "cra_notice.html",
        "ftc_notice.html",
        "vendor_notice.html",
        "gdpr_art33.html",
        "gdpr_art33_processor.html",
        "sec_8k_worksheet.html",
        "call_centre_faq.html",  # for the call centre's agents, not sent to individuals
    }
)


@dataclass(frozen=True)
class LetterRequest:
    obligation_id: int
    template_name: str
    recipient_name: str = ""
    recipient_address: tuple[str, ...] = ()


def generate(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    request: LetterRequest,
    store: FileStore,
) -> Letter:
    """Render the letter for an obligation (a new version if the letter exists) and store it.

    Raises NotFound, NotAllowed, ValidationFailed (missing case data or template field:
    nothing is stored), InvalidTransition (already sent), LetterRenderError. Commits once.
    """
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    letter = render_letter(
        session, actor=actor, now=now, incident=incident, request=request, store=store
    )
    session.commit()
    return letter


def render_letter(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident: Incident,
    request: LetterRequest,
    store: FileStore,
) -> Letter:
    """The generate step without the access check and the commit (the revision use case
    shares it); `incident` must be one `actor` may work on."""
    obligation = _obligation(session, incident, request)
    letter = _find_or_new_letter(session, incident, obligation, request, actor, now)
    if letter.status is LetterStatus.SENT:
        raise InvalidTransition("This letter was sent; it can no longer be re-rendered.")
    _set_recipient(letter, request)
    org = get_organisation(session)
    case = letter_context.load_case(session, letter, letter_context.local_date(now, org.timezone))
    context = letter_context.build_context(session, case)
    pdf = render_pdf(letter.template_name, context, archival=True)
    version = _store_version(session, store, letter, context, pdf, case.letter_date, actor, now)
    _after_render(session, letter, version, actor, now)
    return letter


def _obligation(session: Session, incident: Incident, request: LetterRequest) -> Obligation:
    obligation = session.get(Obligation, request.obligation_id)
    if obligation is None or obligation.incident_id != incident.id or not obligation.active:
        raise NotFound("No such active obligation on this incident.")
    allowed = letter_context.templates_for(obligation.kind)
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
    store: FileStore,
    letter: Letter,
    context: dict[str, Any],
    pdf: bytes,
    letter_date: date,
    actor: User,
    now: datetime,
) -> LetterVersion:
    report = _check_content(letter.template_name, context, pdf)
    stored = store.put_bytes(pdf)
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
        template_version=template_version(letter.template_name),
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
    """The 164.404(c) report as stored JSON (documents that are not notices: no check)."""
    if template_name in UNCHECKED_TEMPLATES:
        return {"missing": [], "phi_warnings": [], "notes": [], "readability": None}
    report = letter_content.check_notice(
        context,
        pdf_text(pdf),
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
