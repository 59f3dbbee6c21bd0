"""The post-incident review: write it, sign it, export it as a PDF, and gate closing on it.

Versions work like the risk assessment's: a signed version is frozen, and saving after a
signature starts the next version. When the organisation requires it, an incident cannot
close until its latest review version is signed (`closure_blockers`, called by the
lifecycle service).

Over 400 lines: the PDF report (its context TypedDicts and the code filling them) is to move
into a review_report module, as assessment/report.py, once the impact package's split (which
renames the calls here) has merged (issue #22).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Literal
from typing import TypedDict
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import Incident
from incident_app.models.organisation import Organisation
from incident_app.models.review import ReviewVersion
from incident_app.models.review import SafeguardFamily
from incident_app.models.timeline import EntryKind
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import corrective_actions
from incident_app.services import training
from incident_app.services.impact import money as impact_money
from incident_app.services.impact import reports as impact_reports
from incident_app.services.incidents import timeline
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.services.organisation import get_organisation

TextField = Literal["timeline_summary", "root_cause", "what_worked", "what_did_not", "decisions"]
TEXT_FIELDS: tuple[TextField, ...] = (
    "timeline_summary",
    "root_cause",
    "what_worked",
    "what_did_not",
    "decisions",
)
TEXT_MAX = 20000
TEMPLATE = "post_incident_review.html"
# Timeline kinds worth a line in the summary (fact edits, files and team changes are noise).
SUMMARY_KINDS = (
    EntryKind.ACTION,
    EntryKind.STATUS,
    EntryKind.TASK,
    EntryKind.LETTER,
    EntryKind.NOTICE,
    EntryKind.OTHER,
)


class ReviewValues(TypedDict):
    """A review's content as ReviewVersion stores it."""

    timeline_summary: str
    root_cause: str
    what_worked: str
    what_did_not: str
    decisions: str
    control_gaps: dict[str, list[str]]  # safeguard family value -> gaps (families with any)


@dataclass(frozen=True)
class ReviewInput:
    timeline_summary: str = ""
    root_cause: str = ""
    what_worked: str = ""
    what_did_not: str = ""
    decisions: str = ""
    # Safeguard family value -> gaps, one per item.
    control_gaps: Mapping[str, list[str]] | None = None

    def cleaned(self) -> ReviewValues:
        gaps = self.control_gaps or {}
        return {
            "timeline_summary": self.timeline_summary.strip(),
            "root_cause": self.root_cause.strip(),
            "what_worked": self.what_worked.strip(),
            "what_did_not": self.what_did_not.strip(),
            "decisions": self.decisions.strip(),
            "control_gaps": {
                family.value: [g.strip() for g in gaps.get(family.value, []) if g.strip()]
                for family in SafeguardFamily
                if any(g.strip() for g in gaps.get(family.value, []))
            },
        }


def versions(session: Session, *, actor: User, incident_id: int) -> list[ReviewVersion]:
    """Every version, newest first. Raises NotFound."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(ReviewVersion)
            .where(ReviewVersion.incident_id == incident.id)
            .order_by(ReviewVersion.number.desc())
        )
    )


def latest_version(session: Session, incident_id: int) -> ReviewVersion | None:
    return session.scalar(
        sa.select(ReviewVersion)
        .where(ReviewVersion.incident_id == incident_id)
        .order_by(ReviewVersion.number.desc())
        .limit(1)
    )


def save_review(
    session: Session, *, actor: User, incident_id: int, review: ReviewInput, now: datetime
) -> ReviewVersion:
    """Save the review: the unsigned latest version is updated; after a signature a new
    version starts. Saving unchanged text changes nothing. Raises NotFound, NotAllowed,
    ValidationFailed. Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    values = review.cleaned()
    for name in TEXT_FIELDS:
        if len(values[name]) > TEXT_MAX:
            raise ValidationFailed(f"Keep this under {TEXT_MAX} characters.", field=name)
    latest = latest_version(session, incident.id)
    changed = _changes(latest, values)
    if latest is not None and not changed:
        return latest
    row = latest
    if row is None or row.signed:
        row = ReviewVersion(
            incident_id=incident.id,
            number=(latest.number + 1) if latest else 1,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(row)
    for column, value in values.items():
        setattr(row, column, value)
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="review.saved",
        at=now,
        subject_type="review_version",
        subject_id=row.id,
        incident_id=incident.id,
        details={"version": row.number, "changed": sorted(changed)},
    )
    session.commit()
    return row


def _changes(latest: ReviewVersion | None, values: Mapping[str, object]) -> list[str]:
    if latest is None:
        return [name for name, value in values.items() if value]
    return [name for name, value in values.items() if getattr(latest, name) != value]


