"""The impact ledger: exact money, currency conversion, disruption, totals, CSV, settings."""

from __future__ import annotations

import io
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.errors import NotAllowed
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.audit import AuditEvent
from incident_app.models.evidence import CustodyEvent
from incident_app.models.impact import CostEntry
from incident_app.models.impact import Disruption
from incident_app.models.impact import DisruptionKind
from incident_app.models.incident import CaseRole
from incident_app.models.user import Role
from incident_app.services.evidence import Upload
from incident_app.services.impact import attachments as impact_attachments
from incident_app.services.impact import costs as impact_costs
from incident_app.services.impact import disruptions as impact_disruptions
from incident_app.services.impact import exports as impact_exports
from incident_app.services.impact import money as impact_money
from incident_app.services.impact import reports as impact_reports
from incident_app.services.impact import settings as impact_settings
from incident_app.services.impact.costs import CostInput
from incident_app.services.impact.disruptions import DisruptionInput
from incident_app.services.impact.settings import ImpactSettings
from incident_app.services.organisation import get_organisation
from tests.support.factories import NOW
from tests.support.factories import make_incident
from tests.support.factories import make_user


@pytest.fixture
def officer(session):
    return make_user(session, role=Role.PRIVACY_OFFICER)


@pytest.fixture
def incident(session, officer):
    return make_incident(session, created_by=officer, affected_estimate=400)


def cost(**overrides: object) -> CostInput:
    values = dict(
        category="forensic_investigation",
        basis="actual",
        amount="12,500.00",
        currency="USD",
        spent_on=date(2026, 1, 20),
        vendor="Mandiant-like LLC",
        invoice_reference="INV-1001",
    )
    values.update(overrides)
    return CostInput(**values)


def record(session, actor, incident, **overrides: object) -> CostEntry:
    return impact_costs.record_cost(
        session, actor=actor, incident_id=incident.id, cost=cost(**overrides), now=NOW
    )


def audit_actions(session) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


# --- parsing money ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12,500.00", 1250000),
        ("0.01", 1),
        ("7", 700),
        (" 19.9 ", 1990),
        ("1,000,000.05", 100000005),
    ],
)
def test_amounts_are_parsed_into_exact_cents(text, cents) -> None:
    assert impact_money.parse_amount(text) == cents


def test_a_float_trap_amount_stays_exact() -> None:
    # 0.1 + 0.2 in binary floating point is 0.30000000000000004; cents never drift.
    assert impact_money.parse_amount("0.10") + impact_money.parse_amount(
        "0.20"
    ) == impact_money.parse_amount("0.30")


def test_conversion_rounds_half_up_to_the_cent() -> None:
    assert impact_money.convert(10000, Decimal("1.0825")) == 10825
    assert impact_money.convert(1, Decimal("1.5")) == 2
    assert impact_money.convert(3, Decimal("0.5")) == 2


def test_per_individual_rounds_half_up() -> None:
    assert impact_money.per_individual(1000, 3) == 333
    assert impact_money.per_individual(1000, 0) is None


# --- recording costs -------------------------------------------------------------------------


def test_a_cost_is_stored_in_cents_and_audited(session, officer, incident) -> None:
    entry = record(session, officer, incident)

    stored = session.get(CostEntry, entry.id)
    assert (stored.amount_cents, stored.reporting_cents, stored.currency) == (
        1250000,
        1250000,
        "USD",
    )
    assert stored.exchange_rate is None
    assert audit_actions(session)[-1] == "impact.cost_recorded"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-50.00", "cannot be negative"),
        ("twelve", "Enter the amount as a number"),
        ("12.345", "at most two decimals"),
        ("1e5", "Enter the amount as a number"),
        ("NaN", "Enter the amount as a number"),
        ("", "Enter the amount as a number"),
        ("0", "more than zero"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(
    session, officer, incident, amount, message
) -> None:
    before = audit_actions(session)
    with pytest.raises(ValidationFailed, match=message) as error:
        record(session, officer, incident, amount=amount)
    assert error.value.field == "amount"
    session.rollback()
    assert count(session, CostEntry) == 0
    assert audit_actions(session) == before


def test_a_foreign_currency_without_a_rate_is_refused(session, officer, incident) -> None:
    with pytest.raises(ValidationFailed, match="in EUR, not USD: give the exchange rate") as error:
        record(session, officer, incident, currency="EUR", amount="100.00")
    assert error.value.field == "exchange_rate"
    session.rollback()
    assert count(session, CostEntry) == 0


def test_a_foreign_currency_with_a_rate_is_converted_for_totals(session, officer, incident) -> None:
    entry = record(
        session, officer, incident, currency="eur", amount="100.00", exchange_rate="1.0825"
    )

    assert (entry.currency, entry.amount_cents, entry.reporting_cents) == ("EUR", 10000, 10825)
    assert session.get(CostEntry, entry.id).exchange_rate == Decimal("1.0825")


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("-1.2", "positive number"),
        ("abc", "positive number"),
        ("0", "above zero"),
    ],
)
def test_bad_exchange_rates_are_refused(session, officer, incident, rate, message) -> None:
    with pytest.raises(ValidationFailed, match=message):
        record(session, officer, incident, currency="CAD", exchange_rate=rate)


