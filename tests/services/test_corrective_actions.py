"""The corrective action plan: owners on the team, proof of completion, training, and what
the plan feeds to the HHS packet, the letters and the reminder sweep."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.corrective_action import ActionStatus
from incident_app.models.corrective_action import CorrectiveAction
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentMember
from incident_app.models.incident import IncidentStatus
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import Role
from incident_app.services import corrective_actions as plan
from incident_app.services.corrective_actions import ActionInput
from incident_app.services.corrective_actions import StatusChange
from incident_app.services.evidence import Upload
from incident_app.services.organisation import get_organisation
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


@pytest.fixture
def responder(session):
    return make_user(session, role=Role.RESPONDER, name="Rae Responder")


@pytest.fixture
def incident(session, officer, responder):
    return make_incident(session, created_by=officer, members={responder: CaseRole.RESPONDER})


def add(session, actor, incident, **overrides: object) -> CorrectiveAction:
    values = dict(ocr_code="workforce_training", title="", owner_id=None, due_on=date(2026, 4, 1))
    values.update(overrides)
    return plan.create_action(
        session, actor=actor, incident_id=incident.id, action=ActionInput(**values), now=NOW
    )


def proof(name: str = "sign-in sheet.pdf") -> Upload:
    return Upload(name, io.BytesIO(b"%PDF-1.7 attendance"))


def last_audit(session) -> AuditEvent:
    return session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


def test_an_ocr_action_takes_the_portal_wording(session, officer, responder, incident) -> None:
    action = add(session, officer, incident, owner_id=responder.id)

    assert action.title == "Trained or retrained workforce members"
    assert (action.ocr_code, action.status, action.owner_id) == (
        "workforce_training",
        ActionStatus.PLANNED,
        responder.id,
    )
    assert last_audit(session).action == "corrective_action.created"


def test_a_free_text_action_needs_a_title(session, officer, responder, incident) -> None:
    with pytest.raises(ValidationFailed, match="Describe the action") as error:
        add(session, officer, incident, ocr_code="", owner_id=responder.id)
    assert error.value.field == "title"
    action = add(
        session,
        officer,
        incident,
        ocr_code="",
        title="Lock the records room",
        owner_id=responder.id,
    )
    assert action.ocr_code is None


def test_the_owner_must_be_on_the_team(session, officer, incident) -> None:
    outsider = make_user(session, role=Role.RESPONDER)
    for owner in (outsider.id, None, officer.id):  # the officer is not a member either
        with pytest.raises(ValidationFailed, match="from the incident's team") as error:
            add(session, officer, incident, owner_id=owner)
        assert error.value.field == "owner_id"
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(CorrectiveAction.id))) == 0


def test_unknown_ocr_codes_and_missing_due_dates_are_refused(
    session, officer, responder, incident
) -> None:
    with pytest.raises(ValidationFailed, match="from the OCR list"):
        add(session, officer, incident, ocr_code="bought_a_boat", owner_id=responder.id)
    with pytest.raises(ValidationFailed, match="date the action is due"):
        add(session, officer, incident, owner_id=responder.id, due_on=None)


def test_the_owner_completes_an_action_with_proof(session, officer, responder, incident) -> None:
    action = add(session, officer, incident, owner_id=responder.id)

    done = plan.change_status(
        session,
        actor=responder,
        incident_id=incident.id,
        action_id=action.id,
        now=NOW,
        change=StatusChange("done", "All 42 staff attended", proof()),
        store=app_store.current_store(),
    )

    assert (done.status, done.completed_at, done.completed_by_id) == (
        ActionStatus.DONE,
        NOW,
        responder.id,
    )
    assert done.proof.filename == "sign-in sheet.pdf"
    assert last_audit(session).details["to"] == "done"
    entry = session.scalars(sa.select(TimelineEntry).order_by(TimelineEntry.id.desc())).first()
    assert entry.text == (
        "Corrective action “Trained or retrained workforce members”: Planned → Done."
    )


def test_closing_an_action_without_proof_when_proof_is_required(
    session, officer, responder, incident
) -> None:
    action = add(session, officer, incident, owner_id=responder.id)
    get_organisation(session).require_proof_to_close_action = True
    session.commit()

    with pytest.raises(ValidationFailed, match="Attach proof of completion") as error:
        plan.change_status(
            session,
            actor=responder,
            incident_id=incident.id,
            action_id=action.id,
            change=StatusChange("done"),
            now=NOW,
        )
    assert error.value.field == "proof"
    session.rollback()
    assert session.get(CorrectiveAction, action.id).status is ActionStatus.PLANNED


def test_without_the_setting_an_action_closes_without_proof(
    session, officer, responder, incident
) -> None:
    action = add(session, officer, incident, owner_id=responder.id)
    done = plan.change_status(
        session,
        actor=officer,
        incident_id=incident.id,
        action_id=action.id,
        change=StatusChange("done"),
        now=NOW,
    )
    assert (done.status, done.proof_id) == (ActionStatus.DONE, None)


def test_cancelling_needs_a_reason_and_reopening_clears_completion(
    session, officer, responder, incident
) -> None:
    action = add(session, officer, incident, owner_id=responder.id)
    with pytest.raises(ValidationFailed, match="why the action is cancelled"):
        plan.change_status(
            session,
            actor=officer,
            incident_id=incident.id,
            action_id=action.id,
            change=StatusChange("cancelled"),
            now=NOW,
        )
    plan.change_status(
        session,
        actor=officer,
        incident_id=incident.id,
        action_id=action.id,
        change=StatusChange("done"),
        now=NOW,
    )
    reopened = plan.change_status(
        session,
        actor=officer,
        incident_id=incident.id,
        action_id=action.id,
        change=StatusChange("in_progress"),
        now=NOW,
    )
    assert (reopened.completed_at, reopened.completed_by_id) == (None, None)
    with pytest.raises(InvalidTransition, match="already “In progress”"):
        plan.change_status(
            session,
            actor=officer,
            incident_id=incident.id,
            action_id=action.id,
            change=StatusChange("in_progress"),
            now=NOW,
        )


def test_who_may_change_an_action(session, officer, responder, incident) -> None:
    legal = make_user(session, role=Role.LEGAL)
    auditor = make_user(session, role=Role.AUDITOR)
    outsider = make_user(session, role=Role.RESPONDER)
    session.add(IncidentMember(incident_id=incident.id, user_id=legal.id, case_role=CaseRole.LEGAL))
    session.commit()
    owned_by_legal = add(session, officer, incident, owner_id=legal.id, ocr_code="ba_contracts")
    other = add(session, officer, incident, owner_id=responder.id)

    with pytest.raises(NotFound):
        plan.change_status(
            session,
            actor=outsider,
            incident_id=incident.id,
            action_id=other.id,
            change=StatusChange("in_progress"),
            now=NOW,
        )
    with pytest.raises(NotAllowed):
        plan.change_status(
            session,
            actor=auditor,
            incident_id=incident.id,
            action_id=other.id,
            change=StatusChange("in_progress"),
            now=NOW,
        )
    with pytest.raises(NotAllowed):
        plan.change_status(
            session,
            actor=legal,
            incident_id=incident.id,
            action_id=other.id,
            change=StatusChange("in_progress"),
            now=NOW,
        )
    # A legal reviewer cannot work on the case but may complete an action they own.
    done = plan.change_status(
        session,
        actor=legal,
        incident_id=incident.id,
        action_id=owned_by_legal.id,
        change=StatusChange("done"),
        now=NOW,
    )
    assert done.status is ActionStatus.DONE


def test_an_action_of_another_incident_is_not_found(session, officer, responder, incident) -> None:
    action = add(session, officer, incident, owner_id=responder.id)
    elsewhere = make_incident(session, created_by=officer)
    with pytest.raises(NotFound):
        plan.change_status(
            session,
            actor=officer,
            incident_id=elsewhere.id,
            action_id=action.id,
            change=StatusChange("done"),
            now=NOW,
        )


# --- what other areas read --------------------------------------------------------------------


def test_the_plan_feeds_the_hhs_packet_and_the_letters(
    session, officer, responder, incident
) -> None:
    add(session, officer, incident, owner_id=responder.id, ocr_code="policies")
    add(session, officer, incident, owner_id=responder.id, ocr_code="encryption")
    add(
        session,
        officer,
        incident,
        owner_id=responder.id,
        ocr_code="encryption",
        title="Encrypt the backup tapes too",
    )
    free = add(
        session,
        officer,
        incident,
        owner_id=responder.id,
        ocr_code="",
        title="Moved the fax machine out of the waiting room",
        due_on=date(2026, 3, 1),
    )
    dropped = add(session, officer, incident, owner_id=responder.id, ocr_code="sanctions")
    plan.change_status(
        session,
        actor=officer,
        incident_id=incident.id,
        action_id=dropped.id,
        change=StatusChange("cancelled", "No one was at fault"),
        now=NOW,
    )

    labels, other = plan.hhs_actions(session, incident)
    assert labels == ["Adopted encryption technologies", "Revised policies and procedures", "Other"]
    assert other == "Moved the fax machine out of the waiting room (planned, due 2026-03-01)"
    plan.change_status(
        session,
        actor=officer,
        incident_id=incident.id,
        action_id=free.id,
        change=StatusChange("done"),
        now=NOW,
    )
    assert plan.hhs_actions(session, incident)[1] == "Moved the fax machine out of the waiting room"
    assert plan.actions_taken_summary(session, incident) == [
        "Adopted encryption technologies",
        "Revised policies and procedures",
        "Moved the fax machine out of the waiting room",
    ]


def test_due_items_list_open_actions_on_open_incidents(
    session, officer, responder, incident
) -> None:
    soon = add(session, officer, incident, owner_id=responder.id, due_on=date(2026, 3, 5))
    later = add(
        session,
        officer,
        incident,
        owner_id=responder.id,
        ocr_code="policies",
        due_on=date(2026, 6, 1),
    )
    finished = add(
        session,
        officer,
        incident,
        owner_id=responder.id,
        ocr_code="encryption",
        due_on=date(2026, 3, 1),
    )
    plan.change_status(
        session,
        actor=officer,
        incident_id=incident.id,
        action_id=finished.id,
        change=StatusChange("done"),
        now=NOW,
    )
    closed = make_incident(
        session,
        created_by=officer,
        members={responder: CaseRole.RESPONDER},
        status=IncidentStatus.CLOSED,
    )
    add(session, officer, closed, owner_id=responder.id, due_on=date(2026, 3, 1))

    items = plan.due_items(session)
    assert [(i.action_id, i.due_on, i.owner_id) for i in items] == [
        (soon.id, date(2026, 3, 5), responder.id),
        (later.id, date(2026, 6, 1), responder.id),
    ]
    assert items[0].reference == incident.reference
    assert [i.action_id for i in plan.due_items(session, today=date(2026, 3, 5))] == [soon.id]
    assert plan.still_due(session, action_id=soon.id, due_on=date(2026, 3, 5))
    assert not plan.still_due(session, action_id=finished.id, due_on=date(2026, 3, 1))


def test_the_ocr_list_is_data(session) -> None:
    actions = plan.ocr_actions()
    assert actions["workforce_training"] == "Trained or retrained workforce members"
    assert list(actions)[-1] == "other"
    assert len(actions) == 15
