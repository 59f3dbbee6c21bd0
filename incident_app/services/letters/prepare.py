""" "Prepare every letter this roster needs": one action that renders exactly the individual-
notice variants the roster calls for (adult, parent or guardian of a minor, next of kin of a
deceased person, Spanish) and sends them to legal as one review request.

The variants come from the mail-merge plan, which reads only the roster's clear flags (no PHI is
decrypted). A variant nobody needs is not generated; one already approved (and still valid) or
already in review is left as it is. The reviewer approves the letters one by one, or the
whole set together (together.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import DomainError
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.letter import Letter
from incident_app.models.letter import LetterStatus
from incident_app.models.mail_batch import Variant
from incident_app.models.obligation import Obligation
from incident_app.models.user import User
from incident_app.services.incidents.access import get_workable
from incident_app.services.letters import generation
from incident_app.services.letters import review
from incident_app.services.letters.context import TEMPLATE_LABELS
from incident_app.services.mail_merge import planning
from incident_app.services.organisation import get_organisation
from incident_app.services.reminders.notifications import ReviewRequest
from incident_app.services.reminders.notifications import notify_review_request
from incident_app.storage import FileStore

KIND = "individual_notice"


@dataclass(frozen=True)
class PreparedVariant:
    variant: Variant
    people: int  # roster people waiting for this letter
    letter: Letter
    outcome: str  # "sent to review" | "already in review" | "already approved"


def prepare_roster_letters(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    store: FileStore,
    reviewer_id: int | None = None,
    email_base_url: str | None = None,
) -> list[PreparedVariant]:
    """Render and send to review every individual-notice variant the roster needs, as one
    review request (one notification, one email) to `reviewer_id` or the suggested reviewer.
    Raises NotFound, NotAllowed, ValidationFailed (nobody waits for a letter; a missing
    164.404(c) element), LetterRenderError. Commits once; nothing is kept when one fails."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    email_enabled = get_organisation(session).email_notice_enabled
    plan = planning.plan(session, incident.id, email_enabled=email_enabled)
    if not plan.variants:
        raise ValidationFailed(
            "Nobody on the roster is waiting for a letter: import the roster first (Roster "
            "tab), or every person has been notified, is reached by substitute notice, or "
            "has no contact."
        )
    obligation = _individual_notice(session, incident.id)
    try:
        prepared = []
        for variant in plan.variants:
            item = _prepare(session, actor, now, obligation, variant, plan, store, reviewer_id)
            if item.outcome == "sent to review" and reviewer_id is None:
                reviewer_id = item.letter.reviewer_id  # one reviewer for the whole request
            prepared.append(item)
        _notify_once(session, actor, now, prepared, email_base_url)
    except DomainError:
        session.rollback()
        raise
    session.commit()
    return prepared


def _individual_notice(session: Session, incident_id: int) -> Obligation:
    found = session.scalar(
        sa.select(Obligation).where(
            Obligation.incident_id == incident_id,
            Obligation.kind == KIND,
            Obligation.active.is_(True),
        )
    )
    if found is None:
        raise NotFound("This incident owes no notice to individuals (45 CFR 164.404).")
    return found


def _prepare(
    session: Session,
    actor: User,
    now: datetime,
    obligation: Obligation,
    variant: Variant,
    plan: planning.Plan,
    store: FileStore,
    reviewer_id: int | None,
) -> PreparedVariant:
    letter = session.scalar(
        sa.select(Letter).where(
            Letter.obligation_id == obligation.id, Letter.template_name == variant.template_name
        )
    )
    people = plan.count(variant)
    if letter is not None and review.approval_valid(session, letter):
        return PreparedVariant(variant, people, letter, "already approved")
    if (
        letter is not None
        and letter.status is LetterStatus.IN_REVIEW
        and not review.freshness(session, letter).stale
    ):
        return PreparedVariant(variant, people, letter, "already in review")
    letter = generation.render_letter(
        session,
        actor=actor,
        now=now,
        incident=obligation.incident,
        request=generation.LetterRequest(obligation.id, variant.template_name),
        store=store,
    )
    review.send_to_review(session, letter, actor, now, reviewer_id, None, notify=False)
    return PreparedVariant(variant, people, letter, "sent to review")


def _notify_once(
    session: Session,
    actor: User,
    now: datetime,
    prepared: list[PreparedVariant],
    email_base_url: str | None,
) -> None:
    sent = [item.letter for item in prepared if item.outcome == "sent to review"]
    first = sent[0] if sent else None
    if first is None or first.reviewer is None:
        return
    reviewer = first.reviewer
    single = first.current_version.number if len(sent) == 1 and first.current_version else None
    labels = ", ".join(TEMPLATE_LABELS[letter.template_name] for letter in sent)
    notify_review_request(
        session,
        reviewer=reviewer,
        request=ReviewRequest(
            incident_id=first.incident_id,
            reference=first.incident.reference,
            document_id=", ".join(letter.document_id for letter in sent),
            letter_label=f"{len(sent)} letter{'s' if len(sent) != 1 else ''} ({labels})",
            version=single,
            due_on=first.obligation.effective_due_on,
            link=f"/incidents/{first.incident_id}/letters/",
            requested_by=actor.name,
            revision=False,
        ),
        now=now,
        email_base_url=email_base_url,
    )


def summary(prepared: list[PreparedVariant]) -> str:
    """One sentence for the officer: each variant, how many people need it, what happened."""
    parts = [
        f"{TEMPLATE_LABELS[item.variant.template_name].removesuffix(' — sample')} "
        f"for {item.people} {'person' if item.people == 1 else 'people'}: {item.outcome}"
        for item in prepared
    ]
    sent = [item.letter for item in prepared if item.outcome == "sent to review"]
    who = sent[0].reviewer.name if sent and sent[0].reviewer else None
    tail = f" Sent to {who} as one review request." if who else ""
    return "Letters this roster needs — " + "; ".join(parts) + "." + tail
