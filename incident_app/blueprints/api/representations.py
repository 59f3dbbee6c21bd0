"""How the API shows things: plain JSON values (ISO 8601 dates, enum values as strings).

openapi.py describes exactly these shapes; the schemathesis test checks that they agree.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from incident_app import rules
from incident_app.models.incident import CountSource
from incident_app.models.incident import Incident
from incident_app.models.timeline import TimelineEntry
from incident_app.services.incidents.listing import Page
from incident_app.services.obligations import kinds as obligation_kinds
from incident_app.services.obligations.reading import DeterminationPage
from incident_app.services.obligations.reading import ObligationView


def affected_count(incident: Incident) -> int:
    """The roster's count once one is imported, else the intake estimate (as the rules use)."""
    return (
        incident.roster_total if incident.roster_total is not None else incident.affected_estimate
    )


def iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def incident_summary(incident: Incident, next_due: date | None = None) -> dict[str, Any]:
    return {
        "id": incident.id,
        "reference": incident.reference,
        "title": incident.title,
        "status": incident.status.value,
        "exercise": incident.exercise,
        "discovered_on": iso(incident.discovered_on),
        "affected_count": affected_count(incident),
        "next_due_on": iso(next_due),
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
    }


def incident_detail(incident: Incident) -> dict[str, Any]:
    estimates = {
        c.state: c.residents for c in incident.state_counts if c.source == CountSource.ESTIMATE
    }
    return {
        **incident_summary(incident),
        "description": incident.description,
        "how_found": incident.how_found,
        "reported_by": incident.reported_by,
        "occurred_from": iso(incident.occurred_from),
        "occurred_to": iso(incident.occurred_to),
        "discovered_by": incident.discovered_by,
        "diligence_known_on": iso(incident.diligence_known_on),
        "breach_types": list(incident.breach_types or []),
        "breach_type_other": incident.breach_type_other,
        "locations": list(incident.locations or []),
        "location_other": incident.location_other,
        "phi_types": list(incident.phi_types or []),
        "safeguards": list(incident.safeguards or []),
        "systems_involved": incident.systems_involved,
        "affected_estimate": incident.affected_estimate,
        "roster_total": incident.roster_total,
        "state_estimates": dict(sorted(estimates.items())),
        "ba_involved": incident.ba_involved,
        "ba_name": incident.ba_name,
        "part2_records": incident.part2_records,
        "licensed_facility_states": list(incident.licensed_facility_states or []),
        "eu_data_subjects": incident.eu_data_subjects,
        "gdpr_aware_at": iso(incident.gdpr_aware_at),
        "gdpr_high_risk": incident.gdpr_high_risk,
        "gdpr_controller": incident.gdpr_controller,
        "materiality_determined_on": iso(incident.materiality_determined_on),
        "closed_at": iso(incident.closed_at),
    }


def incident_page(page: Page) -> dict[str, Any]:
    return {
        "items": [incident_summary(row.incident, row.next_due) for row in page.rows],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


def timeline_entry(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "incident_id": entry.incident_id,
        "kind": entry.kind.value,
        "category": entry.category.value if entry.category else None,
        "text": entry.text,
        "occurred_at": iso(entry.occurred_at),
        "recorded_at": iso(entry.recorded_at),
        "actor_id": entry.actor_id,
        "corrects_id": entry.corrects_id,
    }


def obligation(view: ObligationView) -> dict[str, Any]:
    row = view.row
    return {
        "id": row.id,
        "kind": row.kind,
        "label": obligation_kinds.label(row.kind),
        "jurisdiction": row.jurisdiction,
        "source_key": row.source_key,
        "due_on": iso(view.due_on),
        "due_at": iso(row.due_at),
        "computed_due_on": iso(row.due_on),
        "override_due_on": iso(row.override_due_on),
        "days_left": view.days_left,
        "citation": row.citation,
        "reason": row.reason,
        "detail": {str(k): str(v) for k, v in (row.detail or {}).items()},
    }


def calculation(result: rules.Determination) -> dict[str, Any]:
    """The calculator's answer: the engine's own JSON form, each obligation with its label."""
    body = rules.to_jsonable(result)
    for item in body["obligations"]:
        item["label"] = obligation_kinds.label(item["kind"])
    return body


def determination(page: DeterminationPage) -> dict[str, Any]:
    """The Deadlines tab as JSON. `preview` is true when nothing is stored yet and the
    determination was computed on the fly (then `obligations` is empty)."""
    shown = page.determination
    override = None
    if isinstance(shown, rules.Determination):
        computed = shown.reportable
        reportable = shown.reportable
    else:
        computed = shown.reportable
        reportable = (
            shown.reportable if shown.override_reportable is None else shown.override_reportable
        )
        if shown.override_reportable is not None:
            override = {"reportable": shown.override_reportable, "reason": shown.override_reason}
    return {
        "incident_id": page.incident.id,
        "preview": page.preview,
        "reportable": reportable,
        "computed_reportable": computed,
        "override": override,
        "reason": shown.reason,
        "treated_discovery_on": iso(shown.treated_discovery_on),
        "warnings": list(shown.warnings or []),
        "error": None if page.error is None else str(page.error),
        "obligations": [obligation(view) for view in page.obligations],
    }
