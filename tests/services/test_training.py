"""Training records: recorded with their attestation and audited; bad input refused whole."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.corrective_action import TrainingRecord
from incident_app.models.user import Role
from incident_app.services import training as plan
from incident_app.services.evidence import Upload
from incident_app.services.training import TrainingInput
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


@pytest.fixture
def incident(session, officer):
    return make_incident(session, created_by=officer)


def proof(name: str = "sign-in sheet.pdf") -> Upload:
    return Upload(name, io.BytesIO(b"%PDF-1.7 attendance"))


def last_audit(session) -> AuditEvent:
    return session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


def test_training_is_recorded_with_its_attestation(session, officer, incident) -> None:
    row = plan.record_training(
        session,
        actor=officer,
        incident_id=incident.id,
        now=NOW,
        training=TrainingInput("Billing office", date(2026, 2, 20), "Phishing and PHI by email"),
        attestation=proof("attestation.pdf"),
        store=app_store.current_store(),
    )
    assert (row.trainee, row.attestation.filename) == ("Billing office", "attestation.pdf")
    assert last_audit(session).action == "training.recorded"


@pytest.mark.parametrize(
    ("training", "field"),
    [
        (TrainingInput("", date(2026, 2, 20), "Phishing"), "trainee"),
        (TrainingInput("Billing office", None, "Phishing"), "trained_on"),
        (TrainingInput("Billing office", date(2027, 1, 1), "Phishing"), "trained_on"),
        (TrainingInput("Billing office", date(2026, 2, 20), " "), "topic"),
    ],
)
def test_bad_training_input(session, officer, incident, training, field) -> None:
    with pytest.raises(ValidationFailed) as error:
        plan.record_training(
            session, actor=officer, incident_id=incident.id, training=training, now=NOW
        )
    assert error.value.field == field
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(TrainingRecord.id))) == 0
