"""Inquiry and returned-mail test helpers: a case whose letters went out, and inquiry inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import app_store
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailLetter
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.inquiries import recording
from incident_app.services.mail_merge import worker as mail_worker
from tests.support.factories import make_user
from tests.support.mail_merge_helpers import Team
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import batch_letters
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import worker


@dataclass
class Mailed:
    incident: Incident
    batch: MailBatch
    letters: dict[str, MailLetter]  # by first name
    responder: User


def mailed_case(session: Session, people: Team, *rows: str) -> Mailed:
    """A case whose roster is `rows`, the adult letter approved, one mailing run to the end,
    and a responder on its team."""
    incident = case_with_roster(session, people, *rows)
    approve(session, people, incident)
    batch = start(session, people, incident)
    mail_worker.work(session, worker=worker())
    responder = make_user(session, role=Role.RESPONDER)
    session.add(
        IncidentMember(incident_id=incident.id, user_id=responder.id, case_role=CaseRole.RESPONDER)
    )
    session.commit()
    by_id = {p.id: name for name, p in roster_people(session, incident).items()}
    letters = {by_id[row.person_id]: row for row in batch_letters(session, batch)}
    return Mailed(incident, batch, letters, responder)


def keyring():
    return app_store.current_keyring()


def count_of(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def close(session: Session, case: Mailed, inquiry_id: int, *, now: datetime, outcome: str):
    """Close an inquiry of `case` as its responder."""
    return recording.close_inquiry(
        session,
        actor=case.responder,
        now=now,
        incident_id=case.incident.id,
        inquiry_id=inquiry_id,
        keyring=keyring(),
        outcome=outcome,
    )
