"""The assessment form, the Deadlines tab and the overrides, through the real forms."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import StateCount
from incident_app.models.obligation import Obligation
from incident_app.models.user import Role
from incident_app.services.obligations import kinds
from tests.conftest import csrf_token
from tests.support.factories import make_incident
from tests.support.factories import make_user
from tests.support.obligation_table import obligation_rows
from tests.support.obligation_table import row_of

BREACH = {
    "phi_involved": "yes",
    "use_permitted": "no",
    "safeguard": "none",
    "f3_acquired": "unknown",
    "conclusion": "breach",
}


@pytest.fixture
def case(app):
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER)
        responder = make_user(session, role=Role.RESPONDER)
        outsider = make_user(session, role=Role.RESPONDER)
        incident = make_incident(
            session,
            created_by=officer,
            affected_estimate=1500,
            members={responder: CaseRole.RESPONDER},
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
    return officer, responder, outsider, incident


def _post_assessment(client, incident, answers, *, sign):
    path = f"/incidents/{incident.id}/assessment"
    data = {**answers, "csrf_token": csrf_token(client, path)}
    data["save_and_sign" if sign else "save"] = "y"
    return client.post(path, data=data, follow_redirects=True)


def _row(html: str, kind: str, jurisdiction: str) -> str:
    match = re.search(
        rf'<tr data-kind="{kind}" data-jurisdiction="{jurisdiction}"[^>]*>(.*?)</tr>', html, re.S
    )
    return match.group(1) if match else ""


def test_officer_signs_a_breach_and_sees_the_deadlines(client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)

    saved = _post_assessment(client, incident, BREACH, sign=True)
    page = client.get(f"/incidents/{incident.id}/deadlines").get_data(as_text=True)

    assert "Version 1 saved and signed. Deadlines recalculated." in saved.get_data(as_text=True)
    assert "Reportable breach" in page
    for kind, where in (("individual_notice", "US"), ("hhs_notice", "US"), ("media_notice", "TX")):
        assert "2025-11-14" in _row(page, kind, where)
    assert _row(page, "media_notice", "OK") == ""
    assert "Tex. Bus. &amp; Com. Code 521.053" in page
    assert "last verified" in page


def test_low_probability_without_rationale_is_shown_on_the_rationale_field(client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)
    answers = {
        "phi_involved": "yes",
        "use_permitted": "no",
        "safeguard": "none",
        "f1_sensitivity": "low",
        "f1_reidentification": "low",
        "f1_narrative": "a",
        "f2_recipient": "covered_entity",
        "f2_narrative": "b",
        "f3_acquired": "no",
        "f3_narrative": "c",
        "f4_mitigation": "assurances",
        "f4_narrative": "d",
        "conclusion": "low_probability",
    }

    response = _post_assessment(client, incident, answers, sign=True)

    html = response.get_data(as_text=True)
    assert re.search(
        r'id="rationale-error">A low-probability conclusion needs the privacy '
        r"officer&#39;s rationale",
        html,
    )
    assert "No version saved yet." in html


def test_encrypted_without_the_key_answer_is_shown_on_that_field(client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)

    response = _post_assessment(
        client,
        incident,
        {
            **BREACH,
            "safeguard": "encryption",
            "encryption_what": "BitLocker",
            "encryption_standard": "nist_800_111",
            "encryption_conformant": "yes",
        },
        sign=False,
    )

    assert 'id="key_compromised-error"' in response.get_data(as_text=True)


def test_facts_the_engine_rejects_are_shown_on_the_named_field(client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)
    path = f"/incidents/{incident.id}/deadlines"

    response = client.post(
        f"{path}/discovery",
        data={
            "discovered_on": "2025-09-15",
            "diligence_known_on": "",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert response.status_code == 302
    with client.application.app_context():
        get_session().get(type(incident), incident.id).affected_estimate = 1000
        get_session().commit()
    response = client.post(
        f"{path}/discovery",
        data={
            "discovered_on": "2025-09-20",
            "csrf_token": csrf_token(client, path),
        },
    )

    assert response.status_code == 422
    assert "counts sum to 1500, more than affected_total (1000)" in response.get_data(as_text=True)


def test_changing_the_discovery_date_moves_the_deadlines(client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)
    _post_assessment(client, incident, BREACH, sign=True)
    path = f"/incidents/{incident.id}/deadlines"

    client.post(
        f"{path}/discovery",
        data={"discovered_on": "2025-10-01", "csrf_token": csrf_token(client, path)},
    )

    page = client.get(path).get_data(as_text=True)
    assert "2025-11-30" in _row(page, "individual_notice", "US")
    assert "2025-11-14" not in page


def test_responder_can_read_and_draft_but_not_sign(client, auth, case):
    officer, responder, _, incident = case
    auth.login(responder.email)

    page = client.get(f"/incidents/{incident.id}/assessment").get_data(as_text=True)
    assert "Save and sign" not in page
    draft = _post_assessment(client, incident, BREACH, sign=False)
    assert "Version 1 saved (not signed" in draft.get_data(as_text=True)
    signed = _post_assessment(client, incident, BREACH, sign=True)

    assert signed.status_code == 403
    assert client.get(f"/incidents/{incident.id}/deadlines").status_code == 200


def test_non_members_get_404(client, auth, case):
    _, _, outsider, incident = case
    auth.login(outsider.email)

    assert client.get(f"/incidents/{incident.id}/assessment").status_code == 404
    assert client.get(f"/incidents/{incident.id}/deadlines").status_code == 404


def test_due_date_override_shows_beside_the_computed_date(client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)
    _post_assessment(client, incident, BREACH, sign=True)
    path = f"/incidents/{incident.id}/deadlines"
    page = client.get(path).get_data(as_text=True)
    action = re.search(r'action="(/incidents/\d+/deadlines/\d+/override)"', page).group(1)

    client.post(
        action,
        data={
            "due_on": "2025-11-07",
            "reason": "Counsel wants a buffer.",
            "csrf_token": csrf_token(client, path),
        },
    )

    page = client.get(path).get_data(as_text=True)
    assert "computed 2025-10-15; overridden by" in page
    assert "Counsel wants a buffer." in page


def test_determination_override_needs_a_reason(client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)
    _post_assessment(client, incident, BREACH, sign=True)
    path = f"/incidents/{incident.id}/deadlines"

    response = client.post(
        f"{path}/override",
        data={"reportable": "no", "reason": "", "csrf_token": csrf_token(client, path)},
    )

    assert response.status_code == 422
    assert "overridden:" not in response.get_data(as_text=True)


def test_a_version_page_shows_who_signed_and_what_changed(client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)
    _post_assessment(client, incident, BREACH, sign=True)
    _post_assessment(client, incident, {**BREACH, "f3_acquired": "yes"}, sign=False)
    listing = client.get(f"/incidents/{incident.id}/assessment").get_data(as_text=True)
    link = re.search(r'href="(/incidents/\d+/assessment/versions/\d+)">Version 2<', listing)

    html = client.get(link.group(1)).get_data(as_text=True)

    assert "Not signed." in html
    assert re.search(
        r"<td>\(iii\) Was the PHI actually acquired or viewed\?</td><td>unknown</td>"
        r"<td>yes</td>",
        html,
    )
    assert "<dt>Conclusion</dt><dd>Breach (not a low probability of compromise)</dd>" in html
    assert "Sign version 2" in listing


# ---- issue #17: what the Deadlines tab shows of each obligation ---------------------------


def _move_residents(app, incident, old: str, new: str) -> None:
    """Georgia's statute may not apply to a HIPAA entity: its rows carry "may not apply"."""
    with app.app_context():
        session = get_session()
        row = session.scalars(
            sa.select(StateCount).where(
                StateCount.incident_id == incident.id, StateCount.state == old
            )
        ).one()
        row.state = new
        session.commit()


