"""The risk assessment service: versions, signing, the documentation each claim needs."""

from __future__ import annotations

import typing
from datetime import date
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app.errors import InvalidTransition
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Conclusion
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import StateCount
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from incident_app.services import assessment
from incident_app.services.assessment import questionnaire
from incident_app.services.obligations import overrides as obligation_overrides
from incident_app.services.obligations import reading as obligation_reading
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user

LOW_RISK = {
    "phi_involved": "yes",
    "use_permitted": "no",
    "safeguard": "none",
    "f1_identifiers": ["names"],
    "f1_sensitivity": "low",
    "f1_reidentification": "low",
    "f1_narrative": "Names of appointment times only.",
    "f2_recipient": "covered_entity",
    "f2_narrative": "Sent to another hospital's fax.",
    "f3_acquired": "no",
    "f3_narrative": "Receiving hospital attests it was not read.",
    "f4_mitigation": "returned_or_destroyed",
    "f4_narrative": "Destruction attested in writing.",
    "conclusion": "low_probability",
    "rationale": "All four factors are low risk.",
}
BREACH = {
    "phi_involved": "yes",
    "use_permitted": "no",
    "safeguard": "none",
    "f3_acquired": "unknown",
    "conclusion": "breach",
}


@pytest.fixture
def people(session):
    officer = make_user(session, role=Role.PRIVACY_OFFICER)
    responder = make_user(session, role=Role.RESPONDER)
    incident = make_incident(
        session, created_by=officer, affected_estimate=1500, members={responder: CaseRole.RESPONDER}
    )
    for state, residents in {"TX": 900, "OK": 500, "AR": 100}.items():
        session.add(
            StateCount(
                incident_id=incident.id,
                source=CountSource.ESTIMATE,
                state=state,
                residents=residents,
            )
        )
    session.commit()
    return officer, responder, incident


def _save(session, actor, incident, answers, *, sign=False):
    return assessment.save_assessment(
        session, actor=actor, incident_id=incident.id, answers=answers, sign=sign, now=NOW
    )


def _versions(session, incident):
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(AssessmentVersion)
        .where(AssessmentVersion.incident_id == incident.id)
    )


def _active_kinds(session, incident):
    return {
        (r.kind, r.jurisdiction)
        for r in session.scalars(
            sa.select(Obligation).where(Obligation.incident_id == incident.id, Obligation.active)
        )
    }


def test_a_signed_breach_conclusion_stores_the_obligations(session, people):
    officer, _, incident = people

    version = _save(session, officer, incident, BREACH, sign=True)

    assert version.number == 1 and version.signed_by_id == officer.id
    assert ("media_notice", "TX") in _active_kinds(session, incident)
    assert ("media_notice", "OK") not in _active_kinds(session, incident)  # 500 is not > 500


def test_signing_low_probability_removes_the_obligations_and_allows_closing(session, people):
    officer, _, incident = people
    _save(session, officer, incident, BREACH, sign=True)
    assert assessment.closure_basis(session, incident) is None

    _save(session, officer, incident, LOW_RISK, sign=True)

    assert _active_kinds(session, incident) == set()
    assert "Low probability of compromise" in assessment.closure_basis(session, incident)
    stored = obligation_reading.stored_determination(session, incident.id)
    assert stored.reportable is False


def test_each_save_is_a_new_version_recording_what_changed(session, people):
    officer, _, incident = people
    first = _save(session, officer, incident, BREACH, sign=True)

    second = _save(session, officer, incident, {**BREACH, "f3_acquired": "yes"})

    assert (first.number, second.number) == (1, 2)
    assert second.changes == {"f3_acquired": ["unknown", "yes"]}
    assert second.signed_at is None
    session.refresh(first)
    assert first.answers["f3_acquired"] == "unknown"  # the signed version is untouched
    assert first.signed_at is not None


def test_an_unsigned_draft_does_not_change_the_determination(session, people):
    officer, _, incident = people
    _save(session, officer, incident, BREACH, sign=True)

    _save(session, officer, incident, LOW_RISK)

    assert ("individual_notice", "US") in _active_kinds(session, incident)
    assert assessment.closure_basis(session, incident) is None


def test_the_officer_can_sign_a_responders_draft(session, people):
    officer, responder, incident = people
    draft = _save(session, responder, incident, BREACH)

    assessment.sign_version(
        session,
        actor=officer,
        incident_id=incident.id,
        version_id=draft.id,
        now=NOW + timedelta(hours=1),
    )

    assert draft.signed_by_id == officer.id
    assert ("individual_notice", "US") in _active_kinds(session, incident)


