"""Training records of the corrective action plan: who was (re)trained, on what, when, with an
optional attestation kept in the evidence store. The HHS packet's Section 4 "Trained or retrained
workforce members" and the review packet read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.models.corrective_action import TrainingRecord
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.evidence import Upload
from incident_app.services.impact import attachments
from incident_app.services.incidents.access import get_visible
from incident_app.services.incidents.access import get_workable
from incident_app.storage import FileStore


@dataclass(frozen=True)
class TrainingInput:
    trainee: str
    trained_on: date | None
    topic: str


def record_training(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    training: TrainingInput,
    attestation: Upload | None = None,
    now: datetime,
    store: FileStore | None = None,
) -> TrainingRecord:
    """Record who was (re)trained. Raises NotFound, NotAllowed, ValidationFailed. Commits once."""
    incident = get_workable(session, actor=actor, incident_id=incident_id)
    trainee, topic = training.trainee.strip(), training.topic.strip()
    if not trainee or len(trainee) > 200:
        raise ValidationFailed("Name the person or department trained.", field="trainee")
    if not topic or len(topic) > 300:
        raise ValidationFailed("Say what the training covered.", field="topic")
    if training.trained_on is None or training.trained_on > now.date():
        raise ValidationFailed(
            "Give the date of the training (not in the future).", field="trained_on"
        )
    row = TrainingRecord(
        incident_id=incident.id,
        trainee=trainee,
        topic=topic,
        trained_on=training.trained_on,
        created_by_id=actor.id,
        created_at=now,
    )
    if attestation is not None:
        if store is None:
            raise TypeError("record_training needs the file store to keep an attestation.")
        row.attestation_id = attachments.attach_file(
            session,
            store=store,
            actor=actor,
            incident_id=incident.id,
            upload=attestation,
            description=f"Training attestation: {trainee}",
            now=now,
            field_name="attestation",
        ).id
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="training.recorded",
        at=now,
        subject_type="training_record",
        subject_id=row.id,
        incident_id=incident.id,
        details={
            "trainee": trainee,
            "topic": topic,
            "trained_on": row.trained_on.isoformat(),
            "attestation_id": row.attestation_id,
        },
    )
    session.commit()
    return row


def training_records(session: Session, *, actor: User, incident_id: int) -> list[TrainingRecord]:
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    return list(
        session.scalars(
            sa.select(TrainingRecord)
            .where(TrainingRecord.incident_id == incident.id)
            .order_by(TrainingRecord.trained_on, TrainingRecord.id)
        )
    )
