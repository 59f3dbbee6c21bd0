"""`flask demo seed` and services.demo: counts, validity, determinism, and equality with the
rows the real services write for the same story."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_app import app_store
from incident_app.db import get_session
from incident_app.demo import seed as demo
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import Determination
from incident_app.models.audit import AuditEvent
from incident_app.models.incident import CaseRole
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.incident import IncidentStatus
from incident_app.models.incident import StateCount
from incident_app.models.incident import StatementForm
from incident_app.models.obligation import Obligation
from incident_app.models.ocr import OcrBreach
from incident_app.models.roster import RosterPerson
from incident_app.models.task import ChecklistItem
from incident_app.models.task import ChecklistTemplate
from incident_app.models.task import Task
from incident_app.models.timeline import TimelineEntry
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import assessment
from incident_app.services import audit
from incident_app.services import obligations
from incident_app.services.incidents import core as incidents
from incident_app.services.incidents.core import IncidentFacts
from incident_app.services.incidents.core import StatementInput
from tests.factories import NOW
from tests.factories import PASSWORD
from tests.factories import make_user

S = IncidentStatus
REFERENCE = re.compile(r"BD-\d{4}-\d{4}")


def _ocr_row(
    n: int,
    types: list[str],
    locations: list[str],
    entity: str,
    count: int,
    state: str,
    ba: bool,
    flags: list[str] | None = None,
) -> OcrBreach:
    key = f"{n:064d}"
    return OcrBreach(
        row_key=key,
        content_hash=key,
        filing_key=key,
        entity_name=f"Entity {n}",
        state=state,
        entity_type=entity,
        individuals_affected=count,
        submitted_on=date(2024, 1, n),
        breach_types=types,
        locations=locations,
        business_associate_present=ba,
        web_description=None,
        portal_list="Archive",
        actions=[],
        flags=flags or [],
    )


@pytest.fixture
def reference_data(app):
    """Three OCR rows to draw from (a fourth marked as OCR's duplicate is never drawn) and one
    checklist template for hacking incidents."""
    with app.app_context():
        session = get_session()
        session.add_all(
            [
                _ocr_row(
                    1,
                    ["Hacking/IT Incident"],
                    ["Network Server"],
                    "Healthcare Provider",
                    12_000,
                    "TX",
                    False,
                ),
                _ocr_row(2, ["Theft"], ["Laptop"], "Health Plan", 800, "CA", False),
                _ocr_row(
                    3,
                    ["Unauthorized Access/Disclosure"],
                    ["Email", "Paper/Films"],
                    "Business Associate",
                    650,
                    "NY",
                    True,
                ),
                _ocr_row(
                    4,
                    ["Loss"],
                    ["Other"],
                    "Healthcare Provider",
                    900,
                    "OH",
                    False,
                    flags=["ocr_duplicate"],
                ),
            ]
        )
        template = ChecklistTemplate(name="Ransomware", breach_types=["hacking"])
        template.items = [
            ChecklistItem(position=1, title="Isolate hosts", due_days=1),
            ChecklistItem(position=2, title="Call the insurer", due_days=None),
        ]
        session.add(template)
        session.commit()


def _seed_args(*extra: str) -> list[str]:
    return [
        "demo",
        "seed",
        "--incidents",
        "50",
        "--roster",
        "2000",
        "--seed",
        "7",
        "--password",
        PASSWORD,
        *extra,
    ]


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seed_fills_an_empty_database_with_valid_cases(app, runner, reference_data):
    result = runner.invoke(args=_seed_args())

    assert result.exit_code == 0, result.output
    assert "Seeded 50 incidents" in result.output
    assert "2,000 roster people in 1 roster(s)" in result.output
    assert f"password shown once: {PASSWORD}" in result.output
    assert "demo-privacy-officer-1@example.org" in result.output
    with app.app_context():
        session = get_session()
        cases = session.scalars(sa.select(Incident)).all()
        assert len(cases) == 50
        references = [c.reference for c in cases]
        assert len(set(references)) == 50
        assert all(REFERENCE.fullmatch(r) for r in references)
        # Drawn from the three usable OCR rows only (never the duplicate's "loss").
        assert {t for c in cases for t in c.breach_types} <= {
            "hacking",
            "theft",
            "unauthorized_access",
        }
        leads = session.scalars(
            sa.select(IncidentMember.incident_id).where(IncidentMember.case_role == CaseRole.LEAD)
        ).all()
        assert sorted(leads) == sorted(c.id for c in cases)
        assert _count(session, Determination) == 50
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Obligation)
                .where(Obligation.active.is_(True))
            )
            > 50
        )
        hacking = [c.id for c in cases if "hacking" in c.breach_types]
        assert _count(session, Task) == 2 * len(hacking)
        assert len({c.status for c in cases}) >= 3
        assert sum(c.roster_total or 0 for c in cases) == 2000
        assert _count(session, RosterPerson) == 2000
        assert audit.verify(session).ok


def test_a_resync_of_seeded_incidents_changes_nothing(app, runner, reference_data):
    assert runner.invoke(args=_seed_args()).exit_code == 0
    with app.app_context():
        session = get_session()
        rows = sa.select(
            Obligation.id,
            Obligation.due_on,
            Obligation.active,
            Obligation.reason,
            Obligation.updated_at,
        ).order_by(Obligation.id)
        before, events = session.execute(rows).all(), _count(session, AuditEvent)
        for incident in session.scalars(sa.select(Incident)):
            obligations.sync(session, incident=incident, now=NOW)
        assert session.execute(rows).all() == before
        assert _count(session, AuditEvent) == events


def test_seed_refuses_a_database_with_incidents_and_writes_nothing(app, runner, reference_data):
    assert runner.invoke(args=_seed_args()).exit_code == 0
    with app.app_context():
        users_before = _count(get_session(), User)

    result = runner.invoke(args=_seed_args())

    assert result.exit_code != 0
    assert "already holds 50 incident(s)" in result.output
    assert "--force-append" in result.output
    with app.app_context():
        assert _count(get_session(), Incident) == 50
        assert _count(get_session(), User) == users_before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--incidents", "0"], "Seed at least one incident."),
        (["--roster", "-5"], "The roster size cannot be negative."),
        (["--password", "short"], "The demo password must be at least 12 characters."),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(app, runner, reference_data, args, message):
    result = runner.invoke(args=[*_seed_args(), *args])

    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert _count(get_session(), Incident) == 0
        assert _count(get_session(), User) == 0


def _fingerprint(session, ids: list[int]) -> list[tuple]:
    cases = session.scalars(
        sa.select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id)
    ).all()
    result = []
    for case in cases:
        due = session.execute(
            sa.select(
                Obligation.kind, Obligation.jurisdiction, Obligation.due_on, Obligation.active
            )
            .where(Obligation.incident_id == case.id)
            .order_by(Obligation.kind, Obligation.jurisdiction)
        ).all()
        result.append(
            (
                case.title,
                case.discovered_on,
                case.affected_estimate,
                case.status,
                case.created_at,
                tuple(case.breach_types),
                tuple(due),
            )
        )
    return result


def test_the_same_seed_and_time_give_the_same_incidents(session, reference_data):
    keyring = app_store.current_keyring()
    store = app_store.current_store(keyring)
    options = demo.SeedOptions(incidents=30, roster=0, seed=11, password=PASSWORD)

    demo.seed(session, options_=options, now=NOW, keyring=keyring, store=store)
    first = session.scalars(sa.select(Incident.id).order_by(Incident.id)).all()
    demo.seed(
        session,
        options_=demo.SeedOptions(
            incidents=30, roster=0, seed=11, password=PASSWORD, force_append=True
        ),
        now=NOW,
        keyring=keyring,
        store=store,
    )
    second = session.scalars(
        sa.select(Incident.id).where(Incident.id.not_in(first)).order_by(Incident.id)
    ).all()
    demo.seed(
        session,
        options_=demo.SeedOptions(
            incidents=30, roster=0, seed=12, password=PASSWORD, force_append=True
        ),
        now=NOW,
        keyring=keyring,
        store=store,
    )
    third = session.scalars(
        sa.select(Incident.id).where(Incident.id.not_in(first + second)).order_by(Incident.id)
    ).all()

    assert len(first) == len(second) == len(third) == 30
    assert _fingerprint(session, first) == _fingerprint(session, second)
    assert _fingerprint(session, first) != _fingerprint(session, third)
    # Appending continues the yearly counters: no reference is handed out twice.
    references = session.scalars(sa.select(Incident.reference)).all()
    assert len(set(references)) == 90
    assert _count(session, User) == 15  # the demo users were reused, not created again
    assert audit.verify(session).ok


# --- the same story written by services.demo and by the real services ----------------------


def _story(session) -> demo.Plan:
    officer = make_user(session, role=Role.PRIVACY_OFFICER, email="po@example.org")
    responder = make_user(session, role=Role.RESPONDER, email="resp@example.org")
    legal = make_user(session, role=Role.LEGAL, email="legal@example.org")
    opened = datetime(2025, 6, 3, 14, 0, tzinfo=UTC)
    facts = IncidentFacts(
        title="Stolen laptop",
        discovered_on=date(2025, 6, 2),
        description="Car break-in.",
        occurred_from=datetime(2025, 5, 30, 16, tzinfo=UTC),
        occurred_to=datetime(2025, 5, 31, 16, tzinfo=UTC),
        breach_types=("hacking", "theft"),
        locations=("laptop",),
        phi_types=("demographic.name",),
        safeguards=("privacy_rule",),
        affected_estimate=1_200,
        state_estimates={"TX": 900, "OK": 300},
        ba_involved=True,
        ba_name="Northwind Billing",
        ba_discovered_on=date(2025, 5, 28),
        ba_notified_on=date(2025, 5, 30),
        ba_is_agent=False,
    )
    statement = StatementInput(
        form=StatementForm.WRITTEN,
        official_name="Det. Kim",
        agency="Springfield PD",
        stated_on=date(2025, 6, 3),
        delay_until=date(2025, 7, 15),
    )
    return demo.Plan(
        facts=facts,
        opener=responder,
        opened_at=opened,
        statements=(statement,),
        team=[(opened + timedelta(hours=2), legal, CaseRole.LEGAL)],
        moves=[
            (opened + timedelta(days=1), S.CONTAINMENT),
            (opened + timedelta(days=3), S.INVESTIGATION),
            (opened + timedelta(days=9), S.RISK_ASSESSMENT),
            (opened + timedelta(days=15), S.CLOSED_NOT_A_BREACH),
        ],
        assessment=(opened + timedelta(days=14), demo.LOW_RISK_ANSWERS, officer),
    )


def _through_services(session, plan: demo.Plan) -> int:
    """The plan's story told through the services, in time order."""
    incident = incidents.open_incident(
        session, actor=plan.opener, facts=plan.facts, now=plan.opened_at, statements=plan.statements
    )
    steps = [
        (
            at,
            lambda at=at, user=user, role=role: incidents.add_member(
                session,
                actor=plan.opener,
                incident_id=incident.id,
                user_id=user.id,
                case_role=role,
                now=at,
            ),
        )
        for at, user, role in plan.team
    ]
    at, answers, signer = plan.assessment
    steps.append(
        (
            at,
            lambda: assessment.save_assessment(
                session, actor=signer, incident_id=incident.id, answers=answers, sign=True, now=at
            ),
        )
    )
    steps += [
        (
            at,
            lambda at=at, status=status: incidents.transition(
                session, actor=plan.opener, incident_id=incident.id, to=status, now=at
            ),
        )
        for at, status in plan.moves
    ]
    for _, step in sorted(steps, key=lambda s: s[0]):
        step()
    return incident.id


def _details(event: AuditEvent) -> dict[str, object]:
    # obligations.sync lists removed obligations in the order the database returns the rows,
    # which the query does not fix: compare them as a set.
    details = {k: v for k, v in event.details.items() if k != "reference"}
    if "removed" in details:
        details["removed"] = sorted(details["removed"])
    return details


def _rows(session, incident_id: int) -> dict[str, object]:
    incident = session.get(Incident, incident_id)
    session.refresh(incident)
    ref = incident.reference

    def plain(text: str) -> str:
        return text.replace(ref, "BD-REF")

    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.seq)
    ).all()
    determination = session.scalar(
        sa.select(Determination).where(Determination.incident_id == incident_id)
    )
    return {
        "incident": {
            c.key: getattr(incident, c.key)
            for c in Incident.__table__.columns
            if c.key not in ("id", "reference")
        },
        "states": sorted(
            session.execute(
                sa.select(StateCount.source, StateCount.state, StateCount.residents).where(
                    StateCount.incident_id == incident_id
                )
            ).all()
        ),
        "members": sorted(
            session.execute(
                sa.select(
                    IncidentMember.user_id, IncidentMember.case_role, IncidentMember.added_at
                ).where(IncidentMember.incident_id == incident_id)
            )
        ),
        "tasks": sorted(
            session.execute(
                sa.select(Task.title, Task.due_on, Task.checklist_name).where(
                    Task.incident_id == incident_id
                )
            )
        ),
        "timeline": [
            (e.kind, plain(e.text), e.occurred_at, e.actor_id, e.details)
            for e in session.scalars(
                sa.select(TimelineEntry)
                .where(TimelineEntry.incident_id == incident_id)
                .order_by(TimelineEntry.id)
            )
        ],
        "audit": [(e.at, e.actor_id, e.action, e.subject_type, _details(e)) for e in events],
        "obligations": sorted(
            session.execute(
                sa.select(
                    Obligation.kind,
                    Obligation.jurisdiction,
                    Obligation.source_key,
                    Obligation.due_on,
                    Obligation.citation,
                    Obligation.reason,
                    Obligation.active,
                    Obligation.created_at,
                    Obligation.updated_at,
                ).where(Obligation.incident_id == incident_id)
            )
        ),
        "determination": (
            determination.reportable,
            determination.reason,
            determination.treated_discovery_on,
            determination.warnings,
            determination.computed_at,
        ),
    }


