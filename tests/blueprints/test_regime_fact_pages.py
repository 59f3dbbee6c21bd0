"""Intake, Facts and Settings pages for the regimes beyond HIPAA (Part 2, licensed facilities,
GDPR, SEC materiality, the organisation's role), through the real forms."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import Incident
from incident_app.models.obligation import Obligation
from incident_app.models.organisation import Organisation
from incident_app.models.user import Role
from incident_app.services.organisation import get_organisation
from tests.blueprints.test_incident_pages import INTAKE
from tests.blueprints.test_incident_pages import _count
from tests.blueprints.test_incident_pages import _post
from tests.support.factories import make_incident
from tests.support.factories import make_user

REGIMES = {
    "part2_records": "y",
    "licensed_facility_states": ["CA", "IL"],
    "eu_data_subjects": "6",
    # Entered in the organisation's zone (New York, EST in February): 08:30 EST = 13:30 UTC.
    "gdpr_aware_at": "2026-02-20T08:30",
    "gdpr_high_risk": "yes",
    "gdpr_controller": "processor",
}


@pytest.fixture
def people(app):
    with app.app_context():
        session = get_session()
        return {
            role: make_user(session, role=role, email=f"{role.value}@example.org") for role in Role
        }


def _public(app, value: bool = True) -> None:
    with app.app_context():
        get_organisation(get_session()).public_company = value
        get_session().commit()


def test_intake_stores_the_regime_facts_with_the_awareness_time_in_utc(app, client, auth, people):
    auth.login(people[Role.PRIVACY_OFFICER].email)

    # Discovered after 42 CFR Part 2's compliance date (2026-02-16), so Part 2 notices apply.
    response = _post(client, "/incidents/new", {**INTAKE, **REGIMES, "discovered_on": "2026-02-20"})

    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Part 2 records involved (42 CFR 2.16)" in page
    assert "CA, IL" in page
    assert "aware 2026-02-20 08:30 EST" in page and "processor" in page
    with app.app_context():
        stored = get_session().scalar(sa.select(Incident))
        assert stored.gdpr_aware_at == datetime(2026, 2, 20, 13, 30, tzinfo=UTC)
        assert (stored.part2_records, stored.licensed_facility_states) == (True, ["CA", "IL"])
        assert (stored.gdpr_high_risk, stored.gdpr_controller) == (True, False)
        kinds = set(
            get_session().scalars(sa.select(Obligation.kind).where(Obligation.active.is_(True)))
        )
    # A processor tells the controller (GDPR Art. 33(2)); Part 2 mirrors the HIPAA notices.
    assert {"processor_to_controller_notice", "part2_individual_notice"} <= kinds


def test_the_intake_form_explains_part_2_and_hides_materiality_for_a_private_company(
    app, client, auth, people
):
    auth.login(people[Role.PRIVACY_OFFICER].email)

    page = client.get("/incidents/new").get_data(as_text=True)

    assert "42 CFR 2.16" in page
    assert 'name="licensed_facility_states"' in page and '<option value="PR">' in page
    assert "America/New_York" in page  # the zone the awareness time is entered in
    assert 'name="materiality_determined_on"' not in page
    _public(app)
    assert 'name="materiality_determined_on"' in client.get("/incidents/new").get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"eu_data_subjects": "-2"}, "cannot be negative"),
        ({"gdpr_aware_at": ""}, "enter when the organisation became aware"),
        ({"eu_data_subjects": "0"}, "no EU/EEA data subjects"),
        ({"gdpr_aware_at": "2099-01-01T09:00"}, "The GDPR awareness time is in the future."),
        ({"licensed_facility_states": ["CA", "QQ"]}, "Unknown state code(s) &#39;QQ&#39;"),
        ({"materiality_determined_on": "2026-02-10"}, "before the incident was discovered"),
        ({"gdpr_aware_at": "20 Feb 2026 8am"}, "Not a valid datetime value"),
    ],
)
def test_bad_regime_facts_show_a_message_and_write_nothing(
    app, client, auth, people, change, message
):
    _public(app)
    auth.login(people[Role.PRIVACY_OFFICER].email)

    response = _post(client, "/incidents/new", {**INTAKE, **REGIMES, **change})

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(app, Incident) == 0


def test_the_facts_page_edits_the_awareness_time_in_the_organisations_zone(
    app, client, auth, people
):
    with app.app_context():
        incident = make_incident(
            get_session(),
            created_by=people[Role.PRIVACY_OFFICER],
            affected_estimate=10,
            eu_data_subjects=2,
            gdpr_aware_at=datetime(2025, 9, 16, 13, 0, tzinfo=UTC),
        )
    auth.login(people[Role.PRIVACY_OFFICER].email)
    form = client.get(f"/incidents/{incident.id}/facts").get_data(as_text=True)
    # 13:00 UTC on 2025-09-16 is 09:00 EDT.
    assert 'value="2025-09-16T09:00"' in form

    response = _post(
        client,
        f"/incidents/{incident.id}/facts",
        {
            "title": incident.title,
            "discovered_on": "2025-09-15",
            "occurred_zone": "America/New_York",
            "affected_estimate": "10",
            "ba_is_agent": "",
            "eu_data_subjects": "2",
            "gdpr_aware_at": "2025-09-16T11:00",
            "gdpr_controller": "controller",
        },
    )

    assert response.status_code == 302
    with app.app_context():
        row = get_session().scalar(
            sa.select(Obligation).where(Obligation.kind == "supervisory_authority_notice")
        )
        # 11:00 EDT = 15:00 UTC; + 72 hours = 2025-09-19 15:00 UTC.
        assert row.due_at == datetime(2025, 9, 19, 15, 0, tzinfo=UTC)


# --- organisation settings -------------------------------------------------------------------


@pytest.fixture
def admin(app, people):
    return people[Role.ADMIN]


def _settings(client, **extra):
    data = {"legal_name": "Lakeside Health", "timezone": "America/New_York", **extra}
    return _post(client, "/admin/settings", data)


def test_settings_explain_each_role_and_save_role_and_public_company(app, client, auth, admin):
    auth.login(admin.email)
    page = client.get("/admin/settings").get_data(as_text=True)
    for label in (
        "HIPAA covered entity",
        "HIPAA business associate",
        "Vendor of personal health records (FTC)",
        "PHR related entity (FTC)",
        "Third party service provider (FTC)",
    ):
        assert label in page
    assert "16 CFR 318.3(b)" in page and "Form 8-K Item 1.05" in page

    response = _settings(client, entity_role="business_associate", public_company="y")

    assert response.status_code == 302
    with app.app_context():
        org = get_session().get(Organisation, 1)
        assert (org.entity_role, org.public_company) == ("business_associate", True)
        event = (
            get_session()
            .scalars(sa.select(AuditEvent).where(AuditEvent.action == "settings.updated"))
            .one()
        )
    assert event.details["entity_role"] == ["covered_entity", "business_associate"]
    assert event.details["public_company"] == [False, True]


def test_an_unknown_role_is_refused_on_the_form(app, client, auth, admin):
    auth.login(admin.email)

    response = _settings(client, entity_role="hospital")

    assert response.status_code == 422
    assert "Unknown role" in response.get_data(as_text=True)
    with app.app_context():
        org = get_session().get(Organisation, 1)
        assert org is None or org.entity_role == "covered_entity"


def test_a_role_an_open_incident_cannot_have_is_refused_naming_the_incident(
    app, client, auth, admin, people
):
    with app.app_context():
        incident = make_incident(
            get_session(),
            created_by=people[Role.PRIVACY_OFFICER],
            affected_estimate=5,
            ba_involved=True,
            ba_name="Scan Co",
            ba_discovered_on=date(2025, 9, 10),
        )
    auth.login(admin.email)

    response = _settings(client, entity_role="phr_vendor")

    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert f"incident {incident.reference} cannot be evaluated" in text
    with app.app_context():
        org = get_session().get(Organisation, 1)
        assert org is None or (org.entity_role, org.legal_name) == ("covered_entity", "")
