"""The what-if calculator: the real engine on typed-in facts, for every signed-in role."""

from __future__ import annotations

import pytest

from incident_app.db import get_session
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from incident_app.services.obligations import kinds
from tests.support.factories import make_user
from tests.support.obligation_table import obligation_rows
from tests.support.obligation_table import row_of

FACTS = {
    "discovered_on": "2025-09-15",
    "affected_total": "1500",
    "residents": "TX=900\nOK=500\nAR=100",
}


# Every staff role; a client contact reaches only its portal (the access matrix checks 404).
@pytest.mark.parametrize("role", [role for role in Role if role is not Role.CLIENT_CONTACT])
def test_every_role_gets_the_engines_deadlines(app, client, auth, role):
    with app.app_context():
        user = make_user(get_session(), role=role)
    auth.login(user.email)

    html = client.get("/calculator/", query_string=FACTS).get_data(as_text=True)

    assert "Reportable breach" in html
    media = row_of(html, "media_notice", "TX")
    assert media is not None
    assert media.cells[:3] == [
        "Notice to prominent media " + kinds.HIPAA_OR_FTC,
        "TX",
        "2025-11-14",
    ]
    assert row_of(html, "media_notice", "OK") is None


def test_nothing_is_stored(app, client, auth):
    with app.app_context():
        user = make_user(get_session(), role=Role.RESPONDER)
    auth.login(user.email)

    client.get("/calculator/", query_string=FACTS)

    with app.app_context():
        assert get_session().query(Obligation).count() == 0


@pytest.mark.parametrize(
    ("facts", "field_error"),
    [
        (
            {**FACTS, "affected_total": "1000"},
            'id="residents-error">residents_by_state: counts '
            "sum to 1500, more than affected_total (1000)",
        ),
        (
            {**FACTS, "residents": "ZZ=5"},
            'id="residents-error">residents_by_state: unknown state code &#39;ZZ&#39;',
        ),
        ({**FACTS, "residents": "TX 900"}, 'id="residents-error">Write each line as STATE=count'),
        (
            {**FACTS, "ba_discovered_on": "2025-09-10", "ba_notified_on": "2025-09-01"},
            'id="ba_notified_on-error">business_associate.notified_covered_entity_on: 2025-09-01 '
            "is before",
        ),
        (
            {**FACTS, "le_statement": "written", "le_stated_on": "2025-09-20"},
            'id="le_delay_until-error">law_enforcement_delay.delay_until: a written statement',
        ),
    ],
    ids=[
        "states-above-total",
        "unknown-state",
        "malformed-line",
        "ba-notified-early",
        "written-without-period",
    ],
)
def test_facts_the_engine_rejects_are_shown_on_their_field(app, client, auth, facts, field_error):
    with app.app_context():
        user = make_user(get_session(), role=Role.LEGAL)
    auth.login(user.email)

    html = client.get("/calculator/", query_string=facts).get_data(as_text=True)

    assert field_error in html
    assert 'id="result"' not in html


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/calculator/", query_string=FACTS)

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# ---- issue #17: the new facts and what they produce ---------------------------------------


def _as(app, client, auth, role=Role.PRIVACY_OFFICER):
    with app.app_context():
        user = make_user(get_session(), role=role)
    auth.login(user.email)


def test_the_new_facts_show_gdpr_hours_sec_part2_and_state_marks(app, client, auth):
    _as(app, client, auth)
    facts = {
        "discovered_on": "2026-03-02",
        "affected_total": "6000",
        "residents": "NY=5500\nGA=20\nIL=20",
        "part2_records": "y",
        "licensed_facility_states": "ca",
        "hhs_sent_on": "2026-03-20",
        "gdpr_aware_at": "2026-03-02T10:30",  # no offset: New York time (EST, UTC-5)
        "gdpr_data_subjects": "12",
        "gdpr_high_risk": "yes",
        "gdpr_controller": "controller",
        "materiality_determined_on": "2026-03-05",
    }

    html = client.get("/calculator/", query_string=facts).get_data(as_text=True)

    art33 = row_of(html, "supervisory_authority_notice", "EU")
    assert art33 is not None
    assert "2026-03-05 15:30 UTC" in art33.cells[2]  # 72 h after 15:30 UTC
    assert "2026-03-05 10:30 EST (America/New_York)" in art33.cells[2]
    assert '<time class="ob-due-at" datetime="2026-03-05T15:30:00Z">' in html
    assert row_of(html, "sec_8k_notice", "US").cells[2] == "2026-03-11"
    assert row_of(html, "part2_hhs_notice", "US") is not None
    assert (
        row_of(html, "cra_notice", "NY")
        .cells[0]
        .startswith(
            "Notice to consumer reporting agencies To: the nationwide consumer reporting agencies"
        )
    )
    il_ag = row_of(html, "state_regulator_notice", "IL")
    assert "Clock: Counted from the notice to HHS, recorded as sent on 2026-03-20" in il_ag.text
    assert il_ag.attrs.get("data-verify") == "counsel"  # IL's AG row is [M]
    assert "Verify with counsel" in il_ag.text
    assert any(link.startswith("https://www.ilga.gov/") for link in il_ag.links)
    georgia = [row for row in obligation_rows(html) if row.jurisdiction == "GA"]
    assert georgia and all("May not apply:" in row.text for row in georgia)
    assert 'id="deemers"' in html and "Illinois (IL)" in html


