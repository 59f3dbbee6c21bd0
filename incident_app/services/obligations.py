"""Stored facts → rules engine → Obligation rows; and the read helpers the incident pages use.

`sync` is the only writer of computed obligations. It never commits: every service that
changes a fact calls it inside its own transaction, so a page can never show deadlines that
disagree with the facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import rules
from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import NotFound
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Conclusion
from incident_app.models.assessment import Determination as StoredDetermination
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import LawEnforcementStatement
from incident_app.models.incident import StatementForm
from incident_app.models.letter import NoticeSent
from incident_app.models.obligation import Obligation
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.incidents import access as incident_access

HIPAA_KINDS = frozenset(
    {
        "individual_notice",
        "hhs_notice",
        "hhs_annual_log",
        "media_notice",
        "substitute_notice",
        "ba_to_ce_notice",
    }
)

# The engine names fields of BreachFacts; forms name the stored incident/assessment fields.
FORM_FIELDS = {
    "discovered_on": "discovered_on",
    "affected_total": "affected_estimate",
    "residents_by_state": "state_counts",
    "insufficient_contact_count": "insufficient_contact_living",
    "business_associate.discovered_on": "ba_discovered_on",
    "business_associate.notified_covered_entity_on": "ba_notified_on",
    "business_associate.is_agent": "ba_is_agent",
    "law_enforcement_delay.statement": "form",
    "law_enforcement_delay.stated_on": "stated_on",
    "law_enforcement_delay.delay_until": "delay_until",
    "law_enforcement_delay.written_received_on": "written_received_on",
    "phi_secured": "safeguard",
    "exception": "exception",
    "low_probability_of_compromise": "conclusion",
}

NOT_PHI_REASON = (
    "Not a breach: the signed risk assessment documents that {what}, so the Breach "
    "Notification Rule (45 CFR 164.402) does not apply. No HIPAA notice is required."
)


def form_field(facts_field: str) -> str:
    """The form field for a BreachFacts field named in an InvalidFacts error."""
    base = facts_field.split("[", 1)[0]
    return FORM_FIELDS.get(base, base)


def signed_assessment(session: Session, incident_id: int) -> AssessmentVersion | None:
    """The latest signed assessment version, the one the rules engine reads."""
    return session.scalar(
        sa.select(AssessmentVersion)
        .where(
            AssessmentVersion.incident_id == incident_id,
            AssessmentVersion.signed_at.is_not(None),
        )
        .order_by(AssessmentVersion.number.desc())
        .limit(1)
    )


def residents_by_state(incident: Incident) -> dict[str, int]:
    """Per-state counts: roster counts replace the intake estimate once any exist."""
    rows = incident.state_counts
    source = (
        CountSource.ROSTER
        if any(r.source == CountSource.ROSTER for r in rows)
        else (CountSource.ESTIMATE)
    )
    return {row.state: row.residents for row in rows if row.source == source}


def governing_statement(
    statements: list[LawEnforcementStatement],
) -> LawEnforcementStatement | None:
    """The law-enforcement statement that governs the delay (164.412).

    A later statement from law enforcement replaces an earlier one (an extension, or a new
    request that shortens it), so the most recent statement governs; on the same day a written
    statement outranks an oral one. An oral statement later confirmed in writing is one
    statement (its ``written_received_on``), not two.
    """
    if not statements:
        return None
    return max(
        statements,
        key=lambda s: (s.stated_on, s.form == StatementForm.WRITTEN, s.delay_until or date.min),
    )


def build_facts(incident: Incident, assessment: AssessmentVersion | None) -> rules.BreachFacts:
    """The rules engine's facts for `incident`. Raises rules.InvalidFacts."""
    statement = governing_statement(list(incident.law_enforcement_statements))
    total = (
        incident.roster_total if incident.roster_total is not None else (incident.affected_estimate)
    )
    return rules.BreachFacts(
        discovered_on=incident.treated_known_on,
        affected_total=total,
        residents_by_state=residents_by_state(incident),
        phi_secured=bool(assessment and assessment.phi_secured),
        exception=assessment.exception if assessment else None,
        low_probability_of_compromise=bool(
            assessment and assessment.conclusion == Conclusion.LOW_PROBABILITY
        ),
        insufficient_contact_count=incident.insufficient_contact_living or 0,
        business_associate=_ba_facts(incident),
        law_enforcement_delay=_delay(statement) if statement else None,
    )


