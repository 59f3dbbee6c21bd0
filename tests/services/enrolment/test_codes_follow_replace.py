"""Enrollment codes follow the individual across a roster "replace" import: each assigned code
moves to the new row of the same person (external-id blind index, else identity index) in the
import's final transaction, audited once with counts; a person who left the roster keeps the
code on their old row and it is never handed out again; the next mailing gives codes only to
people who have none."""

from __future__ import annotations

import sqlalchemy as sa

from incident_app import app_store
from incident_app.models.audit import AuditEvent
from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.roster import RosterPerson
from incident_app.services.enrolment import codes as code_crypto
from incident_app.services.mail_merge import worker as mail_worker
from tests.support.enrolment_helpers import fresh_codes
from tests.support.enrolment_helpers import import_codes
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import worker
from tests.support.roster_helpers import csv_bytes
from tests.support.roster_helpers import import_csv
from tests.support.roster_helpers import person

ANA = person("E1", "Ana", "García")
BO = person("E2", "Bo", "Li")
CY = person("", "Cy", "Ng", dob="1975-06-01")  # no external id: matched by identity


def _codes(session, incident) -> dict[str, str]:
    """First name → plaintext code, for the visible roster."""
    keyring = app_store.current_keyring()
    session.expire_all()
    by_id = {p.id: name for name, p in roster_people(session, incident).items()}
    return {
        by_id[row.person_id]: code_crypto.reveal(keyring, row)
        for row in session.scalars(sa.select(EnrolmentCode))
        if row.person_id in by_id
    }


def _mail(session, people, incident):
    approve(session, people, incident)
    batch = start(session, people, incident)
    mail_worker.work(session, worker=worker())
    return batch


def _replace(session, people, incident, *rows):
    import_csv(
        session,
        actor=people.officer,
        incident_id=incident.id,
        data=csv_bytes(*rows),
        store=app_store.current_store(),
    )


def test_codes_follow_the_same_people_to_their_new_rows(session, people):
    incident = case_with_roster(session, people, ANA, BO, CY)
    import_codes(session, people.officer, incident, fresh_codes(5))
    _mail(session, people, incident)
    before = _codes(session, incident)
    assert set(before) == {"Ana", "Bo", "Cy"}

    # Ana moved (same MRN, new address), Cy is the same person without an MRN, Bo left the
    # roster and Dee is new.
    _replace(
        session,
        people,
        incident,
        person("E1", "Ana", "García", line1="99 Oak Ave"),
        CY,
        person("E4", "Dee", "Fox"),
    )

    after = _codes(session, incident)
    assert after == {"Ana": before["Ana"], "Cy": before["Cy"]}
    [event] = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "enrolment.codes_carried_over")
    ).all()
    assert (
        event.details["by_external_id"],
        event.details["by_identity"],
        event.details["left_behind"],
    ) == (1, 1, 1)
    # Bo's code stays taken after his old row is purged: never handed out again.
    keyring = app_store.current_keyring()
    bo_code = session.scalar(
        sa.select(EnrolmentCode).where(
            EnrolmentCode.id.in_(
                [
                    r.id
                    for r in session.scalars(sa.select(EnrolmentCode))
                    if code_crypto.reveal(keyring, r) == before["Bo"]
                ]
            )
        )
    )
    assert bo_code.assigned_at is not None

    # The next mailing: Dee gets a fresh code; Ana and Cy keep theirs; Bo's is not reused.
    _mail(session, people, incident)
    final = _codes(session, incident)
    assert final["Ana"] == before["Ana"] and final["Cy"] == before["Cy"]
    assert final["Dee"] not in before.values()
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(EnrolmentCode)
            .where(EnrolmentCode.assigned_at.is_not(None))
        )
        == 4
    )


def test_a_person_listed_twice_in_the_new_file_keeps_the_code_on_the_kept_record(session, people):
    incident = case_with_roster(session, people, ANA)
    import_codes(session, people.officer, incident, fresh_codes(3))
    _mail(session, people, incident)
    [before] = session.scalars(
        sa.select(EnrolmentCode.id).where(EnrolmentCode.person_id.is_not(None))
    ).all()

    _replace(session, people, incident, ANA, person("E1", "Ana", "García", line1="1 Elm St"))

    session.expire_all()
    code = session.get(EnrolmentCode, before)
    kept = session.get(RosterPerson, code.person_id)
    assert kept.duplicate_of_id is None
    merged = session.scalars(
        sa.select(RosterPerson).where(RosterPerson.duplicate_of_id == kept.id)
    ).all()
    assert len(merged) == 1 and merged[0].import_id == kept.import_id  # the new import


def test_a_replace_when_nobody_has_a_code_writes_no_event(session, people):
    incident = case_with_roster(session, people, ANA)
    _replace(session, people, incident, ANA, BO)
    assert not session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "enrolment.codes_carried_over")
    ).all()
