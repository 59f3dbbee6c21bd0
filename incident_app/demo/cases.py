"""One incident's rows, step by step, as the services write them: `Case` replays a Plan's
opening, team, assessment and moves into the Writer's buffers, and re-syncs the obligations
after each fact change with the services' own evaluation and the shared obligations diff
(services.obligations.diff), so the seeded rows are the ones `obligations.sync` would hold.
"""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import fields
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from incident_app.demo.planning import Plan
from incident_app.demo.writing import Writer
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Determination
from incident_app.models.incident import CaseRole
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentMember
from incident_app.models.incident import IncidentStatus
from incident_app.models.incident import LawEnforcementStatement
from incident_app.models.incident import StateCount
from incident_app.models.obligation import Obligation
from incident_app.models.task import Task
from incident_app.models.timeline import EntryKind
from incident_app.models.user import User
from incident_app.services.assessment import questionnaire
from incident_app.services.incidents.facts import IncidentFacts
from incident_app.services.incidents.facts import validate_facts
from incident_app.services.incidents.statements import StatementInput
from incident_app.services.incidents.statements import validate_statement
from incident_app.services.obligations import diff as obligation_diff
from incident_app.services.obligations import evaluation as obligation_evaluation
from incident_app.services.obligations.diff import DeterminationColumns
from incident_app.services.obligations.diff import ObligationColumns
from incident_app.services.obligations.diff import ObligationKey

S = IncidentStatus
# An active checklist template: its name, the breach types it applies to, (title, due days).
Checklist = tuple[str, set[str], list[tuple[str, int | None]]]


@dataclass
class SeededObligation:
    """An Obligation row to insert, as `obligations.sync` would hold it."""

    kind: str
    jurisdiction: str
    source_key: str
    due_on: date | None
    due_at: datetime | None
    citation: str
    reason: str
    detail: dict[str, Any]
    active: bool
    created_at: datetime
    updated_at: datetime


