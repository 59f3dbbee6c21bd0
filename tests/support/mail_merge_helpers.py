"""Mail-merge test helpers: a breach case with a roster and approved individual notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import count

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import app_store
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import NoticeWording
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailLetter
from incident_app.models.roster import RosterPerson
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services.letters import generation
from incident_app.services.letters import review
from incident_app.services.mail_merge import batches
from incident_app.services.mail_merge.worker import Worker
from incident_app.services.roster import access as roster_access
from incident_app.services.roster import people as roster_person_service
from tests.support.factories import NOW
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person

LATER = NOW + timedelta(hours=1)
SPANISH = {
    "what_happened": "El 10 de septiembre de 2025 robaron una computadora portátil de un auto.",
    "phi_types": ["Nombre completo", "Fecha de nacimiento"],
    "steps_for_individuals": ["Revise los estados de cuenta de su seguro médico."],
    "what_we_are_doing": ["Informamos el robo a la policía."],
}
_ext = count(1)


@dataclass
class Team:
    officer: User
    legal: User


def team(session: Session) -> Team:
    return Team(make_user(session, role=Role.PRIVACY_OFFICER), make_user(session, role=Role.LEGAL))


def case_with_roster(session: Session, people: Team, *rows: str) -> Incident:
    """A breach case (Spanish wording too) whose roster is `rows` (roster_helpers.person)."""
    incident = breach_case(session, officer=people.officer, members={people.legal: CaseRole.LEGAL})
    wording = session.scalar(
        sa.select(NoticeWording).where(NoticeWording.incident_id == incident.id)
    )
    wording.spanish = dict(SPANISH)
    session.commit()
    import_csv(
        session,
        actor=people.officer,
        incident_id=incident.id,
        data=csv_bytes(*rows),
        store=app_store.current_store(),
    )
    return incident


def approve(
    session: Session,
    people: Team,
    incident: Incident,
    *templates: str,
    client_id: int | None = None,
) -> list[Letter]:
    """Generate, submit and approve each individual-notice template (adult by default): of
    our own individual notice, or of the one of the delegating client `client_id`."""
    done = []
    for template in templates or ("individual_adult.html",):
        ob = obligation(session, incident, "individual_notice", client_id=client_id)
        letter = generation.generate(
            session,
            actor=people.officer,
            now=NOW,
            incident_id=incident.id,
            request=generation.LetterRequest(ob.id, template),
            store=app_store.current_store(),
        )
        review.submit_for_review(
            session, actor=people.officer, now=NOW, incident_id=incident.id, letter_id=letter.id
        )
        done.append(
            review.approve(
                session,
                actor=people.legal,
                now=LATER,
                incident_id=incident.id,
                letter_id=letter.id,
                store=app_store.current_store(),
                expected_sha256=letter.current_version.sha256,
            )
        )
    return done


def adult(first: str, last: str = "Rivera", **fields: str) -> str:
    return person(f"P{next(_ext)}", first, last, **fields)


def worker(clock=lambda: LATER, store=None) -> Worker:
    keyring = app_store.current_keyring()
    return Worker(
        keyring=keyring,
        store=store or app_store.current_store(keyring),
        clock=clock,
        name="test-worker",
    )


def start(session: Session, people: Team, incident: Incident, **kwargs):
    return batches.start_batch(
        session,
        actor=people.officer,
        now=LATER,
        incident_id=incident.id,
        keyring=app_store.current_keyring(),
        store=app_store.current_store(),
        **kwargs,
    )


def roster_people(session: Session, incident: Incident) -> dict[str, RosterPerson]:
    """Visible roster people by first name (the tests give distinct first names)."""
    people = session.scalars(
        sa.select(RosterPerson).where(
            RosterPerson.incident_id == incident.id,
            RosterPerson.import_id.in_(roster_access.committed_import_ids(session, incident.id)),
        )
    )
    keyring = app_store.current_keyring()
    return {roster_person_service.decrypt(keyring, p)["fn"]: p for p in people}


def batch_letters(session: Session, batch: MailBatch) -> list[MailLetter]:
    """The batch's letter rows in letter order."""
    return list(
        session.scalars(
            sa.select(MailLetter)
            .where(MailLetter.batch_id == batch.id)
            .order_by(MailLetter.sequence)
        )
    )


def letter_pdf(row: MailLetter) -> bytes:
    return app_store.read_verified(row.sha256)


def batch_actions(session: Session, incident_id: int) -> list[str]:
    """The incident's mail_batch.* audit actions, in order."""
    return list(
        session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.incident_id == incident_id, AuditEvent.action.like("mail_batch.%"))
            .order_by(AuditEvent.seq)
        )
    )