def test_the_deadlines_tab_lists_the_engines_obligations_with_their_marks(app, client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)
    _move_residents(app, incident, "OK", "GA")
    _post_assessment(client, incident, BREACH, sign=True)

    page = client.get(f"/incidents/{incident.id}/deadlines").get_data(as_text=True)

    with app.app_context():
        stored = get_session().scalars(
            sa.select(Obligation).where(
                Obligation.incident_id == incident.id, Obligation.active.is_(True)
            )
        )
        expected = sorted((row.kind, row.jurisdiction) for row in stored)
    rows = obligation_rows(page)
    assert sorted((row.kind, row.jurisdiction) for row in rows) == expected
    assert all(row.cells[0].startswith(kinds.label(row.kind)) for row in rows)
    georgia = [row for row in rows if row.jurisdiction == "GA"]
    assert georgia and all("May not apply: " in row.text for row in georgia)
    assert "Arkansas (AR)" in page.split('id="deemers"', 1)[1].split("</ul>", 1)[0]
    flagged = [row for row in rows if row.attrs.get("data-verify") == "counsel"]
    assert flagged
    for row in flagged:
        assert "Verify with counsel" in row.text
        assert "last verified 20" in row.text
        assert row.links and row.links[0].startswith("https://")
    unflagged_states = [
        row
        for row in rows
        if row.kind.startswith("state_") and row.attrs.get("data-verify") != "counsel"
    ]
    assert all("Verify with counsel" not in row.text for row in unflagged_states)


def test_an_hour_clock_shows_its_utc_time_and_the_organisations_time(app, client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)
    _post_assessment(client, incident, BREACH, sign=True)
    with app.app_context():
        session = get_session()
        session.add(
            Obligation(
                incident_id=incident.id,
                kind="supervisory_authority_notice",
                jurisdiction="EU",
                due_on=date(2025, 9, 18),
                due_at=datetime(2025, 9, 18, 14, 30, tzinfo=UTC),
                citation="GDPR Art. 33(1)",
                reason="Notify the supervisory authority.",
                detail={"clock": "72 hours from awareness, counted in hours (UTC)"},
            )
        )
        session.commit()

    page = client.get(f"/incidents/{incident.id}/deadlines").get_data(as_text=True)

    row = row_of(page, "supervisory_authority_notice", "EU")
    assert row is not None
    assert row.cells[0].startswith("Notice to the supervisory authority")
    # America/New_York is on daylight time in September: UTC-4.
    assert row.cells[2] == "2025-09-18 14:30 UTC 2025-09-18 10:30 EDT (America/New_York)"
    assert "Clock: 72 hours from awareness" in row.text


def test_the_preview_shows_the_same_marks_before_anything_is_recorded(app, client, auth, case):
    officer, _, _, incident = case
    auth.login(officer.email)
    _move_residents(app, incident, "OK", "GA")

    page = client.get(f"/incidents/{incident.id}/deadlines").get_data(as_text=True)

    assert "Not yet recorded" in page
    rows = obligation_rows(page, "preview-obligations")
    assert {("individual_notice", "US"), ("media_notice", "TX")} <= {
        (row.kind, row.jurisdiction) for row in rows
    }
    assert any("May not apply:" in row.text for row in rows if row.jurisdiction == "GA")
    assert 'id="deemers"' in page