class Case:
    """One incident's rows, step by step, as the services write them."""

    def __init__(
        self,
        plan: Plan,
        *,
        reference: str,
        writer: Writer,
        zone: ZoneInfo,
        checklists: list[Checklist],
    ) -> None:
        self.plan, self.reference, self.w = plan, reference, writer
        self.zone, self.checklists = zone, checklists
        self.lead = plan.opener
        self.status = S.REPORTED
        self.updated_at = plan.opened_at
        self.closed_at: datetime | None = None
        self.version: AssessmentVersion | None = None
        self.obligations: dict[ObligationKey, SeededObligation] = {}
        self.determination: DeterminationColumns | None = None
        self.incident = self._transient()

    def _transient(self) -> Incident:
        """An unsaved Incident holding the facts, for the rules engine."""
        facts = self.plan.facts
        incident = Incident(**self._columns(), roster_total=None, insufficient_contact_living=None)
        incident.state_counts = [
            StateCount(source=CountSource.ESTIMATE, state=state, residents=residents)
            for state, residents in sorted(facts.state_estimates.items())
        ]
        incident.law_enforcement_statements = [
            LawEnforcementStatement(**_statement_columns(s)) for s in self.plan.statements
        ]
        return incident

    def _columns(self) -> dict[str, Any]:
        facts = self.plan.facts
        return {
            f.name: list(getattr(facts, f.name))
            if isinstance(getattr(facts, f.name), tuple)
            else getattr(facts, f.name)
            for f in fields(IncidentFacts)
            if f.name != "state_estimates"
        }

    def open(self) -> None:
        """incidents.open_incident: facts, estimates, statements, lead, tasks, timeline, audit,
        obligations."""
        plan, at, lead = self.plan, self.plan.opened_at, self.lead
        today = at.astimezone(self.zone).date()
        validate_facts(plan.facts, today=today, zone=self.zone)
        for statement in plan.statements:
            validate_statement(statement, today=today)
        self.id = self.w.next_id[Incident]
        self.w.add(
            Incident,
            **self._columns(),
            reference=self.reference,
            status=S.REPORTED,
            created_by_id=lead.id,
            created_at=at,
            updated_at=at,
            closed_at=None,
            roster_total=None,
            insufficient_contact_living=None,
        )
        self.row = self.w.rows[Incident][-1]
        for row in self.incident.state_counts:
            self.w.add(
                StateCount,
                incident_id=self.id,
                source=row.source,
                state=row.state,
                residents=row.residents,
            )
        for statement in plan.statements:
            self._add_statement(statement, at)
        self.w.add(
            IncidentMember,
            incident_id=self.id,
            user_id=lead.id,
            case_role=CaseRole.LEAD,
            added_at=at,
            added_by_id=lead.id,
        )
        seeded = self._seed_tasks(at, today)
        self.w.timeline(
            self.id,
            EntryKind.STATUS,
            at,
            lead,
            f"Incident {self.reference} opened ({S.REPORTED.label}); "
            f"{seeded} task(s) from checklists.",
        )
        self.w.audit(
            at,
            lead,
            "incident.opened",
            subject_type="incident",
            subject_id=self.id,
            incident_id=self.id,
            details={"reference": self.reference, "title": plan.facts.title, "exercise": False},
        )
        self._sync(at, lead)

    def _add_statement(self, statement: StatementInput, at: datetime) -> None:
        self.w.add(
            LawEnforcementStatement,
            incident_id=self.id,
            created_by_id=self.lead.id,
            created_at=at,
            **_statement_columns(statement),
        )
        self.w.timeline(
            self.id,
            EntryKind.FACT,
            at,
            self.lead,
            f"Law-enforcement statement recorded: {statement.form.value} statement by "
            f"{statement.official_name} ({statement.agency}) on {statement.stated_on}"
            + (f", delay until {statement.delay_until}" if statement.delay_until else "")
            + ".",
        )

    def _seed_tasks(self, at: datetime, today: date) -> int:
        """tasks.seed_from_checklists: the active templates for the incident's breach types."""
        seeded = 0
        for name, breach_types, items in self.checklists:
            if not breach_types & set(self.plan.facts.breach_types):
                continue
            for title, due_days in items:
                self.w.add(
                    Task,
                    incident_id=self.id,
                    title=title,
                    assignee_id=None,
                    due_on=None if due_days is None else today + timedelta(days=due_days),
                    checklist_name=name,
                    created_by_id=self.lead.id,
                    created_at=at,
                    completed_at=None,
                )
                seeded += 1
        return seeded

    def add_member(self, at: datetime, user: User, role: CaseRole) -> None:
        """incidents.add_member, by the case lead."""
        member_id = self.w.add(
            IncidentMember,
            incident_id=self.id,
            user_id=user.id,
            case_role=role,
            added_at=at,
            added_by_id=self.lead.id,
        )
        self.w.timeline(
            self.id,
            EntryKind.TEAM,
            at,
            self.lead,
            f"{user.name} joined the team as {role.label.lower()}.",
        )
        self.w.audit(
            at,
            self.lead,
            "incident.member_added",
            subject_type="incident_member",
            subject_id=member_id,
            incident_id=self.id,
            details={"user": user.email, "case_role": role.value},
        )

    def assess(self) -> None:
        """assessment.save_assessment (signed by a privacy officer, or a draft by the lead)."""
        at, answers, signer = self.plan.assessment  # type: ignore[misc]
        actor = signer or self.lead
        cleaned = questionnaire.clean_answers(answers)
        result = questionnaire.outcome(cleaned, actor=actor)
        version = AssessmentVersion(
            incident_id=self.id,
            number=1,
            answers=cleaned,
            changes={k: [None, v] for k, v in cleaned.items() if v not in ("", False, [], None)},
            not_phi_or_permitted=result.not_phi_or_permitted,
            phi_secured=result.phi_secured,
            exception=result.exception,
            conclusion=result.conclusion,
            rationale=cleaned["rationale"],
            created_by_id=actor.id,
            created_at=at,
            signed_by_id=signer.id if signer else None,
            signed_at=at if signer else None,
        )
        version.id = self.w.add(
            AssessmentVersion,
            **{
                c.key: getattr(version, c.key)
                for c in AssessmentVersion.__table__.columns
                if c.key != "id"
            },
        )
        self.w.audit(
            at,
            actor,
            "assessment.saved",
            subject_type="assessment_version",
            subject_id=version.id,
            incident_id=self.id,
            details={"version": 1, "changed": sorted(version.changes)},
        )
        if signer is None:
            return
        self.version = version
        self.w.audit(
            at,
            signer,
            "assessment.signed",
            subject_type="assessment_version",
            subject_id=version.id,
            incident_id=self.id,
            details={
                "version": 1,
                "conclusion": version.conclusion.value,
                "phi_secured": version.phi_secured,
                "exception": version.exception,
            },
        )
        self._sync(at, signer)

    def move(self, at: datetime, to: IncidentStatus) -> None:
        """incidents.transition, by the case lead."""
        current = self.status
        details: dict[str, Any] = {"from": current.value, "to": to.value}
        if to is S.CLOSED_NOT_A_BREACH:
            details["basis"] = self._closure_basis()
        self.status, self.updated_at = to, at
        self.closed_at = at if to.is_closed else None
        self.w.timeline(
            self.id,
            EntryKind.STATUS,
            at,
            self.lead,
            f"Status moved: {current.label} → {to.label}.",
            details,
        )
        self.w.audit(
            at,
            self.lead,
            "incident.status_changed",
            subject_type="incident",
            subject_id=self.id,
            incident_id=self.id,
            details=details,
        )

    def _closure_basis(self) -> str:
        # assessment.closure_basis for the low-probability version the plan signs.
        version = self.version
        assert version is not None and version.signed_at is not None  # planned before closing
        return (
            "Low probability of compromise, four-factor assessment (164.402(2)) "
            f"(assessment version {version.number}, signed "
            f"{version.signed_at.astimezone(UTC):%Y-%m-%d})."
        )

    def _sync(self, at: datetime, actor: User) -> None:
        """obligations.sync: the engine's result, stored as the difference (audited), with
        the same diff and the same rules for applying it."""
        determination = obligation_evaluation.evaluate_incident(self.incident, self.version)
        changes = obligation_diff.diff(self.obligations.values(), determination.obligations)

        def create(key: ObligationKey, columns: ObligationColumns) -> SeededObligation:
            return SeededObligation(*key, **columns, created_at=at, updated_at=at)

        obligation_diff.apply(changes, self.obligations, create=create, now=at)
        self.determination = obligation_diff.determination_columns(
            determination,
            assessment_version_id=self.version.id if self.version else None,
            now=at,
        )
        if changes.details:
            self.w.audit(
                at,
                actor,
                "obligations.recomputed",
                subject_type="incident",
                subject_id=self.id,
                incident_id=self.id,
                details=changes.details,
            )

    def finish(self) -> None:
        """Store the end state: the incident's status, its obligations and determination."""
        self.row.update(status=self.status, updated_at=self.updated_at, closed_at=self.closed_at)
        for row in self.obligations.values():
            self.w.add(
                Obligation,
                incident_id=self.id,
                override_due_on=None,
                override_reason="",
                override_by_id=None,
                override_at=None,
                **asdict(row),
            )
        assert self.determination is not None  # open() synced
        self.w.add(
            Determination,
            incident_id=self.id,
            override_reportable=None,
            override_reason="",
            override_by_id=None,
            override_at=None,
            **self.determination,
        )


def _statement_columns(statement: StatementInput) -> dict[str, Any]:
    return {
        "form": statement.form,
        "official_name": statement.official_name,
        "agency": statement.agency,
        "contact": statement.contact,
        "stated_on": statement.stated_on,
        "delay_until": statement.delay_until,
        "written_received_on": statement.written_received_on,
        "notes": statement.notes,
    }
