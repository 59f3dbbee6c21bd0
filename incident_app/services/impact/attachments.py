"""Files attached to impact records (an invoice, a proof of completion, a training attestation):
listed among the incident's evidence through services/evidence.py (the same allow-list,
sanitised names, custody log and audit), and read back verified against their hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from incident_app.errors import NotFound
from incident_app.models.evidence import CustodyAction
from incident_app.models.evidence import CustodyEvent
from incident_app.models.evidence import EvidenceFile
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services import evidence as evidence_service
from incident_app.services.incidents.access import get_visible
from incident_app.storage import FileStore

MAX_FILE_BYTES = 25 * 1024 * 1024


def attach_file(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    upload: evidence_service.Upload,
    description: str,
    now: datetime,
    store: FileStore,
    field_name: str,
) -> EvidenceFile:
    """Store the bytes and list them among the incident's evidence (the same bytes again are
    the same file, with a custody entry); errors name `field_name`. No access check (the
    calling use case did it) and no commit."""
    return evidence_service.attach_file(
        session,
        actor=actor,
        incident_id=incident_id,
        upload=upload,
        description=description,
        now=now,
        store=store,
        max_bytes=MAX_FILE_BYTES,
        field=field_name,
    ).evidence


def open_evidence(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    evidence_id: int,
    now: datetime,
    store: FileStore,
) -> tuple[EvidenceFile, bytes]:
    """A file attached to this incident's impact records, verified against its hash; the
    download is written to the custody log and the audit trail. Commits once."""
    incident = get_visible(session, actor=actor, incident_id=incident_id)
    evidence = session.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.incident_id != incident.id:
        raise NotFound("No such file on this incident.")
    data = store.read_verified(evidence.sha256)
    session.add(
        CustodyEvent(
            evidence_id=evidence.id,
            action=CustodyAction.DOWNLOADED,
            actor_id=actor.id,
            at=now,
            filename=evidence.filename,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="evidence.downloaded",
        at=now,
        subject_type="evidence_file",
        subject_id=evidence.id,
        incident_id=incident.id,
        details={"sha256": evidence.sha256},
    )
    session.commit()
    return evidence, data