def test_a_responder_can_draft_but_not_sign(session, people):
    _, responder, incident = people
    draft = _save(session, responder, incident, BREACH)

    with pytest.raises(NotAllowed):
        _save(session, responder, incident, BREACH, sign=True)
    with pytest.raises(NotAllowed):
        assessment.sign_version(
            session, actor=responder, incident_id=incident.id, version_id=draft.id, now=NOW
        )

    assert _versions(session, incident) == 1


def test_only_the_latest_unsigned_version_can_be_signed(session, people):
    officer, _, incident = people
    old = _save(session, officer, incident, BREACH)
    _save(session, officer, incident, {**BREACH, "f3_acquired": "yes"}, sign=True)

    with pytest.raises(InvalidTransition, match="latest"):
        assessment.sign_version(
            session, actor=officer, incident_id=incident.id, version_id=old.id, now=NOW
        )


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({**LOW_RISK, "rationale": ""}, "rationale", "rationale"),
        ({**LOW_RISK, "f3_acquired": "unknown"}, "f3_acquired", "unknown answers default"),
        ({**LOW_RISK, "f2_narrative": ""}, "f2_narrative", "Document this factor"),
        (
            {
                **BREACH,
                "exception": "unable_to_retain",
                "exc_cannot_retain": "y",
                "exception_facts": "Envelope returned sealed.",
            },
            "exception_justification",
            "justification",
        ),
        (
            {
                **BREACH,
                "exception": "unintentional_workforce_use",
                "exc_workforce": "y",
                "exception_facts": "x",
                "exception_justification": "y",
            },
            "exception",
            "Within the scope",
        ),
        (
            {
                **BREACH,
                "safeguard": "encryption",
                "encryption_what": "BitLocker on the laptop",
                "encryption_standard": "nist_800_111",
                "encryption_conformant": "yes",
            },
            "key_compromised",
            "key or credentials",
        ),
        ({**BREACH, "phi_involved": "no"}, "phi_narrative", "Explain why"),
        ({**BREACH, "safeguard": "teleported"}, "safeguard", "listed answers"),
    ],
    ids=[
        "low-probability-without-rationale",
        "low-probability-with-unknown-factor",
        "low-probability-without-narrative",
        "exception-without-justification",
        "exception-missing-an-element",
        "encrypted-without-key-answer",
        "not-phi-without-explanation",
        "unknown-choice",
    ],
)
def test_bad_answers_are_refused_on_their_field_and_nothing_is_saved(
    session, people, answers, field, message
):
    officer, _, incident = people

    with pytest.raises(ValidationFailed, match=message) as raised:
        _save(session, officer, incident, answers, sign=True)

    assert raised.value.field == field
    assert _versions(session, incident) == 0
    assert obligation_reading.stored_determination(session, incident.id) is None


def test_a_responder_cannot_conclude_low_probability(session, people):
    _, responder, incident = people

    with pytest.raises(ValidationFailed, match="Only a privacy officer") as raised:
        _save(session, responder, incident, LOW_RISK)

    assert raised.value.field == "conclusion"
    assert _versions(session, incident) == 0


def test_facts_the_engine_rejects_undo_the_whole_signed_save(session, people):
    officer, _, incident = people
    incident.affected_estimate = 1000  # 900 + 500 + 100 residents recorded
    session.commit()
    events = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    with pytest.raises(ValidationFailed) as raised:
        _save(session, officer, incident, BREACH, sign=True)

    assert raised.value.field == "state_counts"
    assert "more than affected_total (1000)" in str(raised.value)
    assert _versions(session, incident) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events


def test_encryption_is_secured_only_if_conformant_and_key_not_exposed(session, people):
    officer, _, incident = people
    encrypted = {
        **BREACH,
        "safeguard": "encryption",
        "encryption_what": "AES-256 BitLocker",
        "encryption_standard": "nist_800_111",
        "encryption_conformant": "yes",
        "key_compromised": "yes",
    }

    exposed = _save(session, officer, incident, encrypted, sign=True)
    secured = _save(session, officer, incident, {**encrypted, "key_compromised": "no"}, sign=True)

    assert exposed.phi_secured is False
    assert secured.phi_secured is True
    assert _active_kinds(session, incident) == set()
    assert "secured" in assessment.closure_basis(session, incident)


def test_redaction_is_not_destruction(session, people):
    officer, _, incident = people

    version = _save(
        session,
        officer,
        incident,
        {**BREACH, "safeguard": "destruction", "destruction_method": "redaction"},
        sign=True,
    )

    assert version.phi_secured is False
    assert ("individual_notice", "US") in _active_kinds(session, incident)