def content_hash(row: ReviewVersion) -> str:
    """SHA-256 over the version's content in canonical JSON: what a signature covers."""
    payload: dict[str, object] = {name: getattr(row, name) for name in TEXT_FIELDS}
    payload |= {
        "control_gaps": row.control_gaps,
        "incident_id": row.incident_id,
        "number": row.number,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sign_review(
    session: Session, *, actor: User, incident_id: int, number: int, now: datetime
) -> ReviewVersion:
    """A privacy officer signs the latest version. Raises NotAllowed (not a privacy officer),
    NotFound, InvalidTransition (not the latest, or already signed), ValidationFailed (no
    root cause). Commits once."""
    require(actor, Capability.SIGN_DETERMINATIONS)
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    latest = latest_version(session, incident.id)
    if latest is None or latest.number != number:
        raise InvalidTransition(
            "Only the latest version of the review can be signed; reload the page to see it."
        )
    if latest.signed:
        raise InvalidTransition(f"Version {number} is already signed.")
    if not latest.root_cause:
        raise ValidationFailed(
            "Write the root cause before signing the review.", field="root_cause"
        )
    latest.signed_by_id, latest.signed_at = actor.id, now
    latest.signed_sha256 = content_hash(latest)
    timeline.add(
        session,
        incident_id=incident.id,
        kind=EntryKind.OTHER,
        at=now,
        actor=actor,
        text=f"Post-incident review version {number} signed.",
        details={"version": number, "sha256": latest.signed_sha256},
    )
    audit.record(
        session,
        actor=actor,
        action="review.signed",
        at=now,
        subject_type="review_version",
        subject_id=latest.id,
        incident_id=incident.id,
        details={"version": number, "sha256": latest.signed_sha256},
    )
    session.commit()
    return latest


def closure_blockers(session: Session, incident: Incident) -> list[str]:
    """Why the incident may not close yet (empty: it may). Reads only; no commit.

    Applies the organisation's "signed review required to close" setting: the latest
    review version must exist and be signed."""
    org = get_organisation(session)
    if not org.require_signed_review_to_close:
        return []
    latest = latest_version(session, incident.id)
    if latest is None:
        return [
            "The organisation requires a signed post-incident review before an incident "
            "closes, and this incident has none yet."
        ]
    if not latest.signed:
        return [
            f"Version {latest.number} of the post-incident review is not signed: a "
            "privacy officer must sign it before the incident closes."
        ]
    return []


# --- the timeline summary ----------------------------------------------------------------------


def draft_timeline_summary(session: Session, *, actor: User, incident_id: int) -> str:
    """A dated list of what happened, generated from the incident's timeline (or, before
    anything was logged there, from its audit events). Read-only."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    zone = ZoneInfo(get_organisation(session).timezone)
    lines = _timeline_lines(session, incident.id, zone) or _audit_lines(session, incident.id, zone)
    return "\n".join(lines)


def _timeline_lines(session: Session, incident_id: int, zone: ZoneInfo) -> list[str]:
    corrected = sa.select(TimelineEntry.corrects_id).where(
        TimelineEntry.incident_id == incident_id, TimelineEntry.corrects_id.is_not(None)
    )
    entries = session.scalars(
        sa.select(TimelineEntry)
        .where(
            TimelineEntry.incident_id == incident_id,
            TimelineEntry.kind.in_(SUMMARY_KINDS),
            TimelineEntry.id.not_in(corrected),
        )
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
    )
    return [f"{_local(e.occurred_at, zone)} — {' '.join(e.text.split())}" for e in entries]


def _audit_lines(session: Session, incident_id: int, zone: ZoneInfo) -> list[str]:
    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.seq)
    )
    return [
        f"{_local(e.at, zone)} — {e.action.replace('_', ' ').replace('.', ': ')} ({e.actor_label})"
        for e in events
    ]


def _local(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


# --- the PDF report ----------------------------------------------------------------------------


class ReviewReportContext(TypedDict):
    """post_incident_review.html"""

    organisation: letters.OrganisationContext
    document_id: str
    letter_date: date
    incident: ReportedIncident
    review: ReviewSection
    actions: list[ActionLine]
    training: list[TrainingLine]
    impact: ImpactSummary


class ReportedIncident(TypedDict):
    reference: str
    title: str
    status: str  # the status label


class ReviewSection(TypedDict):
    number: int
    signed: bool
    signed_by: str  # "" while unsigned
    signed_at: str  # local "YYYY-MM-DD HH:MM", "" while unsigned
    signed_sha256: str
    timeline: list[str]  # the summary's non-blank lines
    root_cause: str
    what_worked: str
    what_did_not: str
    decisions: str
    gaps: list[SafeguardGaps]  # every safeguard family, in order


class SafeguardGaps(TypedDict):
    label: str
    citation: str
    gaps: list[str]


class ActionLine(TypedDict):
    title: str
    ocr_label: str
    owner: str
    due_on: str  # ISO date
    status: str  # the status label
    proof: str  # file name, "" without proof


class TrainingLine(TypedDict):
    trainee: str
    trained_on: str  # ISO date
    topic: str
    attested: bool


class ImpactSummary(TypedDict):
    """Money as printed (currency and amount); counts as numbers."""

    categories: list[CategoryLine]
    total: str
    actual: str
    estimated: str
    per_individual: str  # "n/a" without affected individuals
    affected: int
    disruptions: int
    claims_delayed: int
    claims_value: str
    recovery_days: str  # days, "not yet recovered" or "n/a"


class CategoryLine(TypedDict):
    label: str
    amount: str


def review_pdf(
    session: Session, *, actor: User, incident_id: int, number: int, now: datetime
) -> bytes:
    """The review version as a PDF report (with the plan and the impact figures), rendered
    through the letters module. Audited with the PDF's SHA-256; commits once."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    row = session.scalar(
        sa.select(ReviewVersion).where(
            ReviewVersion.incident_id == incident.id, ReviewVersion.number == number
        )
    )
    if row is None:
        raise NotFound("No such version of the review.")
    context = report_context(session, actor, incident, row, now)
    pdf = letters.render_pdf(TEMPLATE, {**context, **letters.exercise_mark(incident.exercise)})
    audit.record(
        session,
        actor=actor,
        action="review.exported",
        at=now,
        subject_type="review_version",
        subject_id=row.id,
        incident_id=incident.id,
        details={
            "version": number,
            "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
            "signed": row.signed,
        },
    )
    session.commit()
    return pdf