def test_a_processor_sees_its_notice_to_the_controller_with_no_fixed_date(app, client, auth):
    _as(app, client, auth)
    facts = {
        **FACTS,
        "gdpr_aware_at": "2025-09-15T08:00+02:00",
        "gdpr_data_subjects": "3",
        "gdpr_controller": "processor",
    }

    html = client.get("/calculator/", query_string=facts).get_data(as_text=True)

    row = row_of(html, "processor_to_controller_notice", "EU")
    assert row is not None and row.cells[2] == "No fixed date"
    assert row_of(html, "supervisory_authority_notice", "EU") is None


def test_a_phr_vendor_gets_the_ftc_rule_and_no_hipaa_notices(app, client, auth):
    _as(app, client, auth)
    facts = {**FACTS, "entity_role": "phr_vendor"}

    html = client.get("/calculator/", query_string=facts).get_data(as_text=True)

    kinds_shown = {row.kind for row in obligation_rows(html)}
    assert "ftc_notice" in kinds_shown
    assert "hhs_notice" not in kinds_shown
    assert "16 CFR 318" in row_of(html, "individual_notice", "US").text


@pytest.mark.parametrize(
    ("extra", "field_error"),
    [
        ({"gdpr_aware_at": "yesterday", "gdpr_data_subjects": "3"}, 'id="gdpr_aware_at-error">'),
        ({"gdpr_aware_at": "2025-09-15T08:00Z"}, 'id="gdpr_data_subjects-error">Enter how many'),
        ({"gdpr_data_subjects": "3"}, 'id="gdpr_aware_at-error">Enter when'),
        (
            {"gdpr_aware_at": "2025-09-15T08:00Z", "gdpr_data_subjects": "0"},
            'id="gdpr_data_subjects-error">gdpr.data_subjects: must be at least 1',
        ),
        ({"licensed_facility_states": "CA, XX"}, 'id="licensed_facility_states-error">'),
        ({"hhs_sent_on": "2025-09-01"}, 'id="hhs_sent_on-error">notices_sent.hhs_on: 2025-09-01'),
        ({"entity_role": "hospital"}, 'id="entity_role-error">entity_role:'),
        (
            {"entity_role": "phr_vendor", "ba_discovered_on": "2025-09-10"},
            'id="entity_role-error">entity_role: phr_vendor is an FTC',
        ),
        (
            {"materiality_determined_on": "2025-09-01"},
            'id="materiality_determined_on-error">materiality_determined_on: 2025-09-01',
        ),
    ],
    ids=[
        "unreadable-time",
        "no-subject-count",
        "no-awareness-time",
        "zero-subjects",
        "unknown-facility-state",
        "hhs-before-discovery",
        "unknown-role",
        "phr-vendor-with-ba",
        "materiality-before-discovery",
    ],
)
def test_bad_new_facts_are_shown_on_their_field(app, client, auth, extra, field_error):
    _as(app, client, auth, Role.LEGAL)

    html = client.get("/calculator/", query_string={**FACTS, **extra}).get_data(as_text=True)

    assert field_error in html
    assert 'id="result"' not in html


def test_an_unbounded_residents_list_gets_a_message_not_a_500(app, client, auth):
    with app.app_context():
        user = make_user(get_session(), role=Role.RESPONDER)
    auth.login(user.email)

    response = client.get("/calculator/", query_string={**FACTS, "residents": "TX=1\n" * 2000})

    assert response.status_code < 500
    assert 'id="residents-error">Keep it under 5000 characters' in response.get_data(as_text=True)