@pytest.mark.parametrize(("currency", "field"), [("US", "currency"), ("€", "currency")])
def test_a_currency_must_be_an_iso_code(session, officer, incident, currency, field) -> None:
    with pytest.raises(ValidationFailed, match="three-letter ISO 4217") as error:
        record(session, officer, incident, currency=currency)
    assert error.value.field == field


def test_an_unknown_category_or_a_missing_date_is_refused(session, officer, incident) -> None:
    with pytest.raises(ValidationFailed, match="Choose a cost category"):
        record(session, officer, incident, category="bribes")
    with pytest.raises(ValidationFailed, match="Give the date of the cost"):
        record(session, officer, incident, spent_on=None)


def test_non_members_get_not_found_and_readers_get_not_allowed(session, officer, incident) -> None:
    outsider = make_user(session, role=Role.RESPONDER)
    auditor = make_user(session, role=Role.AUDITOR)
    with pytest.raises(NotFound):
        record(session, outsider, incident)
    with pytest.raises(NotAllowed):
        record(session, auditor, incident)


def test_a_responder_on_the_team_records_costs(session, officer) -> None:
    responder = make_user(session, role=Role.RESPONDER)
    incident = make_incident(session, created_by=officer, members={responder: CaseRole.RESPONDER})
    assert record(session, responder, incident).created_by_id == responder.id


def test_an_invoice_file_goes_into_the_evidence_store(session, officer, incident) -> None:
    upload = Upload("../../invoice 1001.pdf", io.BytesIO(b"%PDF-1.7 invoice"))
    entry = impact_costs.record_cost(
        session,
        actor=officer,
        incident_id=incident.id,
        cost=cost(),
        evidence=upload,
        now=NOW,
        store=app_store.current_store(),
    )

    assert entry.evidence.filename == "invoice 1001.pdf"
    assert entry.evidence.incident_id == incident.id
    evidence, data = impact_attachments.open_evidence(
        session,
        actor=officer,
        incident_id=incident.id,
        evidence_id=entry.evidence_id,
        now=NOW,
        store=app_store.current_store(),
    )
    assert data == b"%PDF-1.7 invoice"
    actions = [
        e.action.value
        for e in session.scalars(
            sa.select(CustodyEvent)
            .where(CustodyEvent.evidence_id == evidence.id)
            .order_by(CustodyEvent.id)
        )
    ]
    assert actions == ["uploaded", "downloaded"]


def test_an_empty_invoice_file_is_refused(session, officer, incident) -> None:
    with pytest.raises(ValidationFailed, match="The file is empty"):
        impact_costs.record_cost(
            session,
            actor=officer,
            incident_id=incident.id,
            cost=cost(),
            evidence=Upload("x.pdf", io.BytesIO(b"")),
            store=app_store.current_store(),
            now=NOW,
        )


def test_deleting_a_cost_keeps_what_it_said_in_the_audit(session, officer, incident) -> None:
    entry = record(session, officer, incident)
    impact_costs.delete_cost(
        session, actor=officer, incident_id=incident.id, cost_id=entry.id, now=NOW
    )

    assert count(session, CostEntry) == 0
    event = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "impact.cost_deleted"
    assert event.details["amount_cents"] == 1250000


# --- totals -----------------------------------------------------------------------------------


def test_incident_totals_per_category_and_per_individual(session, officer, incident) -> None:
    record(session, officer, incident, amount="1,000.00")
    record(session, officer, incident, amount="500.00", basis="estimated")
    record(session, officer, incident, category="outside_counsel", amount="2,000.00")
    record(
        session,
        officer,
        incident,
        category="call_centre",
        currency="EUR",
        amount="100.00",
        exchange_rate="1.10",
        spent_on=date(2026, 3, 5),
    )

    figures = impact_reports.incident_impact(session, actor=officer, incident_id=incident.id)

    assert [(c.category.value, c.actual_cents, c.estimated_cents) for c in figures.categories] == [
        ("forensic_investigation", 100000, 50000),
        ("outside_counsel", 200000, 0),
        ("call_centre", 11000, 0),
    ]
    assert (figures.total_cents, figures.actual_cents, figures.estimated_cents) == (
        361000,
        311000,
        50000,
    )
    # 3,610.00 over 400 estimated individuals.
    assert figures.per_individual_cents == 903
    assert [(m.month, m.cents, m.cumulative_cents) for m in figures.months] == [
        ("2026-01", 350000, 350000),
        ("2026-02", 0, 350000),
        ("2026-03", 11000, 361000),
    ]