def test_a_seeded_story_has_exactly_the_rows_the_services_write(session, reference_data):
    plan = _story(session)

    demo.write_incidents(session, [plan])
    seeded = session.scalar(sa.select(Incident.id).order_by(Incident.id.desc()).limit(1))
    served = _through_services(session, plan)

    by_demo, by_services = _rows(session, seeded), _rows(session, served)
    assert by_demo["incident"]["status"] is S.CLOSED_NOT_A_BREACH
    assert len(by_demo["tasks"]) == 2
    assert len(by_demo["timeline"]) == 7  # statement, opened, member, four moves
    assert {a[2] for a in by_demo["audit"]} >= {"obligations.recomputed", "assessment.signed"}
    for part in by_services:
        assert by_demo[part] == by_services[part], part
    assert audit.verify(session).ok


def test_facts_the_intake_form_would_refuse_are_refused(session, reference_data):
    plan = _story(session)
    plan.facts = IncidentFacts(title="Future", discovered_on=date(2025, 6, 9))

    with pytest.raises(ValidationFailed, match="in the future"):
        demo.write_incidents(session, [plan])
    assert _count(session, Incident) == 0


def test_roster_sizes_split_the_total_in_proportion():
    assert demo.roster_sizes(1_000_000, [600, 300, 100]) == [600_000, 300_000, 100_000]
    assert demo.roster_sizes(10, [5, 3, 3]) == [6, 2, 2]  # the remainder goes to the first
    assert demo.roster_sizes(10, []) == []
