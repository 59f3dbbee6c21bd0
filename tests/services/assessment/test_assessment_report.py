"""The signed risk assessment exports as a PDF (164.414 documentation), read back with pypdf."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from incident_app.errors import NotFound
from incident_app.letters import pdf_text
from incident_app.models.audit import AuditEvent
from incident_app.models.user import Role
from incident_app.services import assessment
from incident_app.services.assessment import report as assessment_report
from tests.services.assessment.test_assessment_recording import LOW_RISK
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user


def test_a_signed_version_exports_with_factors_conclusion_and_retention(session) -> None:
    officer = make_user(session, role=Role.PRIVACY_OFFICER, name="Pat Officer")
    incident = make_incident(
        session, created_by=officer, affected_estimate=3, title="Fax sent to the wrong clinic"
    )
    version = assessment.save_assessment(
        session, actor=officer, incident_id=incident.id, answers=LOW_RISK, sign=True, now=NOW
    )

    name, pdf = assessment_report.export_pdf(
        session, actor=officer, incident_id=incident.id, version_id=version.id, now=NOW
    )

    text = " ".join(pdf_text(pdf).split())
    assert name == f"{incident.reference}-RA{version.number}.pdf"
    assert "Fax sent to the wrong clinic" in text
    assert "Receiving hospital attests it was not read." in text  # factor (iii)
    assert "Destruction attested in writing." in text  # factor (iv)
    assert "All four factors are low risk." in text  # rationale
    assert "Low probability that the PHI has been compromised" in text
    assert "Pat Officer" in text and "2032" in text  # approver, 6 years
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "assessment.exported")
    ).one()
    assert event.details["sha256"] == hashlib.sha256(pdf).hexdigest()


def test_a_version_of_another_incident_is_not_found(session) -> None:
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    mine = make_incident(session, created_by=officer)
    theirs = make_incident(session, created_by=officer)
    version = assessment.save_assessment(
        session, actor=officer, incident_id=theirs.id, answers=LOW_RISK, sign=False, now=NOW
    )

    with pytest.raises(NotFound):
        assessment_report.export_pdf(
            session, actor=officer, incident_id=mine.id, version_id=version.id, now=NOW
        )
