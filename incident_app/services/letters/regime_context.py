"""Contexts of the letters beyond the HIPAA notices: state regulators, the consumer reporting
agencies, the FTC Health Breach Notification Rule (16 CFR 318), GDPR Art. 33/34 and the SEC's
Form 8-K Item 1.05 worksheet.

Each builder takes the facts from the case (incident, state counts, organisation, the team's
notice wording, the notices recorded as sent) and raises ValidationFailed naming the field to
fill in when a fact the document must state is missing: a notice to a regulator never prints a
blank. The shapes are the TypedDicts in incident_app.letters.contexts.

Just over 400 lines: one builder per regime document (regulator, CRA, FTC, vendor, GDPR,
SEC), each short; they share the missing-fact checks above.
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.models.letter import NoticeMethod
from incident_app.services import options
from incident_app.services.letters import case_data as cd
from incident_app.services.obligations import evaluation as obligation_evaluation

NATIONWIDE_CRAS = ("Equifax", "Experian", "TransUnion")
RESIDENT_NOTICE_KINDS = frozenset(
    {"individual_notice", "state_individual_notice", "part2_individual_notice"}
)
GDPR_WINDOW = timedelta(hours=72)  # Art. 33(1)
ENTITY_ROLES = {
    "covered_entity": "HIPAA covered entity",
    "business_associate": "HIPAA business associate",
    "phr_vendor": "Vendor of personal health records",
    "phr_related_entity": "PHR related entity",
    "third_party_service_provider": "Third party service provider",
}
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")


# ---- state regulators and consumer reporting agencies ---------------------------------------


def state_regulator(session: Session, case: cd.CaseData) -> dict[str, Any]:
    """state_ag.html for any regulator row of the state table (attorney general, a department,
    a cyber center): named from the row's recipient_name, citing the row's statute."""
    obligation = case.obligation
    detail = dict(obligation.detail or {})
    regulator = regulator_name(detail.get("recipient_name", ""), obligation.jurisdiction)
    count, count_label = _regulator_count(case, detail)
    notified = cd.sent_on(case, set(RESIDENT_NOTICE_KINDS))
    return {
        "organisation": cd.organisation_context(case.organisation),
        "letter_date": case.letter_date,
        "recipient": _addressee(case, default_name=regulator),
        "breach": cd.breach_context(session, case),
        "state_name": cd.state_name(obligation.jurisdiction),
        "statute": obligation.citation,
        "regulator_name": regulator,
        "residents_affected": count,
        "count_label": count_label,
        "total_affected": cd.total_affected(case.incident),
        "residents_notified_on": min(notified) if notified else None,
        "state_requirements": _requirements(detail),
        "enclosures": ["Sample of the notice to residents"],
    }


def regulator_name(recipient_name: str, state: str) -> str:
    """ "Utah Cyber Center (same content as the AG notice)" -> "Utah Cyber Center"."""
    name = _PARENTHESIS.sub("", recipient_name).strip()
    return name or f"{cd.state_name(state)} Attorney General"


def _regulator_count(case: cd.CaseData, detail: dict[str, str]) -> tuple[int, str]:
    # Cal. Health & Safety Code 1280.15 counts every affected patient, wherever they live.
    if detail.get("patients", "").isdigit():
        return int(detail["patients"]), "patients"
    return cd.residents(case.incident, case.obligation.jurisdiction), "residents"


def _requirements(detail: dict[str, str]) -> list[str]:
    name = detail.get("recipient_name", "the state")
    sentences = [f"Notice to {name}: {detail.get('period', 'as the statute requires')}."]
    if detail.get("threshold"):
        sentences.append(f"Threshold: {detail['threshold']}.")
    for key in ("deemer", "note"):
        if detail.get(key):
            sentences.append(detail[key].rstrip(".") + ".")
    return sentences


def cra(session: Session, case: cd.CaseData) -> dict[str, Any]:
    """cra_notice.html: what the CRA statutes ask — the timing, distribution and content of the
    notices to residents and how many residents were notified."""
    obligation = case.obligation
    detail = dict(obligation.detail or {})
    state = obligation.jurisdiction
    typed = case.letter.recipient_name.lower()
    return {
        "organisation": cd.organisation_context(case.organisation),
        "letter_date": case.letter_date,
        "recipient": _addressee(case, default_name=""),
        "breach": cd.breach_context(session, case),
        "state_name": cd.state_name(state),
        "statute": obligation.citation,
        "requirement": detail.get("recipient_name", "the nationwide consumer reporting agencies"),
        "threshold": detail.get("threshold", ""),
        "residents_notified": cd.residents(case.incident, state),
        "total_notified": cd.total_affected(case.incident),
        "timing": _resident_notice_timing(session, case),
        "copies_to": [name for name in NATIONWIDE_CRAS if name.lower() not in typed],
        "enclosures": ["Sample of the notice to residents"],
    }


def _resident_notice_timing(session: Session, case: cd.CaseData) -> dict[str, Any]:
    sent = [n for n in case.notices if n.obligation.kind in RESIDENT_NOTICE_KINDS]
    if sent:
        days = sorted(n.sent_on for n in sent)
        methods = sorted({NoticeMethod(n.method).label for n in sent})
        return {"sent": True, "first_on": days[0], "last_on": days[-1], "methods": methods}
    planned = case.wording.residents_mailing_on
    if planned is None:
        raise ValidationFailed(
            "The consumer reporting agencies must be told when the notices to residents go "
            "out: record the resident notices as sent, or enter the planned mailing date on "
            "Notice wording.",
            field="residents_mailing_on",
        )
    kinds = {o.kind for o in cd.incident_obligations(session, case.incident.id)}
    methods = ["First-class mail to each resident's last known address"]
    if kinds & {"substitute_notice", "part2_substitute_notice"}:
        methods.append("Substitute notice for residents whose address is unknown or out of date")
    return {"sent": False, "first_on": planned, "last_on": planned, "methods": methods}


def _addressee(case: cd.CaseData, *, default_name: str) -> dict[str, Any]:
    letter = case.letter
    name = letter.recipient_name.strip() or default_name[:120]
    if not name or not letter.recipient_address:
        raise ValidationFailed(
            "This letter goes to one office: enter the addressee's name and address.",
            field="recipient_name",
        )
    return {
        "letter_id": letter.document_id,
        "name": name,
        "address_lines": list(letter.recipient_address),
    }


# ---- FTC Health Breach Notification Rule ----------------------------------------------------


def ftc(session: Session, case: cd.CaseData) -> dict[str, Any]:
    """ftc_notice.html: the facts the FTC's breach form asks (16 CFR 318.5(c)) with the 318.6
    content; for ftc_annual_log the same fields headed as this breach's entry of the year's log."""
    obligation = case.obligation
    annual = obligation.kind == "ftc_annual_log"
    year = (obligation.detail or {}).get("reporting_year", "") if annual else ""
    return {
        **cd.document(case),
        "report": _ftc_report(session, case),
        "heading": (
            f"FTC breach log entry for {year} (16 CFR 318.5(c))"
            if annual
            else "Notice to the FTC of a breach of security (16 CFR 318.5(c))"
        ),
        "annual_log": annual,
        "reporting_year": year,
        "due_on": obligation.due_on,
        "citation": obligation.citation,
    }


def _ftc_report(session: Session, case: cd.CaseData) -> dict[str, Any]:
    incident, org, wording = case.incident, case.organisation, case.wording
    breach = cd.breach_context(session, case)
    if breach["breach_start"] is None:
        raise ValidationFailed(
            "The FTC form asks for the date of the breach: record when it started on the "
            "Facts tab.",
            field="occurred_from",
        )
    sent = sorted(n.sent_on for n in case.notices if n.obligation.kind in RESIDENT_NOTICE_KINDS)
    kinds = {o.kind for o in cd.incident_obligations(session, incident.id)}
    return {
        "entity_name": cd.require_text(
            org.legal_name, "Enter the organisation's legal name in Settings.", "legal_name"
        ),
        "entity_type": ENTITY_ROLES.get(org.entity_role, org.entity_role),
        "address_lines": cd.organisation_context(org)["address_lines"],
        "contact_name": org.signatory_name,
        "contact_title": org.signatory_title,
        "contact_email": org.email,
        "contact_phone": wording.contact_phone or org.toll_free_number,
        "breach_start": breach["breach_start"],
        "breach_end": breach["breach_end"] or breach["breach_start"],
        "discovered_on": breach["discovered_on"],
        "individuals_affected": cd.total_affected(incident),
        "residents_by_state": _by_state(incident),
        "breach_types": options.labels("breach_types", incident.breach_types),
        "locations": options.labels("locations", incident.locations),
        "information_types": breach["phi_types"],
        "acquired_by": wording.acquired_by.strip() or "Not known",
        "description": cd.require_text(
            breach["what_happened"],
            "Write what happened on Notice wording: the FTC notice describes the breach.",
            "what_happened",
        ),
        "individual_notice_start": sent[0] if sent else None,
        "individual_notice_end": sent[-1] if sent else None,
        "substitute_notice": "substitute_notice" in kinds,
        "media_notice": "media_notice" in kinds,
        "measures": cd.require_list(
            breach["what_we_are_doing"],
            "List what you are doing on Notice wording (16 CFR 318.6(d)).",
            "what_we_are_doing",
        ),
        "steps_for_individuals": breach["steps_for_individuals"],
    }


def _by_state(incident: Any) -> list[str]:
    counts = obligation_evaluation.residents_by_state(incident)
    return [f"{code}: {count:,}" for code, count in sorted(counts.items()) if count > 0]


def vendor(session: Session, case: cd.CaseData) -> dict[str, Any]:
    """vendor_notice.html: a third party service provider to the PHR vendor, 318.3(b)."""
    return {
        "organisation": cd.organisation_context(case.organisation),
        "letter_date": case.letter_date,
        "recipient": _addressee(case, default_name=""),
        "vendor_name": case.letter.recipient_name.strip(),
        "breach": cd.breach_context(session, case),
        "individuals_total": cd.total_affected(case.incident),
        "due_on": case.obligation.due_on,
        "citation": case.obligation.citation,
    }


# ---- GDPR -----------------------------------------------------------------------------------


def gdpr_record(session: Session, case: cd.CaseData) -> dict[str, Any]:
    """gdpr_art33.html: the Art. 33(3) record for the supervisory authority."""
    return {**cd.document(case), "gdpr": _art33(session, case, controller=True)}


def gdpr_processor(session: Session, case: cd.CaseData) -> dict[str, Any]:
    """gdpr_art33_processor.html: the processor's Art. 33(2) notice to the controller, with the
    Art. 33(3) items the controller needs for its own notification."""
    return {
        "organisation": cd.organisation_context(case.organisation),
        "letter_date": case.letter_date,
        "recipient": _addressee(case, default_name=""),
        "gdpr": _art33(session, case, controller=False),
    }


def gdpr_data_subject(session: Session, case: cd.CaseData) -> dict[str, Any]:
    """gdpr_data_subject.html: Art. 34(2), in clear and plain language — the nature of the
    breach and items (b) to (d) of Art. 33(3). A sample with a placeholder addressee."""
    wording = case.wording
    return {
        "organisation": cd.organisation_context(case.organisation),
        "letter_date": case.letter_date,
        "breach": cd.breach_context(session, case),
        "recipient": {
            "letter_id": case.letter.document_id,
            "name": cd.SAMPLE_NAME,
            "address_lines": list(cd.SAMPLE_ADDRESS),
        },
        "contact_point": _contact_point(wording.gdpr_contact_point),
        "consequences": _consequences(wording.gdpr_consequences),
    }


def _art33(session: Session, case: cd.CaseData, *, controller: bool) -> dict[str, Any]:
    incident, wording = case.incident, case.wording
    if incident.gdpr_aware_at is None or incident.eu_data_subjects <= 0:
        raise ValidationFailed(
            "Record the EU/EEA data subjects and when the organisation became aware of the "
            "breach on the Facts tab (GDPR Art. 33(1)).",
            field="gdpr_aware_at",
        )
    breach = cd.breach_context(session, case)
    aware = incident.gdpr_aware_at.astimezone(UTC)
    deadline = aware + GDPR_WINDOW
    timing = _art33_timing(case, deadline)
    if timing["late"] and not wording.gdpr_delay_reasons.strip():
        raise ValidationFailed(
            "This notification is later than 72 hours after awareness: give the reasons for "
            "the delay on Notice wording (GDPR Art. 33(1)).",
            field="gdpr_delay_reasons",
        )
    if not wording.gdpr_records or wording.gdpr_records <= 0:
        raise ValidationFailed(
            "Enter the approximate number of personal data records concerned on Notice "
            "wording (GDPR Art. 33(3)(a)).",
            field="gdpr_records",
        )
    return {
        "controller": controller,
        "aware_at": aware,
        "deadline_at": deadline,
        **timing,
        "delay_reasons": wording.gdpr_delay_reasons.strip(),
        "nature": cd.require_text(
            breach["what_happened"],
            "Write what happened on Notice wording (GDPR Art. 33(3)(a)).",
            "what_happened",
        ),
        "breach_start": breach["breach_start"],
        "breach_end": breach["breach_end"],
        "data_categories": breach["phi_types"],
        "subject_categories": cd.require_list(
            wording.gdpr_subject_categories,
            "List the categories of data subjects concerned (e.g. patients, employees) on "
            "Notice wording (GDPR Art. 33(3)(a)).",
            "gdpr_subject_categories",
        ),
        "data_subjects": incident.eu_data_subjects,
        "records": wording.gdpr_records,
        "contact_point": _contact_point(wording.gdpr_contact_point),
        "consequences": _consequences(wording.gdpr_consequences),
        "measures": cd.require_list(
            breach["what_we_are_doing"],
            "List the measures taken or proposed on Notice wording (GDPR Art. 33(3)(d)).",
            "what_we_are_doing",
        ),
        "mitigation": breach["steps_for_individuals"],
        "high_risk": _high_risk(incident.gdpr_high_risk),
    }


def _art33_timing(case: cd.CaseData, deadline: datetime) -> dict[str, Any]:
    """Late when the record is dated, or the notice was recorded as sent, after the UTC day the
    72 hours end; on that day itself the hour decides, so the record says so."""
    sent = cd.sent_on(case, {"supervisory_authority_notice", "processor_to_controller_notice"})
    last_day = deadline.date()
    moment = max([case.letter_date, *sent])
    return {"late": moment > last_day, "due_today": moment == last_day}


def _contact_point(value: str) -> str:
    return cd.require_text(
        value,
        "Enter the name and contact details of the data protection officer or other contact "
        "point on Notice wording (GDPR Art. 33(3)(b)).",
        "gdpr_contact_point",
    )


def _consequences(values: list[str]) -> list[str]:
    return cd.require_list(
        values,
        "Describe the likely consequences of the breach on Notice wording (GDPR Art. 33(3)(c)).",
        "gdpr_consequences",
    )


def _high_risk(value: bool | None) -> str:
    if value is None:
        return "Assessment outstanding (Art. 34(1))"
    if value:
        return "Likely high risk: data subjects are being told without undue delay (Art. 34)"
    return "Not likely to result in a high risk: no communication to data subjects (Art. 34(1))"


# ---- SEC ------------------------------------------------------------------------------------


def sec_worksheet(session: Session, case: cd.CaseData) -> dict[str, Any]:
    """sec_8k_worksheet.html: the material aspects Item 1.05 asks for, for counsel to draft the
    filing from — never the filing itself."""
    incident = case.incident
    if incident.materiality_determined_on is None:
        raise ValidationFailed(
            "Record the date the incident was determined to be material on the Facts tab "
            "(Form 8-K Item 1.05 is due four business days after it).",
            field="materiality_determined_on",
        )
    breach = cd.breach_context(session, case)
    return {
        **cd.document(case),
        "citation": case.obligation.citation,
        "determined_on": incident.materiality_determined_on,
        "due_on": case.obligation.due_on,
        "nature": cd.require_text(
            incident.description or breach["what_happened"],
            "Describe the incident on the Facts tab or in Notice wording.",
            "description",
        ),
        "breach_types": options.labels("breach_types", incident.breach_types),
        "systems": incident.systems_involved.strip() or "Not recorded",
        "individuals_affected": cd.total_affected(incident),
        "states": len(_by_state(incident)),
        "eu_data_subjects": incident.eu_data_subjects,
        "data_categories": breach["phi_types"],
        "breach_start": breach["breach_start"],
        "breach_end": breach["breach_end"],
        "discovered_on": breach["discovered_on"],
        "material_impact": cd.require_text(
            case.wording.sec_material_impact,
            "Describe the material impact, or reasonably likely material impact, on the "
            "company on Notice wording (Item 1.05(a)).",
            "sec_material_impact",
        ),
    }
