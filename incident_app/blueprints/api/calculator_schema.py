"""The body of POST /api/v1/calculator: the rules engine's BreachFacts, field for field, in
the same Field descriptions schemas.py uses to check requests and write the OpenAPI document.
"""

from __future__ import annotations

from incident_app.blueprints.api.schemas import Field
from incident_app.rules.facts import ENTITY_ROLES
from incident_app.rules.facts import EXCEPTIONS
from incident_app.rules.facts import STATE_CODES
from incident_app.rules.facts import STATEMENT_KINDS


def calculator_body() -> tuple[Field, ...]:
    """POST /calculator: the rules engine's BreachFacts, field for field."""
    business_associate = (
        Field(
            "discovered_on",
            "date",
            "When the business associate discovered the breach.",
            required=True,
        ),
        Field(
            "is_agent",
            "boolean",
            "Acts as the covered entity's agent (null: undetermined).",
            nullable=True,
        ),
        Field(
            "notified_covered_entity_on",
            "date",
            "When it notified the covered entity.",
            nullable=True,
        ),
    )
    law_enforcement = (
        Field(
            "statement",
            "choice",
            "Written or oral statement (164.412).",
            required=True,
            choices=STATEMENT_KINDS,
        ),
        Field("stated_on", "date", "When the statement was made.", required=True),
        Field(
            "delay_until", "date", "End of the period a written statement specifies.", nullable=True
        ),
        Field(
            "written_received_on",
            "date",
            "A written statement that followed an oral one.",
            nullable=True,
        ),
    )
    return (
        *_hipaa_fields(business_associate, law_enforcement),
        *_regime_fields(),
    )


def _hipaa_fields(
    business_associate: tuple[Field, ...], law_enforcement: tuple[Field, ...]
) -> tuple[Field, ...]:
    return (
        Field(
            "discovered_on",
            "date",
            "Discovery date; null only when a business associate discovered the breach.",
            required=True,
            nullable=True,
        ),
        Field("affected_total", "integer", "Individuals affected.", required=True),
        Field("residents_by_state", "counts", "Affected residents per USPS state code."),
        Field("phi_secured", "boolean", "The PHI was secured (encrypted or destroyed)."),
        Field(
            "exception",
            "choice",
            "A statutory exception (164.402(1)).",
            nullable=True,
            choices=tuple(EXCEPTIONS),
        ),
        Field(
            "low_probability_of_compromise",
            "boolean",
            "The risk assessment concluded a low probability of compromise.",
        ),
        Field(
            "insufficient_contact_count",
            "integer",
            "Living individuals with insufficient or out-of-date contact information.",
        ),
        Field(
            "business_associate",
            "object",
            "Set when a business associate discovered it.",
            nullable=True,
            fields=business_associate,
        ),
        Field(
            "law_enforcement_delay",
            "object",
            "A law-enforcement delay statement.",
            nullable=True,
            fields=law_enforcement,
        ),
    )


def _regime_fields() -> tuple[Field, ...]:
    """Issue #17's facts: the entity's role, Part 2, licensed facilities, notices already
    sent, GDPR and the SEC materiality date."""
    notices = tuple(
        Field(name, "date", f"Date the notice to {whom} was sent.", nullable=True)
        for name, whom in (
            ("individuals_on", "individuals"),
            ("hhs_on", "HHS"),
            ("media_on", "the media"),
        )
    )
    gdpr = (
        Field(
            "aware_at",
            "date-time",
            "When the controller (or processor) became aware, ISO 8601 with Z or an offset; "
            "the 72 hours of Art. 33(1) run from it.",
            required=True,
        ),
        Field(
            "data_subjects", "integer", "EU/EEA data subjects affected (at least 1).", required=True
        ),
        Field(
            "high_risk",
            "boolean",
            "Likely to result in a high risk (Art. 34); null: not yet assessed.",
            nullable=True,
        ),
        Field("controller", "boolean", "True for the controller (default), false for a processor."),
    )
    return (
        Field(
            "entity_role",
            "choice",
            "covered_entity (default) or business_associate (HIPAA); phr_vendor, "
            "phr_related_entity or third_party_service_provider (FTC rule, 16 CFR 318).",
            choices=ENTITY_ROLES,
        ),
        Field("part2_records", "boolean", "42 CFR Part 2 records are involved (42 CFR 2.16)."),
        Field(
            "licensed_facility_states",
            "choices",
            "USPS codes where the entity is a licensed health facility (CA: H&S Code 1280.15).",
            choices=tuple(sorted(STATE_CODES)),
        ),
        Field(
            "notices_sent",
            "object",
            "Notices already sent: state clocks tied to them are recomputed from these dates.",
            nullable=True,
            fields=notices,
        ),
        Field("gdpr", "object", "EU/EEA data subjects are affected.", nullable=True, fields=gdpr),
        Field(
            "materiality_determined_on",
            "date",
            "Public company: date the incident was determined material (SEC Form 8-K Item 1.05).",
            nullable=True,
        ),
    )
