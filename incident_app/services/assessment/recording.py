"""The breach risk assessment (45 CFR 164.402): versioned saves, signing, closure basis.

Every save adds an AssessmentVersion (who, when, what changed). A privacy officer's signature
makes a version the one the rules engine reads; signing re-syncs the obligations in the same
transaction. The questionnaire itself (answer tables, validation, the outcome the answers
support) is questionnaire.py; which questions apply, scope.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import InvalidTransition
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Conclusion
from incident_app.models.incident import Incident
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.assessment.questionnaire import EXCEPTION_LABELS
from incident_app.services.assessment.questionnaire import clean_answers
from incident_app.services.assessment.questionnaire import outcome
from incident_app.services.assessment.questionnaire import stored_answers
from incident_app.services.assessment.scope import in_scope
from incident_app.services.incidents import access as incident_access
from incident_app.services.obligations import evaluation as obligation_evaluation
from incident_app.services.obligations import sync as obligation_sync

# ---------------------------------------------------------------- use cases


def versions(session: Session, *, actor: User, incident_id: int) -> list[AssessmentVersion]:
    """Every version of the incident's assessment, newest first (NotFound for non-members)."""
    incident_access.get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(AssessmentVersion)
            .where(AssessmentVersion.incident_id == incident_id)
            .order_by(AssessmentVersion.number.desc())
        )
    )


def save_assessment(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    answers: Mapping[str, object],
    sign: bool,
    now: datetime,
) -> AssessmentVersion:
    """Save the answers as a new version (never edits an old one); sign it if asked.

    Signing needs a privacy officer and re-syncs the obligations in the same transaction.
    Raises NotFound/NotAllowed, ValidationFailed (field = the form field). Commits once.
    """
    incident = incident_access.get_workable(session, actor=actor, incident_id=incident_id)
    if sign:
        require(actor, Capability.SIGN_DETERMINATIONS)
    # Answers to questions the other answers rule out are not kept.
    cleaned = in_scope(clean_answers(answers))
    result = outcome(cleaned, actor=actor)
    previous = _latest(session, incident_id)
    version = AssessmentVersion(
        incident_id=incident.id,
        number=(previous.number + 1) if previous else 1,
        answers=cleaned,
        changes=_changes(previous.answers if previous else {}, cleaned),
        not_phi_or_permitted=result.not_phi_or_permitted,
        phi_secured=result.phi_secured,
        exception=result.exception,
        conclusion=result.conclusion,
        rationale=cleaned["rationale"],
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="assessment.saved",
        at=now,
        subject_type="assessment_version",
        subject_id=version.id,
        incident_id=incident.id,
        details={"version": version.number, "changed": sorted(version.changes)},
    )
    if sign:
        _sign(session, actor=actor, incident=incident, version=version, now=now)
    session.commit()
    return version


def sign_version(
    session: Session, *, actor: User, incident_id: int, version_id: int, now: datetime
) -> AssessmentVersion:
    """Sign the latest version as it stands. Raises InvalidTransition for an older or
    already-signed version, NotAllowed for anyone but a privacy officer, NotFound for a
    version of another incident. Commits once."""
    incident = incident_access.get_visible(session, actor=actor, incident_id=incident_id)
    require(actor, Capability.SIGN_DETERMINATIONS)
    asked = session.get(AssessmentVersion, version_id)
    if asked is None or asked.incident_id != incident.id:
        raise NotFound("No such assessment version on this incident.")
    version = _latest(session, incident_id)
    if version is None or version.id != version_id:
        raise InvalidTransition("Only the latest version can be signed; review it first.")
    if version.signed:
        raise InvalidTransition(f"Version {version.number} is already signed.")
    # Re-check the claims: the version may have been drafted by someone who could not
    # conclude low probability.
    outcome(stored_answers(version), actor=actor)
    _sign(session, actor=actor, incident=incident, version=version, now=now)
    session.commit()
    return version


def _sign(
    session: Session,
    *,
    actor: User,
    incident: Incident,
    version: AssessmentVersion,
    now: datetime,
) -> None:
    version.signed_by_id, version.signed_at = actor.id, now
    audit.record(
        session,
        actor=actor,
        action="assessment.signed",
        at=now,
        subject_type="assessment_version",
        subject_id=version.id,
        incident_id=incident.id,
        details={
            "version": version.number,
            "conclusion": version.conclusion.value,
            "phi_secured": version.phi_secured,
            "exception": version.exception,
        },
    )
    try:
        obligation_sync.sync(session, incident=incident, now=now, actor=actor)
    except ValidationFailed:
        session.rollback()  # nothing half-written: neither the version nor its signature
        raise


def _latest(session: Session, incident_id: int) -> AssessmentVersion | None:
    return session.scalar(
        sa.select(AssessmentVersion)
        .where(AssessmentVersion.incident_id == incident_id)
        .order_by(AssessmentVersion.number.desc())
        .limit(1)
    )


def _changes(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, list[object]]:
    return {
        name: [old.get(name), value]
        for name, value in new.items()
        if old.get(name) != value and (old or value not in ("", False, [], None))
    }


def closure_basis(session: Session, incident: Incident) -> str | None:
    """Why the incident may be closed as not a breach, or None if it may not.

    Needs a signed assessment documenting a low probability of compromise, secured PHI, an
    exception, or that no breach of PHI occurred (164.402; 164.414(b) burden of proof).
    """
    version = obligation_evaluation.signed_assessment(session, incident.id)
    if version is None:
        return None
    signed = f"(assessment version {version.number}, signed {version.signed_at:%Y-%m-%d})"
    if version.not_phi_or_permitted:
        return f"No breach of PHI: not PHI, or a use the Privacy Rule permits {signed}."
    if version.phi_secured:
        return f"PHI was secured per HHS guidance (45 CFR 164.402, unsecured PHI) {signed}."
    if version.exception:
        return f"Exception {EXCEPTION_LABELS[version.exception]} {signed}."
    if version.conclusion == Conclusion.LOW_PROBABILITY:
        return f"Low probability of compromise, four-factor assessment (164.402(2)) {signed}."
    return None