def _ba_facts(incident: Incident) -> rules.BusinessAssociateFacts | None:
    if not incident.ba_involved or incident.ba_discovered_on is None:
        return None
    return rules.BusinessAssociateFacts(
        discovered_on=incident.ba_discovered_on,
        is_agent=incident.ba_is_agent,
        notified_covered_entity_on=incident.ba_notified_on,
    )


def _delay(statement: LawEnforcementStatement) -> rules.LawEnforcementDelay:
    return rules.LawEnforcementDelay(
        statement=StatementForm(statement.form).value,
        stated_on=statement.stated_on,
        delay_until=statement.delay_until,
        written_received_on=statement.written_received_on,
    )


def evaluate_incident(
    incident: Incident, assessment: AssessmentVersion | None
) -> rules.Determination:
    """Run the engine on the stored facts. Raises ValidationFailed(field=form field)."""
    try:
        determination = rules.evaluate(build_facts(incident, assessment))
    except rules.InvalidFacts as error:
        raise ValidationFailed(
            f"The deadline rules cannot use these facts: {error}", field=form_field(error.field)
        ) from error
    if assessment is not None and assessment.not_phi_or_permitted:
        # The engine has no "not PHI / permitted" input: it only decides among breaches of
        # PHI. A signed finding that the Privacy Rule was not violated ends the analysis.
        what = assessment.answers.get("not_breach_basis") or "no breach of PHI occurred"
        return rules.Determination(
            False, NOT_PHI_REASON.format(what=what), determination.treated_discovery_on, (), ()
        )
    return determination


def sync(
    session: Session, *, incident: Incident, now: datetime, actor: User | None = None
) -> rules.Determination:
    """Recompute the determination and obligations of `incident` and store the difference.

    Changed obligations are updated, ones that no longer apply are marked inactive (never
    deleted) and come back active when they apply again. Due-date changes are audited
    (old → new). Flushes, never commits: call it inside the caller's transaction.
    Raises ValidationFailed (field = the form field) when the engine rejects the facts.
    """
    session.flush()
    session.refresh(incident, ["state_counts", "law_enforcement_statements"])
    assessment = signed_assessment(session, incident.id)
    determination = evaluate_incident(incident, assessment)
    changes = _store_obligations(session, incident, determination.obligations, now)
    _store_determination(session, incident, determination, assessment, now)
    if changes:
        audit.record(
            session,
            actor=actor,
            action="obligations.recomputed",
            at=now,
            subject_type="incident",
            subject_id=incident.id,
            incident_id=incident.id,
            details=changes,
        )
    session.flush()
    return determination


def _key(kind: str, jurisdiction: str, citation: str) -> tuple[str, str, str]:
    return (kind, jurisdiction, "" if kind in HIPAA_KINDS else citation)


def _label(key: tuple[str, str, str]) -> str:
    return " ".join(part for part in key if part)


def _store_obligations(
    session: Session,
    incident: Incident,
    computed: tuple[rules.Obligation, ...],
    now: datetime,
) -> dict[str, Any]:
    """Upsert the computed obligations; return the audit summary of what changed."""
    rows = session.scalars(sa.select(Obligation).where(Obligation.incident_id == incident.id))
    existing = {(r.kind, r.jurisdiction, r.source_key): r for r in rows}
    wanted = {_key(o.kind, o.jurisdiction, o.citation): o for o in computed}
    due_changes: dict[str, list[str | None]] = {}
    added, removed = [], []
    for key, item in wanted.items():
        row = existing.get(key)
        if row is None or not row.active:
            added.append(_label(key))
        elif row.due_on != item.due_on:
            due_changes[_label(key)] = [_iso(row.due_on), _iso(item.due_on)]
        if row is None:
            row = Obligation(
                incident_id=incident.id,
                kind=key[0],
                jurisdiction=key[1],
                source_key=key[2],
                created_at=now,
            )
            session.add(row)
        _copy(row, item, now)
    for key, row in existing.items():
        if key not in wanted and row.active:
            row.active, row.updated_at = False, now
            removed.append(_label(key))
    summary: dict[str, Any] = {}
    for name, value in (("due_dates", due_changes), ("added", added), ("removed", removed)):
        if value:
            summary[name] = value
    return summary


