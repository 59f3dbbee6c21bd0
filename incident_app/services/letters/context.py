"""Gather the plain-dict context a letter template prints, from the case and the settings.

Only what the letter needs goes in: organisation letterhead, the 164.404(c) facts as the team
worded them, counts and dates. No roster PHI: the individual notice under review is a sample
with a placeholder addressee (the mail merge adds real addressees later). The same inputs
always give the same context, so `fingerprint(context)` changes exactly when the case data a
letter prints changes.

This module holds the tables (which letters an obligation kind gives, or why it gives none) and
the HIPAA letters' builders; case_data.py the shared parts, regime_context.py the letters of the
state regulators, consumer reporting agencies, the FTC rule, GDPR and the SEC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from incident_app.errors import ValidationFailed
from incident_app.letters import SAMPLE_ENROLLMENT_CODE
from incident_app.letters import exercise_mark
from incident_app.models.incident import Incident
from incident_app.services import corrective_actions
from incident_app.services import options
from incident_app.services.enrolment import offer as identity_offer
from incident_app.services.letters import faq
from incident_app.services.letters import regime_context
from incident_app.services.letters.case_data import SAMPLE_ADDRESS
from incident_app.services.letters.case_data import SAMPLE_NAME
from incident_app.services.letters.case_data import SAMPLE_SUBJECT
from incident_app.services.letters.case_data import CaseData
from incident_app.services.letters.case_data import breach_context
from incident_app.services.letters.case_data import breach_dates
from incident_app.services.letters.case_data import discovery_date
from incident_app.services.letters.case_data import document
from incident_app.services.letters.case_data import empty_wording
from incident_app.services.letters.case_data import incident_obligations
from incident_app.services.letters.case_data import load_case
from incident_app.services.letters.case_data import local_date
from incident_app.services.letters.case_data import organisation_context
from incident_app.services.letters.case_data import recipient
from incident_app.services.letters.case_data import residents
from incident_app.services.letters.case_data import sent_on
from incident_app.services.letters.case_data import state_name
from incident_app.services.letters.case_data import total_affected

__all__ = [
    "ADDRESSED_TEMPLATES",
    "NO_LETTER",
    "TEMPLATES_BY_KIND",
    "TEMPLATE_LABELS",
    "CaseData",
    "breach_dates",
    "build_context",
    "discovery_date",
    "empty_wording",
    "fingerprint",
    "hhs_report",
    "incident_obligations",
    "load_case",
    "local_date",
    "organisation_context",
    "templates_for",
]

INDIVIDUAL_TEMPLATES = (
    "individual_adult.html",
    "individual_minor.html",
    "individual_deceased.html",
    "individual_es.html",
)
GDPR_RECORD = "gdpr_art33.html"
GDPR_PROCESSOR = "gdpr_art33_processor.html"
# Which letters each obligation kind can produce (state_* and cra_notice come from the state
# table, ftc_* and vendor_notice from 16 CFR 318, the GDPR kinds from Art. 33/34). The FTC rule's
# own individual, substitute and media notices reuse the HIPAA kinds and so their letters.
TEMPLATES_BY_KIND: dict[str, tuple[str, ...]] = {
    # The call-centre FAQ (faq.py) answers the calls the individual notices bring.
    "individual_notice": (*INDIVIDUAL_TEMPLATES, faq.FAQ_TEMPLATE),
    "state_individual_notice": INDIVIDUAL_TEMPLATES,
    "media_notice": ("media_release.html",),
    "hhs_notice": ("hhs_packet.html",),
    "hhs_annual_log": ("hhs_packet.html",),
    "substitute_notice": ("substitute_web.html", "substitute_media.html"),
    "ba_to_ce_notice": ("ba_to_ce.html",),
    "state_regulator_notice": ("state_ag.html",),
    "cra_notice": ("cra_notice.html",),
    "ftc_notice": ("ftc_notice.html",),
    # A per-incident entry of the year's log, as hhs_annual_log gives one HHS packet per
    # incident; the same FTC form fields, headed as a log entry for the reporting year.
    "ftc_annual_log": ("ftc_notice.html",),
    "vendor_notice": ("vendor_notice.html",),
    "supervisory_authority_notice": (GDPR_RECORD,),
    "processor_to_controller_notice": (GDPR_PROCESSOR,),
    "data_subject_notice": ("gdpr_data_subject.html",),
    "sec_8k_notice": ("sec_8k_worksheet.html",),
}
# Kinds deliberately without a letter, and why (the letters page says so instead of a button).
# part2_<kind> mirrors take the letters of the HIPAA kind they mirror (templates_for).
NO_LETTER: dict[str, str] = {}
PART2_PREFIX = "part2_"
TEMPLATE_LABELS = {
    "individual_adult.html": "Individual notice (adult) — sample",
    "individual_minor.html": "Individual notice to a parent or guardian — sample",
    "individual_deceased.html": "Notice to next of kin / personal representative — sample",
    "individual_es.html": "Individual notice in Spanish — sample",
    "media_release.html": "Press release",
    "hhs_packet.html": "HHS breach-portal packet",
    "substitute_web.html": "Substitute notice: web posting",
    "substitute_media.html": "Substitute notice: major media",
    "ba_to_ce.html": "Business associate to covered entity notice",
    "state_ag.html": "State attorney-general / regulator notice",
    "cra_notice.html": "Notice to the nationwide consumer reporting agencies",
    "ftc_notice.html": "FTC breach notice packet (16 CFR 318)",
    "vendor_notice.html": "Service provider to PHR vendor notice (16 CFR 318.3(b))",
    GDPR_RECORD: "GDPR Art. 33 notification record (supervisory authority)",
    GDPR_PROCESSOR: "GDPR Art. 33(2) processor notice to the controller",
    "gdpr_data_subject.html": "GDPR Art. 34 communication to data subjects — sample",
    "sec_8k_worksheet.html": "SEC Form 8-K Item 1.05 disclosure worksheet (for counsel)",
    faq.FAQ_TEMPLATE: faq.FAQ_LABEL,
}
# Letters that go to one office and need its address typed in.
ADDRESSED_TEMPLATES = frozenset(
    {
        "ba_to_ce.html",
        "state_ag.html",
        "cra_notice.html",
        "vendor_notice.html",
        GDPR_PROCESSOR,
    }
)


def templates_for(kind: str) -> tuple[str, ...]:
    """The letters an obligation kind can produce; a 42 CFR Part 2 mirror (42 CFR 2.16(a))
    takes those of the HIPAA kind it mirrors, printed with the Part 2 citation."""
    if kind.startswith(PART2_PREFIX):
        return TEMPLATES_BY_KIND.get(kind.removeprefix(PART2_PREFIX), ())
    return TEMPLATES_BY_KIND.get(kind, ())


def build_context(session: Session, case: CaseData) -> dict[str, Any]:
    """The template's context. Raises ValidationFailed naming the case data that is missing."""
    builder = _BUILDERS[case.letter.template_name]
    context = builder(session, case)
    # A tabletop exercise's letters say EXERCISE on every page (letters/render.py); the mail
    # merge starts from this context too, so its letters and print files do as well.
    context.update(exercise_mark(case.incident.exercise))
    if case.obligation.kind.startswith(PART2_PREFIX):
        # The citation of the Part 2 duty ("42 CFR 2.16(a); 45 CFR 164.404"), printed by
        # _base.html on every letter and document that serves it.
        context["part2_citation"] = case.obligation.citation
    return context


