"""The Impact, Actions and Review tabs, the /impact page and its settings, through HTTP."""

from __future__ import annotations

import io
import re
from datetime import date

import sqlalchemy as sa

from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.models.corrective_action import CorrectiveAction
from incident_app.models.impact import CostEntry
from incident_app.models.impact import Disruption
from incident_app.models.incident import CaseRole
from incident_app.models.incident import IncidentStatus
from incident_app.models.review import ReviewVersion
from incident_app.models.user import Role
from incident_app.services import corrective_actions
from incident_app.services.corrective_actions import ActionInput
from incident_app.services.organisation import get_organisation
from tests.conftest import csrf_token
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user

COST = {
    "category": "outside_counsel",
    "basis": "actual",
    "amount": "18,250.00",
    "currency": "USD",
    "exchange_rate": "",
    "spent_on": "2026-02-03",
    "vendor": "Baker & Partners",
    "invoice_reference": "BP-2291",
    "description": "",
}
OUTAGE = {
    "kind": "billing_halt",
    "system": "Claims clearinghouse feed",
    "started_at": "2026-02-01T08:00",
    "ended_at": "2026-02-02T08:00",
    "claims_delayed_count": "120",
    "claims_delayed_value": "40,000.00",
    "notes": "",
}


def setup_case(app, *, with_action: bool = False):
    with app.app_context():
        session = get_session()
        officer = make_user(session, role=Role.PRIVACY_OFFICER, name="Pat Officer")
        responder = make_user(session, role=Role.RESPONDER, name="Rae Responder")
        incident = make_incident(
            session,
            created_by=officer,
            affected_estimate=500,
            members={responder: CaseRole.RESPONDER},
            status=IncidentStatus.MONITORING,
        )
        action = None
        if with_action:
            action = corrective_actions.create_action(
                session,
                actor=officer,
                incident_id=incident.id,
                now=NOW,
                action=ActionInput("policies", "", responder.id, date(2026, 4, 1)),
            )
    return officer, responder, incident, action


def count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(sa.select(sa.func.count()).select_from(model))


def post(client, page: str, url: str, data: dict, **kwargs):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)}, **kwargs)


# --- Impact tab -------------------------------------------------------------------------------