def test_per_individual_uses_the_roster_count_once_imported(session, officer) -> None:
    incident = make_incident(session, created_by=officer, affected_estimate=400, roster_total=1000)
    record(session, officer, incident, amount="5,000.00")

    figures = impact_reports.incident_impact(session, actor=officer, incident_id=incident.id)
    assert (figures.affected, figures.per_individual_cents) == (1000, 500)


# --- disruption -------------------------------------------------------------------------------


def outage(**overrides: object) -> DisruptionInput:
    values = dict(
        kind="billing_halt",
        system="Billing (Epic Resolute)",
        started_at=datetime(2026, 2, 1, 8, 0, tzinfo=UTC),
        ended_at=datetime(2026, 2, 3, 20, 0, tzinfo=UTC),
        claims_delayed_count=340,
        claims_delayed_value="125,000.50",
    )
    values.update(overrides)
    return DisruptionInput(**values)


def test_an_outage_is_stored_and_summed(session, officer, incident) -> None:
    impact_disruptions.record_disruption(
        session, actor=officer, incident_id=incident.id, disruption=outage(), now=NOW
    )
    impact_disruptions.record_disruption(
        session,
        actor=officer,
        incident_id=incident.id,
        now=NOW,
        disruption=outage(
            kind="system_outage",
            system="EHR",
            claims_delayed_count=0,
            claims_delayed_value="",
            started_at=datetime(2026, 2, 1, 6, 0, tzinfo=UTC),
            ended_at=datetime(2026, 2, 2, 6, 0, tzinfo=UTC),
        ),
    )

    totals = impact_reports.incident_impact(
        session, actor=officer, incident_id=incident.id
    ).disruption

    assert totals.days(DisruptionKind.BILLING_HALT) == Decimal("2.5")
    assert totals.days(DisruptionKind.SYSTEM_OUTAGE) == Decimal("1.0")
    assert (totals.claims_delayed_count, totals.claims_delayed_cents) == (340, 12500050)
    # First start (Feb 1 06:00) to last end (Feb 3 20:00): 2 days 14 hours.
    assert totals.recovery_days == Decimal("2.6")
    assert audit_actions(session)[-1] == "impact.disruption_recorded"


def test_an_outage_that_ends_before_it_starts_is_refused(session, officer, incident) -> None:
    with pytest.raises(ValidationFailed, match="cannot end before it starts") as error:
        impact_disruptions.record_disruption(
            session,
            actor=officer,
            incident_id=incident.id,
            now=NOW,
            disruption=outage(ended_at=datetime(2026, 1, 31, 8, 0, tzinfo=UTC)),
        )
    assert error.value.field == "ended_at"
    session.rollback()
    assert count(session, Disruption) == 0


def test_local_times_are_read_in_the_organisation_zone(session, officer, incident) -> None:
    # America/New_York is UTC-5 in February.
    row = impact_disruptions.record_disruption(
        session,
        actor=officer,
        incident_id=incident.id,
        now=NOW,
        disruption=outage(started_at=datetime(2026, 2, 1, 8, 0), ended_at=None),
    )
    assert row.started_at == datetime(2026, 2, 1, 13, 0, tzinfo=UTC)
    totals = impact_reports.incident_impact(
        session, actor=officer, incident_id=incident.id
    ).disruption
    assert (totals.ongoing, totals.recovery_days) == (1, None)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"system": "  "}, "system"),
        ({"started_at": None}, "started_at"),
        ({"started_at": datetime(2027, 1, 1, tzinfo=UTC), "ended_at": None}, "started_at"),
        ({"claims_delayed_count": -3}, "claims_delayed_count"),
        ({"claims_delayed_value": "-10"}, "claims_delayed_value"),
        ({"kind": "earthquake"}, "kind"),
    ],
)
def test_bad_disruption_input_names_its_field(session, officer, incident, overrides, field) -> None:
    with pytest.raises(ValidationFailed) as error:
        impact_disruptions.record_disruption(
            session, actor=officer, incident_id=incident.id, disruption=outage(**overrides), now=NOW
        )
    assert error.value.field == field


# --- across incidents -------------------------------------------------------------------------