def report_context(
    session: Session, actor: User, incident: Incident, row: ReviewVersion, now: datetime
) -> ReviewReportContext:
    org = get_organisation(session)
    zone = ZoneInfo(org.timezone)
    figures = impact_reports.incident_impact(session, actor=actor, incident_id=incident.id)
    return {
        "organisation": organisation_context(org),
        "document_id": f"PIR-{incident.reference}-V{row.number}",
        "letter_date": now.astimezone(zone).date(),
        "incident": {
            "reference": incident.reference,
            "title": incident.title,
            "status": incident.status.label,
        },
        "review": _review_context(row, zone),
        "actions": _actions_context(session, actor, incident),
        "training": [
            {
                "trainee": t.trainee,
                "trained_on": t.trained_on.isoformat(),
                "topic": t.topic,
                "attested": t.attestation_id is not None,
            }
            for t in training.training_records(session, actor=actor, incident_id=incident.id)
        ],
        "impact": _impact_context(figures),
    }


def organisation_context(org: Organisation) -> letters.OrganisationContext:
    """The letterhead fields letters' OrganisationContext describes."""
    city_line = " ".join(
        p for p in (f"{org.city}," if org.city else "", org.state, org.postal_code) if p
    )
    return {
        "name": org.legal_name or "(organisation name not set)",
        "address_lines": [
            line for line in (org.address_line1, org.address_line2, city_line) if line
        ],
        "toll_free_number": org.toll_free_number,
        "email": org.email,
        "website": org.website,
        "logo_data_uri": letters.logo_data_uri(org.logo, org.logo_mime)
        if org.logo and org.logo_mime
        else None,
        "signatory_name": org.signatory_name,
        "signatory_title": org.signatory_title,
    }


def _review_context(row: ReviewVersion, zone: ZoneInfo) -> ReviewSection:
    return {
        "number": row.number,
        "signed": row.signed,
        "signed_by": row.signed_by.name if row.signed_by else "",
        "signed_at": _local(row.signed_at, zone) if row.signed_at else "",
        "signed_sha256": row.signed_sha256 or "",
        "timeline": [line for line in row.timeline_summary.splitlines() if line.strip()],
        "root_cause": row.root_cause,
        "what_worked": row.what_worked,
        "what_did_not": row.what_did_not,
        "decisions": row.decisions,
        "gaps": [
            {"label": f.label, "citation": f.citation, "gaps": row.gaps(f)} for f in SafeguardFamily
        ],
    }


def _actions_context(session: Session, actor: User, incident: Incident) -> list[ActionLine]:
    labels = corrective_actions.ocr_actions()
    return [
        {
            "title": a.title,
            "ocr_label": labels.get(a.ocr_code or "", ""),
            "owner": a.owner.name,
            "due_on": a.due_on.isoformat(),
            "status": a.status.label,
            "proof": a.proof.filename if a.proof else "",
        }
        for a in corrective_actions.plan(session, actor=actor, incident_id=incident.id)
    ]


def _impact_context(figures: impact_reports.IncidentImpact) -> ImpactSummary:
    currency = figures.currency
    totals = figures.disruption
    return {
        "categories": [
            {"label": c.category.label, "amount": impact_money.money(c.total_cents, currency)}
            for c in figures.categories
        ],
        "total": impact_money.money(figures.total_cents, currency),
        "actual": impact_money.money(figures.actual_cents, currency),
        "estimated": impact_money.money(figures.estimated_cents, currency),
        "per_individual": impact_money.money(figures.per_individual_cents, currency) or "n/a",
        "affected": figures.affected,
        "disruptions": len(figures.disruptions),
        "claims_delayed": totals.claims_delayed_count,
        "claims_value": impact_money.money(totals.claims_delayed_cents, currency),
        "recovery_days": str(totals.recovery_days)
        if totals.recovery_days is not None
        else "not yet recovered"
        if totals.ongoing
        else "n/a",
    }
