"""The risk assessment as a PDF: the documentation kept to meet the burden of proof of
45 CFR 164.414(b), retained six years (164.530(j)). Rendered through the letters module."""

from __future__ import annotations

import hashlib
from datetime import date
from datetime import datetime

from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.errors import NotFound
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Conclusion
from incident_app.models.incident import Incident
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import options
from incident_app.services.assessment import questionnaire
from incident_app.services.assessment import recording
from incident_app.services.letters import context as letter_context
from incident_app.services.organisation import get_organisation

RETENTION_YEARS = 6
# (title, structured answers, narrative answer) of each 164.402(2) factor
FACTORS: tuple[tuple[str, tuple[str, ...], questionnaire.NarrativeField], ...] = (
    (
        "(i) Nature and extent of the PHI, identifiers and likelihood of re-identification",
        ("f1_sensitivity", "f1_reidentification"),
        "f1_narrative",
    ),
    (
        "(ii) The unauthorized person who used the PHI or to whom it was disclosed",
        ("f2_recipient",),
        "f2_narrative",
    ),
    ("(iii) Whether the PHI was actually acquired or viewed", ("f3_acquired",), "f3_narrative"),
    ("(iv) The extent to which the risk has been mitigated", ("f4_mitigation",), "f4_narrative"),
)


def export_pdf(
    session: Session, *, actor: User, incident_id: int, version_id: int, now: datetime
) -> tuple[str, bytes]:
    """(file name, PDF/A bytes) of one assessment version; the export is audited with the
    SHA-256 of the bytes. Raises NotFound for another incident's version. Commits once."""
    history = recording.versions(session, actor=actor, incident_id=incident_id)
    version = next((v for v in history if v.id == version_id), None)
    if version is None:
        raise NotFound("No such version of this assessment.")
    context = _context(session, version, now)
    mark = letters.exercise_mark(version.incident.exercise)
    pdf = letters.render_pdf("risk_assessment.html", {**context, **mark}, archival=True)
    audit.record(
        session,
        actor=actor,
        action="assessment.exported",
        at=now,
        subject_type="assessment_version",
        subject_id=version.id,
        incident_id=incident_id,
        details={"version": version.number, "sha256": hashlib.sha256(pdf).hexdigest()},
    )
    session.commit()
    return f"{context['document_id']}.pdf", pdf


def _context(
    session: Session, version: AssessmentVersion, now: datetime
) -> letters.RiskAssessmentContext:
    incident, org = version.incident, get_organisation(session)
    answers = questionnaire.stored_answers(version)
    start, end = letter_context.breach_dates(incident, org.timezone)
    signed_on = version.signed_at.date() if version.signed_at else None
    return {
        "organisation": letter_context.organisation_context(org),
        "document_id": f"{incident.reference}-RA{version.number}",
        "letter_date": letter_context.local_date(now, org.timezone),
        "incident_reference": incident.reference,
        "incident_title": incident.title,
        "breach": _breach(session, incident, answers, start, end),
        "secured_status": _secured_status(version, answers),
        "exception_claimed": (
            questionnaire.EXCEPTION_LABELS.get(version.exception) if version.exception else None
        ),
        "factors": [_factor(answers, *spec) for spec in FACTORS],
        "conclusion": _conclusion(version),
        "low_probability_of_compromise": version.conclusion is Conclusion.LOW_PROBABILITY,
        "assessed_by": version.created_by.name,
        "approved_by": version.signed_by.name if version.signed_by else None,
        "approved_on": signed_on,
        "retention_until": _plus_years(signed_on or version.created_at.date(), RETENTION_YEARS),
    }


def _breach(
    session: Session,
    incident: Incident,
    answers: questionnaire.Answers,
    start: date | None,
    end: date | None,
) -> letters.BreachContext:
    discovered = letter_context.discovery_date(session, incident)
    by_code = {option.code: option.label for option in options.ocr_options("phi_types")}
    return {
        "what_happened": incident.description or answers.get("phi_narrative") or "Not recorded.",
        "breach_start": start,
        "breach_end": end,
        "discovered_on": discovered or incident.created_at.date(),
        "phi_types": [by_code.get(code, code) for code in incident.phi_types] or ["Not recorded"],
        "steps_for_individuals": [],
        "what_we_are_doing": [answers[key] for key in ("f4_narrative",) if answers.get(key)]
        or ["Not recorded."],
    }


def _secured_status(version: AssessmentVersion, answers: questionnaire.Answers) -> str:
    if version.not_phi_or_permitted:
        return "Not PHI, or a use or disclosure the Privacy Rule permits"
    if not version.phi_secured:
        return "Unsecured (164.402: not rendered unusable, unreadable or indecipherable)"
    if answers.get("safeguard") == "destruction":
        method = questionnaire.DESTRUCTION_METHODS.get(answers.get("destruction_method", ""), "")
        return f"Secured by destruction: {method}"
    standard = questionnaire.ENCRYPTION_STANDARDS.get(answers.get("encryption_standard", ""), "")
    return f"Secured by encryption ({standard}); the key was not compromised"


def _factor(
    answers: questionnaire.Answers,
    title: str,
    fields: tuple[str, ...],
    narrative: questionnaire.NarrativeField,
) -> letters.RiskFactor:
    risks = questionnaire.factor_risks(answers)
    finding = "; ".join(
        f"{name.split('_', 1)[1].replace('_', ' ')}: {answers.get(name) or 'unknown'} "
        f"({risks.get(name, 'unknown')} risk)"
        for name in fields
    )
    return {
        "title": title,
        "finding": finding,
        "rationale": answers.get(narrative) or "Not documented.",
    }


def _conclusion(version: AssessmentVersion) -> str:
    text = version.conclusion.label
    return f"{text}. {version.rationale}" if version.rationale else f"{text}."


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
