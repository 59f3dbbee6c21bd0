"""SQLAlchemy models, one module per aggregate.

AGGREGATES lists every model module, so importing this package registers every table with
`Base.metadata` (tests/test_registration.py fails for a module left out).
"""

from __future__ import annotations

from incident_app.models import api_token
from incident_app.models import assessment
from incident_app.models import audit
from incident_app.models import client
from incident_app.models import corrective_action
from incident_app.models import enrolment
from incident_app.models import evidence
from incident_app.models import hhs_filing
from incident_app.models import impact
from incident_app.models import incident
from incident_app.models import inquiry
from incident_app.models import invitation
from incident_app.models import letter
from incident_app.models import mail_batch
from incident_app.models import notification
from incident_app.models import obligation
from incident_app.models import ocr
from incident_app.models import organisation
from incident_app.models import reminder
from incident_app.models import review
from incident_app.models import roster
from incident_app.models import security
from incident_app.models import system
from incident_app.models import task
from incident_app.models import timeline
from incident_app.models import user
from incident_app.models.audit import AuditChainHead
from incident_app.models.audit import AuditEvent
from incident_app.models.organisation import Organisation
from incident_app.models.system import SchedulerHeartbeat
from incident_app.models.user import Role
from incident_app.models.user import User

AGGREGATES = (
    api_token,
    assessment,
    audit,
    client,
    corrective_action,
    enrolment,
    evidence,
    hhs_filing,
    impact,
    incident,
    inquiry,
    invitation,
    letter,
    mail_batch,
    notification,
    obligation,
    ocr,
    organisation,
    reminder,
    review,
    roster,
    security,
    system,
    task,
    timeline,
    user,
)

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "Organisation",
    "Role",
    "SchedulerHeartbeat",
    "User",
]
