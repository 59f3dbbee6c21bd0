"""Intake and fact edits of the regimes beyond HIPAA: stored as given (the awareness time in
UTC), every bad input refused with a message that says what to do, nothing half-written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from incident_app.services import organisation
from incident_app.services.incidents import facts as incident_facts
from incident_app.services.incidents import intake as incident_intake
from incident_app.services.incidents.facts import IncidentFacts
from incident_app.services.organisation import get_organisation
from tests.support.factories import NOW
from tests.support.factories import make_user

NEW_YORK = ZoneInfo("America/New_York")
FACTS = IncidentFacts(
    title="Patient portal exposure",
    discovered_on=date(2026, 2, 20),
    affected_estimate=120,
    state_estimates={"CA": 100, "NY": 20},
)


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


def _public(session):
    get_organisation(session).public_company = True
    session.commit()


def _kinds(session, incident) -> set[str]:
    return set(
        session.scalars(
            sa.select(Obligation.kind).where(
                Obligation.incident_id == incident.id, Obligation.active.is_(True)
            )
        )
    )


def test_intake_stores_the_regime_facts_and_the_engine_uses_them(session, officer):
    _public(session)
    facts = replace(
        FACTS,
        part2_records=True,
        licensed_facility_states=("NY", "CA", "CA"),
        eu_data_subjects=4,
        # 09:15 in New York on 2026-02-21 (EST, UTC-5) is 14:15 UTC.
        gdpr_aware_at=datetime(2026, 2, 21, 9, 15, tzinfo=NEW_YORK),
        gdpr_high_risk=True,
        materiality_determined_on=date(2026, 2, 24),
    )

    incident = incident_intake.open_incident(session, actor=officer, facts=facts, now=NOW)

    assert incident.licensed_facility_states == ["CA", "NY"]
    assert incident.gdpr_aware_at == datetime(2026, 2, 21, 14, 15, tzinfo=UTC)
    assert incident.gdpr_aware_at.tzinfo is UTC
    assert {
        "part2_individual_notice",
        "supervisory_authority_notice",
        "data_subject_notice",
        "sec_8k_notice",
    } <= _kinds(session, incident)


def test_a_fact_edit_of_the_regime_facts_is_audited_and_resyncs(session, officer):
    incident = incident_intake.open_incident(session, actor=officer, facts=FACTS, now=NOW)

    changes = incident_facts.update_facts(
        session,
        actor=officer,
        incident_id=incident.id,
        facts=replace(FACTS, part2_records=True, licensed_facility_states=("CA",)),
        now=NOW,
    )

    assert changes["part2_records"] == [False, True]
    assert changes["licensed_facility_states"] == [[], ["CA"]]
    assert "part2_hhs_annual_log" in _kinds(session, incident)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"eu_data_subjects": -3}, "eu_data_subjects", "cannot be negative"),
        ({"eu_data_subjects": 5}, "gdpr_aware_at", "enter when the organisation became aware"),
        (
            {"eu_data_subjects": 5, "gdpr_aware_at": datetime(2026, 2, 21, 9, 15)},
            "gdpr_aware_at",
            "with its time zone",
        ),
        (
            {"gdpr_aware_at": datetime(2026, 2, 21, 9, 15, tzinfo=UTC)},
            "eu_data_subjects",
            "no EU/EEA data subjects",
        ),
        (
            {"eu_data_subjects": 5, "gdpr_aware_at": datetime(2026, 3, 3, 9, 0, tzinfo=UTC)},
            "gdpr_aware_at",
            "in the future",
        ),
        (
            {"licensed_facility_states": ("CA", "XX", "Ca")},
            "licensed_facility_states",
            "Unknown state code(s) 'Ca', 'XX'",
        ),
        (
            {"materiality_determined_on": date(2026, 2, 19)},
            "materiality_determined_on",
            "before the incident was discovered (2026-02-20)",
        ),
        (
            {"materiality_determined_on": date(2026, 3, 3)},
            "materiality_determined_on",
            "in the future",
        ),
    ],
)
def test_bad_regime_facts_are_refused_and_nothing_is_written(
    session, officer, change, field, message
):
    _public(session)

    with pytest.raises(ValidationFailed) as raised:
        incident_intake.open_incident(
            session, actor=officer, facts=replace(FACTS, **change), now=NOW
        )

    assert raised.value.field == field
    assert message in str(raised.value)
    assert session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


def test_materiality_counts_from_a_business_associates_earlier_discovery(session, officer):
    _public(session)
    facts = replace(
        FACTS,
        ba_involved=True,
        ba_name="Portal Co",
        ba_discovered_on=date(2026, 2, 17),
        materiality_determined_on=date(2026, 2, 18),
    )

    incident = incident_intake.open_incident(session, actor=officer, facts=facts, now=NOW)

    assert incident.materiality_determined_on == date(2026, 2, 18)


def test_a_materiality_date_is_refused_unless_the_organisation_is_public(session, officer):
    with pytest.raises(ValidationFailed, match="not marked as a public company") as raised:
        incident_intake.open_incident(
            session,
            actor=officer,
            facts=replace(FACTS, materiality_determined_on=date(2026, 2, 24)),
            now=NOW,
        )
    assert raised.value.field == "materiality_determined_on"


def test_a_hidden_materiality_field_keeps_the_stored_date(session, officer):
    _public(session)
    incident = incident_intake.open_incident(
        session,
        actor=officer,
        facts=replace(FACTS, materiality_determined_on=date(2026, 2, 24)),
        now=NOW,
    )
    organisation.update_settings(
        session,
        actor=make_user(session, role=Role.ADMIN),
        values={"legal_name": "Riverbend", "timezone": "America/New_York"},
        logo=None,
        now=NOW,
        public_company=False,
    )
    assert "sec_8k_notice" not in _kinds(session, incident)  # the settings change re-synced

    # The Facts form of a non-public organisation does not show the field: it sends None.
    changes = incident_facts.update_facts(
        session, actor=officer, incident_id=incident.id, facts=FACTS, now=NOW
    )

    assert "materiality_determined_on" not in changes
    assert incident.materiality_determined_on == date(2026, 2, 24)
    assert "sec_8k_notice" not in _kinds(session, incident)


def test_a_business_associate_under_an_ftc_role_is_refused_on_the_ba_field(session, officer):
    get_organisation(session).entity_role = "phr_vendor"
    session.commit()
    incident = incident_intake.open_incident(session, actor=officer, facts=FACTS, now=NOW)

    with pytest.raises(ValidationFailed) as raised:
        incident_facts.update_facts(
            session,
            actor=officer,
            incident_id=incident.id,
            facts=replace(
                FACTS, ba_involved=True, ba_name="Scan Co", ba_discovered_on=date(2026, 2, 18)
            ),
            now=NOW,
        )

    assert raised.value.field == "ba_involved"
    assert "16 CFR 318" in str(raised.value)
    session.refresh(incident)
    assert incident.ba_involved is False
