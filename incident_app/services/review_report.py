"""The post-incident review as a PDF report: the version's text with the corrective-action plan,
the training records and the impact figures, rendered through the letters module
(post_incident_review.html). Exporting is audited with the PDF's SHA-256."""

from __future__ import annotations

import hashlib
from datetime import date
from datetime import datetime
from typing import TypedDict
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.errors import NotFound
from incident_app.models.incident import Incident
from incident_app.models.organisation import Organisation
from incident_app.models.review import ReviewVersion
from incident_app.models.review import SafeguardFamily
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import corrective_actions
from incident_app.services import review
from incident_app.services import training
from incident_app.services.impact import money as impact_money
from incident_app.services.impact import reports as impact_reports
from incident_app.services.incidents.access import get_visible
from incident_app.services.organisation import get_organisation

TEMPLATE = "post_incident_review.html"


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
        "signed_at": review.in_zone(row.signed_at, zone) if row.signed_at else "",
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