def _copy(row: Obligation, item: rules.Obligation, now: datetime) -> None:
    values = {
        "due_on": item.due_on,
        "citation": item.citation,
        "reason": item.reason,
        "detail": dict(item.detail),
        "active": True,
    }
    if any(getattr(row, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = now


def _store_determination(
    session: Session,
    incident: Incident,
    determination: rules.Determination,
    assessment: AssessmentVersion | None,
    now: datetime,
) -> StoredDetermination:
    row = stored_determination(session, incident.id)
    if row is None:
        row = StoredDetermination(incident_id=incident.id)
        session.add(row)
    row.reportable = determination.reportable
    row.reason = determination.reason
    row.treated_discovery_on = determination.treated_discovery_on
    row.warnings = list(determination.warnings)
    row.assessment_version_id = assessment.id if assessment else None
    row.computed_at = now
    return row


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# ---------------------------------------------------------------- read helpers for pages


def stored_determination(session: Session, incident_id: int) -> StoredDetermination | None:
    return session.scalar(
        sa.select(StoredDetermination).where(StoredDetermination.incident_id == incident_id)
    )


@dataclass(frozen=True)
class ObligationView:
    """An obligation as a page shows it, with days left counted from `today`."""

    row: Obligation
    due_on: date | None  # the effective date: the override when there is one
    days_left: int | None  # negative: overdue by that many days

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def is_state(self) -> bool:
        return self.row.kind not in HIPAA_KINDS


def obligations_of(
    session: Session, *, incident_id: int, today: date, include_inactive: bool = False
) -> list[ObligationView]:
    """The incident's obligations, soonest first (undated last).

    `today` is the date in the organisation's time zone (clock.today_in(org.timezone)).
    Access is the caller's business: call it after incident_access.get_visible.
    """
    query = sa.select(Obligation).where(Obligation.incident_id == incident_id)
    if not include_inactive:
        query = query.where(Obligation.active.is_(True))
    views = []
    for row in session.scalars(query):
        due = row.effective_due_on
        views.append(ObligationView(row, due, None if due is None else (due - today).days))
    return sorted(
        views,
        key=lambda v: (v.due_on is None, v.due_on or date.max, v.is_state, v.row.jurisdiction),
    )


# ---------------------------------------------------------------- privacy-officer overrides


def override_due_date(
    session: Session,
    *,
    actor: User,
    obligation_id: int,
    due_on: date | None,
    reason: str,
    now: datetime,
    incident_id: int | None = None,
) -> Obligation:
    """Record (or with due_on=None, clear) a privacy officer's due date beside the computed
    one. Both are kept; the change is audited. Raises NotFound/NotAllowed/ValidationFailed.
    `incident_id` (from the URL) must own the obligation. Commits once."""
    require(actor, Capability.SIGN_DETERMINATIONS)
    row = session.get(Obligation, obligation_id)
    if row is None or (incident_id is not None and row.incident_id != incident_id):
        raise NotFound("No such obligation.")
    incident_access.get_visible(session, actor=actor, incident_id=row.incident_id)
    reason = _override_reason(reason)
    old = row.override_due_on
    row.override_due_on, row.override_reason = due_on, reason
    row.override_by_id, row.override_at = actor.id, now
    audit.record(
        session,
        actor=actor,
        action="obligation.due_date_overridden",
        at=now,
        subject_type="obligation",
        subject_id=row.id,
        incident_id=row.incident_id,
        details={
            "obligation": f"{row.kind} {row.jurisdiction}",
            "computed": _iso(row.due_on),
            "override": [_iso(old), _iso(due_on)],
            "reason": reason,
        },
    )
    session.commit()
    return row


def override_determination(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    reportable: bool | None,
    reason: str,
    now: datetime,
) -> StoredDetermination:
    """Record (or with reportable=None, clear) a privacy officer's override of the computed
    determination. The computed value stays and is shown beside it; audited. Commits once."""
    require(actor, Capability.SIGN_DETERMINATIONS)
    incident = incident_access.get_visible(session, actor=actor, incident_id=incident_id)
    reason = _override_reason(reason)
    row = stored_determination(session, incident.id)
    if row is None:
        sync(session, incident=incident, now=now, actor=actor)
        row = stored_determination(session, incident.id)
        assert row is not None  # sync just stored it
    old = row.override_reportable
    row.override_reportable, row.override_reason = reportable, reason
    row.override_by_id, row.override_at = actor.id, now
    audit.record(
        session,
        actor=actor,
        action="determination.overridden",
        at=now,
        subject_type="incident",
        subject_id=incident.id,
        incident_id=incident.id,
        details={
            "computed_reportable": row.reportable,
            "override": [old, reportable],
            "reason": reason,
        },
    )
    session.commit()
    return row


def _override_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Give the reason for the override; it is kept with it.", field="reason"
        )
    if len(reason) > 5000:
        raise ValidationFailed("Keep the reason under 5,000 characters.", field="reason")
    return reason


# ---------------------------------------------------------------- page data and small use cases


@dataclass(frozen=True)
class DeterminationPage:
    """What the incident's Deadlines tab shows. `preview` is True when no determination has
    been recorded yet and the one shown was computed without storing it."""

    incident: Incident
    determination: StoredDetermination | rules.Determination
    obligations: list[ObligationView]
    preview: bool = False
    error: ValidationFailed | None = None


def determination_page(
    session: Session, *, actor: User, incident_id: int, today: date
) -> DeterminationPage:
    """The stored determination and obligations (NotFound for non-members). Writes nothing."""
    incident = incident_access.get_visible(session, actor=actor, incident_id=incident_id)
    stored = stored_determination(session, incident.id)
    if stored is not None:
        views = obligations_of(session, incident_id=incident.id, today=today)
        return DeterminationPage(incident, stored, views)
    try:
        computed = evaluate_incident(incident, signed_assessment(session, incident.id))
    except ValidationFailed as error:
        empty = rules.Determination(True, "The facts cannot be evaluated yet.", None)
        return DeterminationPage(incident, empty, [], preview=True, error=error)
    return DeterminationPage(incident, computed, [], preview=True)


def recompute(session: Session, *, actor: User, incident_id: int, now: datetime) -> None:
    """Run sync for an incident from the page (e.g. one recorded before this feature).
    Raises ValidationFailed when the engine rejects the facts. Commits once."""
    incident = incident_access.get_workable(session, actor=actor, incident_id=incident_id)
    sync(session, incident=incident, now=now, actor=actor)
    session.commit()


def update_discovery(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    discovered_on: date,
    diligence_known_on: date | None,
    now: datetime,
) -> rules.Determination:
    """Change the discovery dates (164.404(a)(2)) and move every deadline with them.

    Audits the change (old → new) and re-syncs in the same transaction; nothing is written if
    the engine rejects the new facts. Commits once.
    """
    incident = incident_access.get_workable(session, actor=actor, incident_id=incident_id)
    new = {"discovered_on": discovered_on, "diligence_known_on": diligence_known_on}
    changes = {
        name: [_iso(getattr(incident, name)), _iso(value)]
        for name, value in new.items()
        if getattr(incident, name) != value
    }
    for name, value in new.items():
        setattr(incident, name, value)
    incident.updated_at = now
    if changes:
        audit.record(
            session,
            actor=actor,
            action="incident.facts_changed",
            at=now,
            subject_type="incident",
            subject_id=incident.id,
            incident_id=incident.id,
            details=changes,
        )
    try:
        determination = sync(session, incident=incident, now=now, actor=actor)
    except ValidationFailed:
        session.rollback()
        raise
    session.commit()
    return determination


# The what-if calculator names its fields after BreachFacts, with prefixes for the nested ones.
CALCULATOR_FIELDS = {
    "residents_by_state": "residents",
    "business_associate.discovered_on": "ba_discovered_on",
    "business_associate.notified_covered_entity_on": "ba_notified_on",
    "business_associate.is_agent": "ba_is_agent",
    "law_enforcement_delay.statement": "le_statement",
    "law_enforcement_delay.stated_on": "le_stated_on",
    "law_enforcement_delay.delay_until": "le_delay_until",
    "law_enforcement_delay.written_received_on": "le_written_received_on",
}


def what_if(*, actor: User, facts: dict[str, Any]) -> rules.Determination:
    """Evaluate hypothetical facts with the real engine; nothing is stored.

    `facts` holds BreachFacts keyword arguments, with `business_associate` and
    `law_enforcement_delay` given as dicts of their own fields (or None).
    Raises NotAllowed, or ValidationFailed naming the calculator's field.
    """
    require(actor, Capability.USE_CALCULATOR)
    values = dict(facts)
    try:
        if values.get("business_associate"):
            values["business_associate"] = rules.BusinessAssociateFacts(
                **values["business_associate"]
            )
        if values.get("law_enforcement_delay"):
            values["law_enforcement_delay"] = rules.LawEnforcementDelay(
                **values["law_enforcement_delay"]
            )
        return rules.evaluate(rules.BreachFacts(**values))
    except rules.InvalidFacts as error:
        field = CALCULATOR_FIELDS.get(error.field.split("[", 1)[0], error.field.split("[")[0])
        raise ValidationFailed(str(error), field=field) from error


def outstanding() -> sa.ColumnElement[bool]:
    """An active obligation whose notice is not yet recorded as sent: what still has a
    deadline to meet (lists, dashboard, reminders and the calendar all use this)."""
    return sa.and_(
        Obligation.active.is_(True), ~sa.exists().where(NoticeSent.obligation_id == Obligation.id)
    )