def fingerprint(context: dict[str, Any]) -> str:
    """SHA-256 of the context in canonical JSON (dates as ISO strings)."""
    canonical = json.dumps(
        context, sort_keys=True, separators=(",", ":"), default=_iso, ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _iso(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable in a letter context: {type(value).__name__}")


# ---- per template ---------------------------------------------------------------------------


def _individual(session: Session, case: CaseData) -> dict[str, Any]:
    recipient: dict[str, Any] = {
        "letter_id": case.letter.document_id,
        "name": SAMPLE_NAME,
        "address_lines": list(SAMPLE_ADDRESS),
    }
    if case.letter.template_name == "individual_deceased.html":
        recipient["subject_name"] = SAMPLE_SUBJECT
    spanish = case.letter.template_name == "individual_es.html"
    # Issue 23: with an identity-protection offer the letter prints its enrollment steps
    # (approved with the letter) and a code box; the sample shows a placeholder code.
    protection = identity_offer.letter_context(session, case.incident.id)
    if protection:
        recipient["enrollment_code"] = SAMPLE_ENROLLMENT_CODE
    return {
        "organisation": organisation_context(case.organisation),
        "letter_date": case.letter_date,
        "breach": breach_context(session, case, spanish=spanish),
        "recipient": recipient,
        **protection,
    }


def _media(session: Session, case: CaseData) -> dict[str, Any]:
    state = case.obligation.jurisdiction
    return {
        **document(case),
        "breach": breach_context(session, case),
        "state_name": state_name(state),
        "residents_affected": residents(case.incident, state),
        "total_affected": total_affected(case.incident),
        "media_contact": case.wording.media_contact,
    }


def _substitute(session: Session, case: CaseData) -> dict[str, Any]:
    wording = case.wording
    if not (wording.posting_start and wording.posting_end and wording.toll_free_active_until):
        raise ValidationFailed(
            "Enter the posting start and end dates and the date the toll-free number stays "
            "active until (Notice wording) before generating the substitute notice.",
            field="posting_start",
        )
    return {
        **document(case),
        "breach": breach_context(session, case),
        "posting_start": wording.posting_start,
        "posting_end": wording.posting_end,
        "toll_free_active_until": wording.toll_free_active_until,
        "areas": list(wording.substitute_areas),
    }


def _ba_to_ce(session: Session, case: CaseData) -> dict[str, Any]:
    breach = breach_context(session, case)
    return {
        "organisation": organisation_context(case.organisation),
        "letter_date": case.letter_date,
        "recipient": recipient(case),
        "covered_entity_name": case.letter.recipient_name,
        "breach": breach,
        "ba_discovered_on": case.incident.ba_discovered_on or breach["discovered_on"],
        # 164.410(c)(1) identities travel as a roster export beside the letter, not in it.
        "individuals": [],
        "individuals_total": total_affected(case.incident),
        "more_information_expected": True,
    }


def _hhs(session: Session, case: CaseData) -> dict[str, Any]:
    return {**document(case), "report": hhs_report(session, case)}


def hhs_report(session: Session, case: CaseData) -> dict[str, Any]:
    """The OCR breach-portal answers (letters.HhsReport) from the case and settings."""
    incident, org, wording = case.incident, case.organisation, case.wording
    start, end = breach_dates(incident, org.timezone)
    discovered = discovery_date(session, incident)
    if start is None or discovered is None:
        raise ValidationFailed(
            "The HHS portal needs the breach start date and the discovery "
            "date: record them on the Facts tab.",
            field="occurred_from",
        )
    first, _, last = org.signatory_name.partition(" ")
    individual = sorted(sent_on(case, {"individual_notice"}))
    kinds = {o.kind for o in incident_obligations(session, incident.id)}
    return {
        "report_type": "Initial Breach Report",
        "previous_tracking_number": None,
        "filer_role": "Covered Entity",
        "covered_entity_name": org.legal_name,
        "street_1": org.address_line1,
        "street_2": org.address_line2,
        "city": org.city,
        "state": org.state,
        "zip": org.postal_code,
        "contact_first_name": first,
        "contact_last_name": last,
        "contact_email": org.email,
        "contact_phone": wording.contact_phone or org.toll_free_number,
        "covered_entity_type": wording.covered_entity_type,
        "business_associate": _ba_fields(incident),
        "breach_start": start,
        "breach_end": end or start,
        "discovery_start": discovered,
        "discovery_end": discovered,
        "individuals_affected": total_affected(incident),
        "breach_types": options.labels("breach_types", incident.breach_types),
        "locations": options.labels("locations", incident.locations),
        "phi_types": options.phi_categories(incident.phi_types),
        "description": incident.description or wording.what_happened,
        "safeguards": options.labels("safeguards", incident.safeguards),
        "individual_notice_start": individual[0] if individual else None,
        "individual_notice_end": individual[-1] if individual else None,
        "substitute_notice_required": "substitute_notice" in kinds,
        "media_notice_required": "media_notice" in kinds,
        **_actions_taken(session, incident, wording.what_we_are_doing),
    }


def _actions_taken(session: Session, incident: Incident, wording: list[str]) -> dict[str, Any]:
    """Section 4 from the corrective action plan; the letter's "what we are doing" wording
    stands in under "Other" while no action has been planned."""
    labels, other = corrective_actions.hhs_actions(session, incident)
    if not labels:
        return {"actions_taken": ["Other"] if wording else [], "other_actions": " ".join(wording)}
    return {"actions_taken": labels, "other_actions": other}


def _ba_fields(incident: Incident) -> dict[str, str] | None:
    if not incident.ba_involved:
        return None
    return {
        "name": incident.ba_name,
        "street_1": "",
        "street_2": "",
        "city": "",
        "state": "",
        "zip": "",
        "contact_name": incident.ba_contact,
        "contact_email": "",
        "contact_phone": "",
    }


_BUILDERS: dict[str, Callable[[Session, CaseData], dict[str, Any]]] = {
    **dict.fromkeys(INDIVIDUAL_TEMPLATES, _individual),
    "media_release.html": _media,
    "substitute_web.html": _substitute,
    "substitute_media.html": _substitute,
    "ba_to_ce.html": _ba_to_ce,
    "hhs_packet.html": _hhs,
    "state_ag.html": regime_context.state_regulator,
    "cra_notice.html": regime_context.cra,
    "ftc_notice.html": regime_context.ftc,
    "vendor_notice.html": regime_context.vendor,
    GDPR_RECORD: regime_context.gdpr_record,
    GDPR_PROCESSOR: regime_context.gdpr_processor,
    "gdpr_data_subject.html": regime_context.gdpr_data_subject,
    "sec_8k_worksheet.html": regime_context.sec_worksheet,
    faq.FAQ_TEMPLATE: faq.faq_context,
}