def test_a_documented_exception_ends_the_notices(session, people):
    officer, _, incident = people

    version = _save(
        session,
        officer,
        incident,
        {
            **BREACH,
            "exception": "inadvertent_authorized_disclosure",
            "exc_both_authorized": "y",
            "exc_no_further_use": "y",
            "exception_facts": "Nurse emailed the wrong colleague.",
            "exception_justification": "Both are authorized workforce; email deleted unread.",
        },
        sign=True,
    )

    assert version.exception == "inadvertent_authorized_disclosure"
    assert obligation_reading.stored_determination(session, incident.id).reportable is False
    assert "164.402(1)(ii)" in assessment.closure_basis(session, incident)


def test_suggested_conclusion_defaults_to_breach_on_unknown_or_high_answers():
    assert questionnaire.suggested_conclusion(LOW_RISK) == Conclusion.LOW_PROBABILITY
    assert questionnaire.suggested_conclusion({**LOW_RISK, "f2_recipient": "malicious"}) == (
        Conclusion.BREACH
    )
    assert questionnaire.suggested_conclusion({**LOW_RISK, "f4_mitigation": ""}) == (
        Conclusion.BREACH
    )


def test_clean_answers_gives_exactly_the_answers_schema():
    """clean_answers builds its result in loops; the Answers TypedDict must name the same keys
    with the same kinds of value (mypy cannot check the loops)."""
    cleaned = questionnaire.clean_answers(LOW_RISK)
    schema = typing.get_type_hints(questionnaire.Answers)

    assert set(cleaned) == set(schema) == questionnaire.Answers.__required_keys__
    kinds = {name: type(value) for name, value in cleaned.items()}
    assert kinds == {name: typing.get_origin(kind) or kind for name, kind in schema.items()}


# ---------------------------------------------------------------- overrides


def test_due_date_override_is_kept_beside_the_computed_date_and_audited(session, people):
    officer, _, incident = people
    _save(session, officer, incident, BREACH, sign=True)
    row = session.scalar(sa.select(Obligation).where(Obligation.kind == "individual_notice"))

    obligation_overrides.override_due_date(
        session,
        actor=officer,
        obligation_id=row.id,
        due_on=date(2025, 11, 7),
        reason="Counsel: send a week early.",
        now=NOW,
    )

    assert (row.due_on, row.effective_due_on) == (date(2025, 11, 14), date(2025, 11, 7))
    event = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "obligation.due_date_overridden"
    assert event.details["override"] == [None, "2025-11-07"]


def test_overrides_need_a_reason_and_a_privacy_officer(session, people):
    officer, responder, incident = people
    _save(session, officer, incident, BREACH, sign=True)
    row = session.scalar(sa.select(Obligation).where(Obligation.kind == "individual_notice"))

    with pytest.raises(ValidationFailed) as raised:
        obligation_overrides.override_due_date(
            session,
            actor=officer,
            obligation_id=row.id,
            due_on=date(2025, 11, 7),
            reason="  ",
            now=NOW,
        )
    assert raised.value.field == "reason"
    with pytest.raises(NotAllowed):
        obligation_overrides.override_determination(
            session,
            actor=responder,
            incident_id=incident.id,
            reportable=False,
            reason="Because.",
            now=NOW,
        )
    assert row.override_due_on is None


def test_determination_override_keeps_the_computed_value(session, people):
    officer, _, incident = people
    _save(session, officer, incident, BREACH, sign=True)

    stored = obligation_overrides.override_determination(
        session,
        actor=officer,
        incident_id=incident.id,
        reportable=False,
        reason="Counsel: state law analysis pending.",
        now=NOW,
    )

    assert stored.reportable is True
    assert stored.effective_reportable is False
    assert stored.override_by_id == officer.id


def test_answers_to_questions_that_do_not_apply_are_not_kept(session, people):
    officer, _, incident = people
    answers = {
        **BREACH,
        "safeguard": "none",  # not encrypted: nothing about keys or standards applies
        "encryption_what": "BitLocker",
        "encryption_standard": "nist_800_111",
        "key_compromised": "yes",
        "destruction_method": "shredded",
        "exception": "none",
        "exc_both_authorized": "y",
        "exception_facts": "Left over from an earlier draft.",
    }

    version = _save(session, officer, incident, answers, sign=True)

    kept = version.answers
    for name in (
        "encryption_what",
        "encryption_standard",
        "key_compromised",
        "destruction_method",
        "exception_facts",
    ):
        assert kept[name] == "", name
    assert kept["exc_both_authorized"] is False
    assert kept["exception"] == "none" and version.exception is None
    assert ("individual_notice", "US") in _active_kinds(session, incident)


def test_no_phi_involved_rules_out_the_privacy_rule_question(session, people):
    officer, _, incident = people

    version = _save(
        session,
        officer,
        incident,
        {**BREACH, "phi_involved": "no", "use_permitted": "yes", "phi_narrative": "Test data."},
    )

    assert version.answers["use_permitted"] == ""
    assert version.not_phi_or_permitted is True
