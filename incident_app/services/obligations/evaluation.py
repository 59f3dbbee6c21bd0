"""Stored facts → the rules engine's facts → a determination; and the what-if calculator.

The only place that turns an incident's stored facts (intake, roster counts, statements, the
signed assessment) into `rules.BreachFacts`: `sync` stores what it returns, the incident pages
preview it, and the demo seeder computes its history with it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import rules
from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import ValidationFailed
from incident_app.models.assessment import AssessmentVersion
from incident_app.models.assessment import Conclusion
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.incident import LawEnforcementStatement
from incident_app.models.incident import StatementForm
from incident_app.models.user import User
from incident_app.services.obligations.recorded import DEFAULT_ORGANISATION
from incident_app.services.obligations.recorded import OrganisationFacts
from incident_app.services.obligations.recorded import client_facts
from incident_app.services.obligations.recorded import notices_sent
from incident_app.services.obligations.recorded import organisation_facts

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
    # The only facts-level conflict with the role: business-associate facts under an FTC role.
    "entity_role": "ba_involved",
    "part2_records": "part2_records",
    "licensed_facility_states": "licensed_facility_states",
    "gdpr.aware_at": "gdpr_aware_at",
    "gdpr.data_subjects": "eu_data_subjects",
    "gdpr.high_risk": "gdpr_high_risk",
    "gdpr.controller": "gdpr_controller",
    "materiality_determined_on": "materiality_determined_on",
}
# A recorded notice dated before the discovery: the caller (recording a notice or a filing, or
# changing the discovery date) puts the message on its own field.
NOTICE_FIELD = "notices_sent"
BEFORE_DISCOVERY = re.compile(r"(\S+) is before the breach was discovered \((\S+)\)")
NOTICE_NAMES = {
    "notices_sent.individuals_on": "notice to individuals",
    "notices_sent.hhs_on": "notice to the Secretary of HHS",
    "notices_sent.media_on": "media notice",
}

NOT_PHI_REASON = (
    "Not a breach: the signed risk assessment documents that {what}, so the Breach "
    "Notification Rule (45 CFR 164.402) does not apply. No HIPAA notice is required."
)


def form_field(facts_field: str) -> str:
    """The form field for a BreachFacts field named in an InvalidFacts error."""
    base = facts_field.split("[", 1)[0]
    if base in NOTICE_NAMES:
        return NOTICE_FIELD
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


def build_facts(
    incident: Incident,
    assessment: AssessmentVersion | None,
    *,
    organisation: OrganisationFacts = DEFAULT_ORGANISATION,
    notices: rules.NoticesSent | None = None,
) -> rules.BreachFacts:
    """The rules engine's facts for `incident`, with the organisation's role and the notices
    recorded as sent. Raises rules.InvalidFacts."""
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
        entity_role=organisation.entity_role,
        part2_records=bool(incident.part2_records),
        licensed_facility_states=frozenset(incident.licensed_facility_states or ()),
        notices_sent=notices,
        gdpr=_gdpr_facts(incident),
        materiality_determined_on=(
            incident.materiality_determined_on if organisation.public_company else None
        ),
    )


def _gdpr_facts(incident: Incident) -> rules.GdprFacts | None:
    # Without an awareness moment there is no 72-hour clock to compute; fact_warnings says so.
    if not incident.eu_data_subjects or incident.gdpr_aware_at is None:
        return None
    return rules.GdprFacts(
        aware_at=incident.gdpr_aware_at,  # UTCDateTime: always aware, in UTC
        data_subjects=incident.eu_data_subjects,
        high_risk=incident.gdpr_high_risk,
        controller=bool(incident.gdpr_controller),
    )


def fact_warnings(incident: Incident, organisation: OrganisationFacts) -> list[str]:
    """Recorded facts the engine cannot use yet, said out loud instead of dropped."""
    warnings = []
    if incident.eu_data_subjects and incident.gdpr_aware_at is None:
        warnings.append(
            f"{incident.eu_data_subjects} EU/EEA data subject(s) are recorded but not the moment "
            "the organisation became aware of the breach: the GDPR Art. 33(1) 72-hour notice to "
            "the supervisory authority cannot be computed. Record the awareness time on the "
            "Facts page; every hour counts."
        )
    if incident.materiality_determined_on is not None and not organisation.public_company:
        warnings.append(
            f"A materiality determination ({incident.materiality_determined_on}) is recorded, "
            "but the organisation is not marked as a public company in the settings, so SEC "
            "Form 8-K Item 1.05 is not applied."
        )
    return warnings


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
    incident: Incident,
    assessment: AssessmentVersion | None,
    *,
    organisation: OrganisationFacts = DEFAULT_ORGANISATION,
    notices: rules.NoticesSent | None = None,
    clients: Sequence[rules.ClientFacts] = (),
) -> rules.Determination:
    """Run the engine on the stored facts; `clients` are the covered-entity clients the
    incident names (business-associate mode). Raises ValidationFailed(field=form field)."""
    try:
        facts = build_facts(incident, assessment, organisation=organisation, notices=notices)
        determination = rules.evaluate(facts, clients)
    except rules.InvalidFacts as error:
        raise _rejected(error) from error
    if assessment is not None and assessment.not_phi_or_permitted:
        # The engine has no "not PHI / permitted" input: it only decides among breaches of
        # PHI. A signed finding that the Privacy Rule was not violated ends the analysis.
        what = assessment.answers.get("not_breach_basis") or "no breach of PHI occurred"
        return rules.Determination(
            False, NOT_PHI_REASON.format(what=what), determination.treated_discovery_on, (), ()
        )
    warnings = fact_warnings(incident, organisation)
    if not warnings:
        return determination
    return dataclasses.replace(determination, warnings=(*determination.warnings, *warnings))


def evaluate_stored(
    session: Session, incident: Incident, assessment: AssessmentVersion | None
) -> rules.Determination:
    """`evaluate_incident` with what is recorded beside the incident: the organisation's role
    and public-company flag, and the notices recorded as sent. Raises ValidationFailed."""
    organisation = organisation_facts(session)
    notices = notices_sent(session, incident.id, entity_role=organisation.entity_role)
    return evaluate_incident(
        incident,
        assessment,
        organisation=organisation,
        notices=notices,
        clients=client_facts(session, incident.id),
    )


def _rejected(error: rules.InvalidFacts) -> ValidationFailed:
    field = form_field(error.field)
    name = NOTICE_NAMES.get(error.field)
    dates = BEFORE_DISCOVERY.search(str(error))
    if name is not None and dates is not None:
        return ValidationFailed(
            f"The {name} is recorded as sent on {dates[1]}, before the breach was discovered "
            f"({dates[2]}). A notice cannot precede the discovery: correct the discovery date "
            "or the date recorded for the notice.",
            field=field,
        )
    return ValidationFailed(f"The deadline rules cannot use these facts: {error}", field=field)


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
    "notices_sent.individuals_on": "individuals_sent_on",
    "notices_sent.hhs_on": "hhs_sent_on",
    "notices_sent.media_on": "media_sent_on",
    "gdpr.aware_at": "gdpr_aware_at",
    "gdpr.data_subjects": "gdpr_data_subjects",
    "gdpr.high_risk": "gdpr_high_risk",
    "gdpr.controller": "gdpr_controller",
}
# The nested facts the calculator sends as dicts of their own fields.
CALCULATOR_NESTED: dict[str, Callable[..., object]] = {
    "business_associate": rules.BusinessAssociateFacts,
    "law_enforcement_delay": rules.LawEnforcementDelay,
    "notices_sent": rules.NoticesSent,
    "gdpr": rules.GdprFacts,
}


def what_if(*, actor: User, facts: dict[str, Any]) -> rules.Determination:
    """Evaluate hypothetical facts with the real engine; nothing is stored.

    `facts` holds BreachFacts keyword arguments, with `business_associate`,
    `law_enforcement_delay`, `notices_sent` and `gdpr` given as dicts of their own fields (or
    None) and `licensed_facility_states` as any collection of USPS codes.
    Raises NotAllowed, or ValidationFailed naming the calculator's field.
    """
    require(actor, Capability.USE_CALCULATOR)
    values = dict(facts)
    if "licensed_facility_states" in values:
        values["licensed_facility_states"] = frozenset(values["licensed_facility_states"])
    try:
        for name, build in CALCULATOR_NESTED.items():
            if values.get(name):
                values[name] = build(**values[name])
        return rules.evaluate(rules.BreachFacts(**values))
    except rules.InvalidFacts as error:
        field = CALCULATOR_FIELDS.get(error.field.split("[", 1)[0], error.field.split("[")[0])
        raise ValidationFailed(str(error), field=field) from error
    except OverflowError as error:
        # A date near 9999-12-31 puts a deadline past the last date Python can hold.
        latest = _latest_date_field(facts)
        raise ValidationFailed(
            f"{latest}: a deadline counted from this date would fall after the year 9999; "
            "check the date.",
            field=CALCULATOR_FIELDS.get(latest, latest),
        ) from error


def _latest_date_field(facts: Mapping[str, object], prefix: str = "") -> str:
    """The (dotted) name of the field holding the latest date or time among `facts`."""
    found: list[tuple[date, str]] = []
    for name, value in facts.items():
        if isinstance(value, Mapping):
            nested = _latest_date_field(value, f"{prefix}{name}.")
            found.append((_date_at(value, nested.rsplit(".", 1)[-1]), nested))
        elif isinstance(value, date):
            found.append((_day(value), prefix + name))
    return max(found)[1] if found else prefix + "discovered_on"


def _date_at(facts: Mapping[str, object], name: str) -> date:
    value = facts.get(name)
    return _day(value) if isinstance(value, date) else date.min


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value
