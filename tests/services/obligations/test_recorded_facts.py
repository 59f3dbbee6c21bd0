"""The issue-17 facts reach the engine: the organisation's role, Part 2, licensed facilities,
GDPR, SEC materiality, and the notices recorded as sent (which move the clocks counted from
them). Expected dates are worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
import sqlalchemy as sa

from incident_app import rules
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.hhs_filing import HhsFiling
from incident_app.models.incident import CaseRole
from incident_app.models.letter import LetterStatus
from incident_app.models.letter import NoticeMethod
from incident_app.models.letter import NoticeSent
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from incident_app.services import hhs_log
from incident_app.services import organisation
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from incident_app.services.incidents.facts import IncidentFacts
from incident_app.services.letters import notices
from incident_app.services.letters.notices import NoticeInput
from incident_app.services.obligations import evaluation
from incident_app.services.obligations import sync as obligation_sync
from incident_app.services.obligations.recorded import OrganisationFacts
from tests.services.letters.test_notices import _approved
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.letter_factories import breach_case
from tests.support.letter_factories import obligation

# Illinois 815 ILCS 530/50 (rules/states/IL.toml, IL-815-530-50-ag): a HIPAA entity is deemed
# compliant if it notifies the Attorney General within 5 business days of notifying HHS.
IL_AG = "state_regulator_notice"
AWARE = datetime(2025, 9, 16, 13, 30, tzinfo=UTC)


@pytest.fixture
def people(session):
    return make_user(session, role=Role.PRIVACY_OFFICER), make_user(session, role=Role.LEGAL)


@pytest.fixture
def case(session, people):
    officer, legal = people
    # Discovered 2025-09-15; IL 1,150 + WI 54 residents: HHS notice (500 or more) due with the
    # individual notices, 60 days after discovery: 2025-11-14.
    return breach_case(session, officer=officer, members={legal: CaseRole.LEGAL})


def _il_ag(session, incident) -> Obligation:
    return obligation(session, incident, IL_AG, "IL")


def test_build_facts_passes_every_new_fact(session, people):
    incident = make_incident(
        session,
        created_by=people[0],
        affected_estimate=30,
        part2_records=True,
        licensed_facility_states=["CA", "NY"],
        eu_data_subjects=12,
        gdpr_aware_at=AWARE,
        gdpr_high_risk=True,
        gdpr_controller=False,
        materiality_determined_on=date(2025, 9, 20),
    )
    sent = rules.NoticesSent(individuals_on=date(2025, 10, 1))

    facts = evaluation.build_facts(
        incident,
        None,
        organisation=OrganisationFacts("business_associate", public_company=True),
        notices=sent,
    )

    assert facts.entity_role == "business_associate"
    assert facts.part2_records is True
    assert facts.licensed_facility_states == frozenset({"CA", "NY"})
    assert facts.notices_sent == sent
    assert facts.gdpr == rules.GdprFacts(AWARE, 12, high_risk=True, controller=False)
    assert facts.materiality_determined_on == date(2025, 9, 20)


def test_materiality_is_ignored_with_a_warning_unless_the_organisation_is_public(session, people):
    incident = make_incident(
        session,
        created_by=people[0],
        affected_estimate=30,
        materiality_determined_on=date(2025, 9, 20),
    )

    determination = evaluation.evaluate_incident(incident, None)

    assert "sec_8k_notice" not in {o.kind for o in determination.obligations}
    assert any("not marked as a public company" in w for w in determination.warnings)
    public = evaluation.evaluate_incident(
        incident, None, organisation=OrganisationFacts(public_company=True)
    )
    # Form 8-K Item 1.05: 4 business days after Sat 2025-09-20 → Mon 22 (1) … Thu 25 (4).
    sec = next(o for o in public.obligations if o.kind == "sec_8k_notice")
    assert sec.due_on == date(2025, 9, 25)


def test_eu_subjects_without_an_awareness_time_are_a_warning_not_silence(session, people):
    incident = make_incident(
        session, created_by=people[0], affected_estimate=30, eu_data_subjects=7
    )

    determination = evaluation.evaluate_incident(incident, None)

    assert evaluation.build_facts(incident, None).gdpr is None
    assert not {o.kind for o in determination.obligations} & {"supervisory_authority_notice"}
    assert any("7 EU/EEA data subject(s)" in w and "72-hour" in w for w in determination.warnings)


def test_the_gdpr_72_hours_are_stored_as_a_utc_instant(session, people):
    incident = make_incident(
        session,
        created_by=people[0],
        affected_estimate=30,
        eu_data_subjects=3,
        gdpr_aware_at=AWARE,
    )

    obligation_sync.sync(session, incident=incident, now=NOW)

    row = obligation(session, incident, "supervisory_authority_notice", "EU")
    # Aware 2025-09-16 13:30 UTC + 72 hours = 2025-09-19 13:30 UTC.
    assert row.due_at == datetime(2025, 9, 19, 13, 30, tzinfo=UTC)
    assert row.due_on == date(2025, 9, 19)

    incident.gdpr_aware_at = datetime(2025, 9, 16, 20, 0, tzinfo=UTC)
    obligation_sync.sync(session, incident=incident, now=NOW)

    session.refresh(row)
    assert row.due_at == datetime(2025, 9, 19, 20, 0, tzinfo=UTC)
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "obligations.recomputed")
    ).all()[-1]
    assert event.details["due_times"] == {
        "supervisory_authority_notice EU GDPR Art. 33(1)": [
            "2025-09-19T13:30:00+00:00",
            "2025-09-19T20:00:00+00:00",
        ]
    }


def test_recording_the_hhs_notice_moves_the_illinois_ag_clock(session, people, case):
    # Until HHS is notified the AG row counts from the last allowed HHS date, Fri 2025-11-14:
    # 5 business days → Mon 17, Tue 18, Wed 19, Thu 20, Fri 2025-11-21.
    assert _il_ag(session, case).due_on == date(2025, 11, 21)
    letter = _approved(session, people, case, kind="hhs_notice", template="hhs_packet.html")

    notices.mark_sent(
        session,
        actor=people[0],
        now=NOW,
        incident_id=case.id,
        letter_id=letter.id,
        notice=NoticeInput(
            NoticeMethod.HHS_PORTAL, date(2025, 10, 1), transaction_number="OCR-2025-0101"
        ),
    )

    # HHS notified Wed 2025-10-01: Thu 2 (1), Fri 3 (2), Mon 6 (3), Tue 7 (4), Wed 2025-10-08.
    row = _il_ag(session, case)
    assert row.due_on == date(2025, 10, 8)
    assert "recorded as sent on 2025-10-01" in row.detail["basis"]
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "obligations.recomputed")
    ).all()[-1]
    assert event.actor_id == people[0].id
    assert [old_new for label, old_new in event.details["due_dates"].items() if "IL" in label] == [
        ["2025-11-21", "2025-10-08"]
    ]


def test_a_notice_dated_before_the_discovery_is_refused_and_nothing_is_written(
    session, people, case
):
    letter = _approved(session, people, case, kind="hhs_notice", template="hhs_packet.html")

    with pytest.raises(ValidationFailed) as raised:
        notices.mark_sent(
            session,
            actor=people[0],
            now=NOW,
            incident_id=case.id,
            letter_id=letter.id,
            notice=NoticeInput(
                NoticeMethod.HHS_PORTAL, date(2025, 9, 1), transaction_number="OCR-2025-0101"
            ),
        )

    assert raised.value.field == "sent_on"
    assert "notice to the Secretary of HHS is recorded as sent on 2025-09-01" in str(raised.value)
    assert "before the breach was discovered (2025-09-15)" in str(raised.value)
    assert session.scalar(sa.select(sa.func.count()).select_from(NoticeSent)) == 0
    session.refresh(letter)
    assert letter.status is LetterStatus.APPROVED
    assert _il_ag(session, case).due_on == date(2025, 11, 21)


def test_moving_the_discovery_after_a_recorded_notice_is_refused_on_the_discovery_date(
    session, people, case
):
    letter = _approved(session, people, case)  # the individual notice
    notices.mark_sent(
        session,
        actor=people[0],
        now=NOW,
        incident_id=case.id,
        letter_id=letter.id,
        notice=NoticeInput(NoticeMethod.FIRST_CLASS_MAIL, date(2025, 10, 1)),
    )
    edited = IncidentFacts.of(case)
    edited = IncidentFacts(**{**edited.__dict__, "discovered_on": date(2025, 10, 5)})

    with pytest.raises(ValidationFailed) as raised:
        incident_facts.update_facts(
            session, actor=people[0], incident_id=case.id, facts=edited, now=NOW
        )

    assert raised.value.field == "discovered_on"
    assert "notice to individuals is recorded as sent on 2025-10-01" in str(raised.value)
    session.refresh(case)
    assert case.discovered_on == date(2025, 9, 15)


def _small_illinois_breach(session, officer):
    return incident_intake.open_incident(
        session,
        actor=officer,
        now=NOW,
        facts=IncidentFacts(
            title="Misdirected fax",
            discovered_on=date(2025, 9, 15),
            affected_estimate=40,
            state_estimates={"IL": 40},
        ),
    )


def test_the_initial_hhs_log_filing_is_the_notice_to_hhs_for_state_clocks(session, people):
    incident = _small_illinois_breach(session, people[0])
    # Fewer than 500: the annual log is due 60 days after 2025-12-31, Sun 2026-03-01; the AG
    # row counts 5 business days from it, and Mon 2026-03-02 is Casimir Pulaski Day (an
    # Illinois state holiday, first Monday of March): Tue 3 (1), Wed 4, Thu 5, Fri 6, Mon 9 (5).
    assert _il_ag(session, incident).due_on == date(2026, 3, 9)

    hhs_log.record_filing(
        session,
        actor=people[0],
        incident_id=incident.id,
        filing=hhs_log.FilingInput(filed_on=date(2026, 1, 5), transaction_number="OCR-77"),
        now=NOW,
    )

    # Filed Mon 2026-01-05: Tue 6 (1), Wed 7, Thu 8, Fri 9, Mon 2026-01-12 (5).
    assert _il_ag(session, incident).due_on == date(2026, 1, 12)


def test_an_hhs_filing_before_the_discovery_is_refused_and_nothing_is_written(session, people):
    incident = _small_illinois_breach(session, people[0])

    with pytest.raises(ValidationFailed) as raised:
        hhs_log.record_filing(
            session,
            actor=people[0],
            incident_id=incident.id,
            filing=hhs_log.FilingInput(filed_on=date(2025, 9, 1), transaction_number="OCR-77"),
            now=NOW,
        )

    assert raised.value.field == "filed_on"
    assert session.scalar(sa.select(sa.func.count()).select_from(HhsFiling)) == 0


def _admin(session):
    return make_user(session, role=Role.ADMIN)


def test_a_new_entity_role_resyncs_every_open_incident(session, people, case):
    organisation.update_settings(
        session,
        actor=_admin(session),
        values={"legal_name": "Riverbend", "timezone": "America/Chicago"},
        logo=None,
        now=NOW,
        entity_role="phr_vendor",
    )

    active = set(
        session.scalars(
            sa.select(Obligation.kind).where(
                Obligation.incident_id == case.id, Obligation.active.is_(True)
            )
        )
    )
    assert "ftc_notice" in active and "hhs_notice" not in active
    assert obligation(session, case, "individual_notice").citation.startswith("16 CFR 318")
    changed = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "settings.updated")
    ).one()
    assert changed.details["entity_role"] == ["covered_entity", "phr_vendor"]


def test_a_role_that_an_open_incident_cannot_have_is_refused_naming_it(session, people):
    incident = make_incident(
        session,
        created_by=people[0],
        affected_estimate=30,
        ba_involved=True,
        ba_name="Scan Co",
        ba_discovered_on=date(2025, 9, 10),
    )

    with pytest.raises(ValidationFailed) as raised:
        organisation.update_settings(
            session,
            actor=_admin(session),
            values={"legal_name": "Riverbend", "timezone": "America/Chicago"},
            logo=None,
            now=NOW,
            entity_role="phr_vendor",
        )

    assert raised.value.field == "entity_role"
    assert incident.reference in str(raised.value)
    assert "business_associate" in str(raised.value)
    assert organisation.get_organisation(session).entity_role == "covered_entity"
    assert organisation.get_organisation(session).legal_name == ""


def test_an_unknown_role_is_refused(session):
    with pytest.raises(ValidationFailed, match="Unknown role 'hospital'") as raised:
        organisation.update_settings(
            session,
            actor=_admin(session),
            values={"legal_name": "Riverbend", "timezone": "America/Chicago"},
            logo=None,
            now=NOW,
            entity_role="hospital",
        )
    assert raised.value.field == "entity_role"


def test_the_settings_roles_are_the_rules_roles():
    from incident_app.rules.facts import ENTITY_ROLES

    assert tuple(organisation.ENTITY_ROLES) == ENTITY_ROLES