def test_an_officer_records_a_cost_and_sees_the_totals(app, client, auth) -> None:
    officer, _responder, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/impact"

    response = post(client, page, f"{page}/costs", COST, follow_redirects=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Cost recorded." in html
    assert 'data-testid="cost-total">USD 18,250.00<' in html
    # 18,250.00 over 500 estimated individuals.
    assert 'data-testid="cost-per-individual">USD 36.50<' in html
    assert '<th scope="row">Outside counsel</th>' in html
    assert "<svg" in html and "style=" not in html.split("<svg", 1)[1].split("</svg>")[0]


def test_a_negative_amount_is_shown_on_the_field_and_nothing_is_saved(app, client, auth) -> None:
    officer, _r, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/impact"

    response = post(client, page, f"{page}/costs", {**COST, "amount": "-5"})

    assert response.status_code == 422
    assert "The amount cannot be negative." in response.get_data(as_text=True)
    assert count(app, CostEntry) == 0


def test_a_foreign_currency_without_a_rate_is_explained(app, client, auth) -> None:
    officer, _r, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/impact"

    response = post(client, page, f"{page}/costs", {**COST, "currency": "GBP"})

    assert response.status_code == 422
    assert "This cost is in GBP, not USD: give the exchange rate" in response.get_data(as_text=True)
    assert count(app, CostEntry) == 0


def test_an_outage_ending_before_it_starts_is_explained(app, client, auth) -> None:
    officer, _r, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/impact"

    response = post(client, page, f"{page}/disruptions", {**OUTAGE, "ended_at": "2026-01-31T08:00"})

    assert response.status_code == 422
    assert "The outage cannot end before it starts." in response.get_data(as_text=True)
    assert count(app, Disruption) == 0
    ok = post(client, page, f"{page}/disruptions", OUTAGE, follow_redirects=True)
    html = ok.get_data(as_text=True)
    assert "Billing halted: 1.0 days in total" in html
    assert "Claims held or delayed: 120 (USD 40,000.00)" in html


def test_non_members_get_404_and_auditors_may_only_read(app, client, auth) -> None:
    _o, _r, incident, _ = setup_case(app)
    with app.app_context():
        outsider = make_user(get_session(), role=Role.RESPONDER)
        auditor = make_user(get_session(), role=Role.AUDITOR)
    auth.login(outsider.email)
    assert client.get(f"/incidents/{incident.id}/impact").status_code == 404
    auth.logout()

    auth.login(auditor.email)
    page = client.get(f"/incidents/{incident.id}/impact")
    assert page.status_code == 200
    assert "Record a cost" not in page.get_data(as_text=True)
    token = csrf_token(client, "/")
    response = client.post(
        f"/incidents/{incident.id}/impact/costs", data={**COST, "csrf_token": token}
    )
    assert response.status_code == 403
    assert count(app, CostEntry) == 0


def test_the_cost_csv_is_formula_safe(app, client, auth) -> None:
    officer, _r, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/impact"
    post(client, page, f"{page}/costs", {**COST, "vendor": "=cmd|' /C calc'!A0"})

    response = client.get(f"{page}/costs.csv")

    assert response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # once (issue 18)
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    assert "attachment" in response.headers["Content-Disposition"]
    assert "'=cmd|' /C calc'!A0" in response.get_data(as_text=True)


def test_an_invoice_file_is_uploaded_and_downloaded(app, client, auth) -> None:
    officer, _r, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/impact"
    data = {**COST, "evidence": (io.BytesIO(b"%PDF-1.7 invoice BP-2291"), "BP-2291.pdf")}

    response = post(
        client,
        page,
        f"{page}/costs",
        data,
        follow_redirects=True,
        content_type="multipart/form-data",
    )

    link = re.search(
        r'href="([^"]+/impact/files/\d+)">BP-2291.pdf', response.get_data(as_text=True)
    )
    assert link
    download = client.get(link.group(1))
    assert download.data == b"%PDF-1.7 invoice BP-2291"


# --- Actions tab ------------------------------------------------------------------------------


def test_an_action_is_added_with_an_owner_from_the_team(app, client, auth) -> None:
    officer, responder, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/actions"
    html = client.get(page).get_data(as_text=True)
    assert f'<option value="{responder.id}">Rae Responder</option>' in html
    assert f'<option value="{officer.id}">' not in html

    response = post(
        client,
        page,
        page,
        {
            "ocr_code": "risk_analysis",
            "title": "",
            "owner_id": responder.id,
            "due_on": "2026-05-01",
        },
        follow_redirects=True,
    )

    assert "Corrective action added." in response.get_data(as_text=True)
    assert "Performed a new/updated Security Rule Risk Analysis" in response.get_data(as_text=True)


def test_completing_without_proof_when_proof_is_required(app, client, auth) -> None:
    _o, responder, incident, action = setup_case(app, with_action=True)
    with app.app_context():
        get_organisation(get_session()).require_proof_to_close_action = True
        get_session().commit()
    auth.login(responder.email)
    page = f"/incidents/{incident.id}/actions"
    url = f"{page}/{action.id}/status"

    refused = post(client, page, url, {"status": "done", "note": ""})
    assert refused.status_code == 422
    assert "Attach proof of completion" in refused.get_data(as_text=True)
    with app.app_context():
        assert get_session().get(CorrectiveAction, action.id).status.value == "planned"

    done = post(
        client,
        page,
        url,
        {
            "status": "done",
            "note": "Policy v3 approved",
            "proof": (io.BytesIO(b"%PDF-1.7 policy v3"), "policy-v3.pdf"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "is now done" in done.get_data(as_text=True)
    assert "policy-v3.pdf" in done.get_data(as_text=True)


def test_training_is_recorded(app, client, auth) -> None:
    officer, _r, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/actions"
    response = post(
        client,
        page,
        f"/incidents/{incident.id}/training",
        {"trainee": "Front desk", "trained_on": "2026-02-15", "topic": "Verifying callers"},
        follow_redirects=True,
    )
    assert "Training recorded." in response.get_data(as_text=True)
    assert "<td>Front desk</td>" in response.get_data(as_text=True)


# --- Review tab -------------------------------------------------------------------------------


def test_the_review_is_written_signed_and_exported(app, client, auth) -> None:
    officer, responder, incident, _ = setup_case(app)
    auth.login(responder.email)
    page = f"/incidents/{incident.id}/review"
    assert "No review saved yet" in client.get(page).get_data(as_text=True)
    saved = post(
        client,
        page,
        page,
        {
            "timeline_summary": "Day 0: phishing email",
            "root_cause": "Phished credentials",
            "what_worked": "",
            "what_did_not": "",
            "gaps_administrative": "",
            "gaps_physical": "",
            "gaps_technical": "No MFA on webmail",
            "decisions": "",
        },
        follow_redirects=True,
    )
    assert "Review saved as version 1." in saved.get_data(as_text=True)
    assert "Sign version 1" not in saved.get_data(as_text=True)  # responders cannot sign
    auth.logout()

    auth.login(officer.email)
    signed = post(client, page, f"{page}/sign", {"number": "1"}, follow_redirects=True)
    assert "Review version 1 signed." in signed.get_data(as_text=True)
    pdf = client.get(f"{page}/1.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    with app.app_context():
        row = get_session().scalar(sa.select(ReviewVersion))
        assert row.control_gaps == {"technical": ["No MFA on webmail"]}
        assert row.signed_by_id == officer.id


def test_a_responder_cannot_sign(app, client, auth) -> None:
    _o, responder, incident, _ = setup_case(app)
    auth.login(responder.email)
    page = f"/incidents/{incident.id}/review"
    post(client, page, page, {"root_cause": "x"})
    response = post(client, page, f"{page}/sign", {"number": "1"})
    assert response.status_code == 403


# --- across incidents -------------------------------------------------------------------------


def test_the_impact_page_sums_costs_and_disruption(app, client, auth) -> None:
    officer, _r, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/impact"
    post(client, page, f"{page}/costs", COST)
    post(
        client,
        page,
        f"{page}/costs",
        {**COST, "category": "notification_mailing", "amount": "1,750.00"},
    )
    post(client, page, f"{page}/disruptions", OUTAGE)

    html = client.get("/impact").get_data(as_text=True)

    assert '<a href="/impact" aria-current="page">Impact</a>' in html
    assert 'data-testid="impact-cost-total">USD 20,000.00<' in html
    assert "Claims held or delayed: 120 (USD 40,000.00)" in html
    assert "Days to recover, summed over incidents: 1.0" in html
    january = client.get("/impact?date_from=2026-01-01&date_to=2026-01-31")
    assert 'data-testid="impact-cost-total">USD 0.00<' in january.get_data(as_text=True)
    csv_text = client.get("/impact.csv").get_data(as_text=True)
    assert csv_text.splitlines()[-1] == "TOTAL,,20000.00,USD,1.0"


def test_responders_do_not_get_the_impact_page(app, client, auth) -> None:
    _o, responder, _i, _ = setup_case(app)
    auth.login(responder.email)
    assert client.get("/impact").status_code == 403
    assert 'href="/impact"' not in client.get("/").get_data(as_text=True)


def test_admins_change_the_settings(app, client, auth) -> None:
    with app.app_context():
        admin = make_user(get_session(), role=Role.ADMIN)
    auth.login(admin.email)

    response = post(
        client,
        "/impact/settings",
        "/impact/settings",
        {"currency": "eur", "require_signed_review_to_close": "y"},
        follow_redirects=True,
    )

    assert "After-the-breach settings saved." in response.get_data(as_text=True)
    with app.app_context():
        org = get_organisation(get_session())
        assert (
            org.currency,
            org.require_signed_review_to_close,
            org.require_proof_to_close_action,
        ) == ("EUR", True, False)
        assert (
            get_session().scalar(
                sa.select(AuditEvent.action).order_by(AuditEvent.seq.desc()).limit(1)
            )
            == "settings.updated"
        )
    bad = post(client, "/impact/settings", "/impact/settings", {"currency": "E1R"})
    assert "three-letter ISO 4217" in bad.get_data(as_text=True)


# --- the chart's geometry ---------------------------------------------------------------------


def test_chart_grid_lines_fall_on_round_amounts() -> None:
    from incident_app.blueprints.impact.chart import cost_chart
    from incident_app.blueprints.impact.chart import nice_ceiling
    from incident_app.services.impact.reports import MonthTotal

    assert [nice_ceiling(c) for c in (1, 101, 250, 6400050, 20000000, 20000001)] == [
        100,
        200,
        500,
        10000000,
        20000000,
        50000000,
    ]
    chart = cost_chart(
        [MonthTotal("2026-01", 6000000, 6000000), MonthTotal("2026-02", 400050, 6400050)], "USD"
    )
    assert [label for _y, label in chart.ticks] == [
        "USD 0.00",
        "USD 25,000.00",
        "USD 50,000.00",
        "USD 75,000.00",
        "USD 100,000.00",
    ]
    # Plot height 192 px from y=20: 60,000.00 of 100,000.00 is 115.2 px tall.
    assert (chart.bars[0].y, chart.bars[0].height) == (96.8, 115.2)
    assert chart.line == "248.0,96.8 552.0,89.1"
    assert cost_chart([], "USD") is None


def test_a_non_member_gets_404_from_every_after_breach_url(app, client, auth) -> None:
    _o, _r, incident, action = setup_case(app, with_action=True)
    with app.app_context():
        outsider = make_user(get_session(), role=Role.LEGAL)
    auth.login(outsider.email)
    token = csrf_token(client, "/")
    base = f"/incidents/{incident.id}"
    gets = [
        "/impact",
        "/impact/costs.csv",
        "/impact/disruptions.csv",
        "/impact/files/1",
        "/actions",
        "/review",
        "/review/1.pdf",
    ]
    posts = [
        "/impact/costs",
        "/impact/costs/1/delete",
        "/impact/disruptions",
        "/impact/disruptions/1/delete",
        "/actions",
        f"/actions/{action.id}/status",
        "/training",
        "/review",
        "/review/sign",
    ]

    statuses = {f"GET {p}": client.get(base + p).status_code for p in gets}
    statuses |= {
        f"POST {p}": client.post(base + p, data={"csrf_token": token}).status_code for p in posts
    }

    assert set(statuses.values()) == {404}, statuses


def test_a_huge_amount_string_is_refused_on_the_field(app, client, auth) -> None:
    officer, _r, incident, _ = setup_case(app)
    auth.login(officer.email)
    page = f"/incidents/{incident.id}/impact"

    response = post(client, page, f"{page}/costs", {**COST, "amount": "9" * 100_000})

    assert response.status_code == 422
    assert "Enter an amount, e.g. 1250.00." in response.get_data(as_text=True)
    assert count(app, CostEntry) == 0