def test_totals_cover_only_visible_incidents_in_the_date_range(session, officer) -> None:
    responder = make_user(session, role=Role.RESPONDER)
    mine = make_incident(session, created_by=officer, members={responder: CaseRole.RESPONDER})
    other = make_incident(session, created_by=officer)
    record(session, officer, mine, amount="100.00", spent_on=date(2026, 1, 10))
    record(
        session, officer, mine, category="litigation", amount="40.00", spent_on=date(2026, 2, 10)
    )
    record(session, officer, other, amount="1,000.00", spent_on=date(2026, 1, 15))
    impact_disruptions.record_disruption(
        session, actor=officer, incident_id=other.id, disruption=outage(), now=NOW
    )

    everything = impact_reports.totals(session, actor=officer)
    theirs = impact_reports.totals(session, actor=responder)
    january = impact_reports.totals(
        session, actor=officer, date_from=date(2026, 1, 1), date_to=date(2026, 1, 31)
    )

    assert (everything.total_cents, everything.incidents_with_costs) == (114000, 2)
    assert everything.disruption.claims_delayed_count == 340
    assert everything.recovery_days_total == Decimal("2.5")
    assert (theirs.total_cents, theirs.disruption.count) == (14000, 0)
    assert [(c.category.value, c.total_cents) for c in january.categories] == [
        ("forensic_investigation", 110000)
    ]
    assert january.disruption.count == 0


# --- CSV --------------------------------------------------------------------------------------


def test_cost_csv_neutralises_formulas_and_is_audited(session, officer, incident) -> None:
    record(
        session,
        officer,
        incident,
        vendor='=HYPERLINK("http://evil","x")',
        invoice_reference="+1-800",
        currency="EUR",
        exchange_rate="1.1",
        amount="10.00",
    )

    text = impact_exports.costs_csv(session, actor=officer, incident_id=incident.id, now=NOW)

    lines = text.splitlines()
    assert lines[0].startswith("date,category,basis,amount,currency,exchange_rate")
    assert lines[1] == (
        "2026-01-20,Forensic investigation,Actual,10.00,EUR,1.10000000,11.00,"
        'USD,"\'=HYPERLINK(""http://evil"",""x"")",\'+1-800,,'
    )
    assert audit_actions(session)[-1] == "impact.exported"


def test_disruption_and_totals_csv(session, officer, incident) -> None:
    impact_disruptions.record_disruption(
        session,
        actor=officer,
        incident_id=incident.id,
        disruption=outage(notes="@SUM(A1)"),
        now=NOW,
    )
    text = impact_exports.disruptions_csv(session, actor=officer, incident_id=incident.id, now=NOW)
    assert text.splitlines()[1] == (
        "Billing halted,Billing (Epic Resolute),"
        "2026-02-01T08:00:00+00:00,2026-02-03T20:00:00+00:00,60.0,"
        "340,125000.50,USD,'@SUM(A1)"
    )
    summary = impact_exports.totals_csv(
        session, actor=officer, date_from=None, date_to=None, now=NOW
    )
    assert summary.splitlines()[-1] == "TOTAL,,0.00,USD,2.5"


# --- settings ---------------------------------------------------------------------------------


def test_settings_are_saved_and_audited(session) -> None:
    admin = make_user(session, role=Role.ADMIN)
    impact_settings.update_settings(
        session,
        actor=admin,
        now=NOW,
        settings=ImpactSettings(
            currency="cad", require_signed_review_to_close=True, require_proof_to_close_action=True
        ),
    )
    org = get_organisation(session)
    assert (org.currency, org.require_signed_review_to_close) == ("CAD", True)
    assert audit_actions(session)[-1] == "settings.updated"


def test_only_admins_change_the_settings(session, officer) -> None:
    with pytest.raises(NotAllowed):
        impact_settings.update_settings(
            session, actor=officer, now=NOW, settings=ImpactSettings("USD", True, True)
        )


def test_the_currency_cannot_change_once_costs_exist(session, officer, incident) -> None:
    admin = make_user(session, role=Role.ADMIN)
    record(session, officer, incident)
    with pytest.raises(ValidationFailed, match="already recorded in USD"):
        impact_settings.update_settings(
            session, actor=admin, now=NOW, settings=ImpactSettings("EUR", False, False)
        )
    session.rollback()
    assert get_organisation(session).currency == "USD"


def test_an_invoice_that_is_not_what_its_name_says_is_refused(session, officer, incident) -> None:
    disguised = Upload("invoice.pdf", io.BytesIO(b"MZ\x90\x00 not a pdf"))

    with pytest.raises(ValidationFailed, match="content is not a .pdf file") as caught:
        impact_costs.record_cost(
            session,
            actor=officer,
            incident_id=incident.id,
            cost=cost(),
            evidence=disguised,
            store=app_store.current_store(),
            now=NOW,
        )

    assert caught.value.field == "evidence"
