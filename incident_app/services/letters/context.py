"""Gather the plain-dict context a letter template prints, from the case and the settings.

Only what the letter needs goes in: organisation letterhead, the 164.404(c) facts as the team
worded them, counts and dates. No roster PHI: the individual notice under review is a sample
with a placeholder addressee (the mail merge adds real addressees later). The same inputs
always give the same context, so `fingerprint(context)` changes exactly when the case data a
letter prints changes.

A little over 400 lines on purpose: one builder per template plus the `_BUILDERS` table that
picks them, and the shared parts they all use; the HHS portal answers (`hhs_report`) need those
same parts, so moving them out would only add an import cycle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.errors import ValidationFailed
from incident_app.letters.validation import logo_data_uri
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import NoticeSent
from incident_app.models.letter import NoticeWording
from incident_app.models.obligation import Obligation
from incident_app.models.organisation import Organisation
from incident_app.services import corrective_actions
from incident_app.services import options
from incident_app.services.obligations import evaluation as obligation_evaluation
from incident_app.services.obligations import reading as obligation_reading
from incident_app.services.organisation import get_organisation

INDIVIDUAL_TEMPLATES = (
    "individual_adult.html",
    "individual_minor.html",
    "individual_deceased.html",
    "individual_es.html",
)
# Which letters each obligation kind can produce (state_* kinds come from the overlay).
TEMPLATES_BY_KIND: dict[str, tuple[str, ...]] = {
    "individual_notice": INDIVIDUAL_TEMPLATES,
    "state_individual_notice": INDIVIDUAL_TEMPLATES,
    "media_notice": ("media_release.html",),
    "hhs_notice": ("hhs_packet.html",),
    "hhs_annual_log": ("hhs_packet.html",),
    "substitute_notice": ("substitute_web.html", "substitute_media.html"),
    "ba_to_ce_notice": ("ba_to_ce.html",),
    "state_regulator_notice": ("state_ag.html",),
}
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
}
# Letters that go to one office and need its address typed in.
ADDRESSED_TEMPLATES = frozenset({"ba_to_ce.html", "state_ag.html"})
# The sample addressee printed on individual-notice proofs (never a real person).
SAMPLE_NAME = "Sample Recipient"
SAMPLE_SUBJECT = "Sample Patient"
SAMPLE_ADDRESS = ["100 Sample Street", "Anytown, ST 00000"]


@dataclass(frozen=True)
class CaseData:
    """Everything a context is built from, loaded once."""

    incident: Incident
    obligation: Obligation
    letter: Letter
    organisation: Organisation
    wording: NoticeWording
    letter_date: date
    notices: list[NoticeSent]


def load_case(session: Session, letter: Letter, letter_date: date) -> CaseData:
    wording = session.scalar(
        sa.select(NoticeWording).where(NoticeWording.incident_id == letter.incident_id)
    ) or empty_wording(letter.incident_id)
    notices = list(
        session.scalars(
            sa.select(NoticeSent)
            .where(NoticeSent.incident_id == letter.incident_id)
            .order_by(NoticeSent.sent_on, NoticeSent.id)
        )
    )
    return CaseData(
        incident=session.get_one(Incident, letter.incident_id),
        obligation=session.get_one(Obligation, letter.obligation_id),
        letter=letter,
        organisation=get_organisation(session),
        wording=wording,
        letter_date=letter_date,
        notices=notices,
    )


def empty_wording(incident_id: int) -> NoticeWording:
    """The wording of an incident nobody has written for yet (not added to the session)."""
    return NoticeWording(
        incident_id=incident_id,
        what_happened="",
        phi_types=[],
        steps_for_individuals=[],
        what_we_are_doing=[],
        spanish={},
        media_contact="",
        covered_entity_type="Healthcare Provider",
        contact_phone="",
        substitute_areas=[],
    )


def build_context(session: Session, case: CaseData) -> dict[str, Any]:
    """The template's context. Raises ValidationFailed naming the case data that is missing."""
    builder = _BUILDERS[case.letter.template_name]
    return builder(session, case)


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


def local_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


# ---- shared parts ---------------------------------------------------------------------------


def organisation_context(org: Organisation) -> letters.OrganisationContext:
    city_line = " ".join(
        part for part in (f"{org.city}," if org.city else "", org.state, org.postal_code) if part
    )
    return {
        "name": org.legal_name,
        "address_lines": [
            line for line in (org.address_line1, org.address_line2, city_line) if line
        ],
        "toll_free_number": org.toll_free_number,
        "email": org.email,
        "website": org.website,
        "logo_data_uri": (
            logo_data_uri(org.logo, org.logo_mime) if org.logo and org.logo_mime else None
        ),
        "signatory_name": org.signatory_name,
        "signatory_title": org.signatory_title,
    }


def discovery_date(session: Session, incident: Incident) -> date | None:
    """The covered entity's treated discovery date, as the rules engine last stored it."""
    stored = obligation_reading.stored_determination(session, incident.id)
    if stored is not None and stored.treated_discovery_on is not None:
        return stored.treated_discovery_on
    return incident.treated_known_on


def breach_dates(incident: Incident, zone: str) -> tuple[date | None, date | None]:
    start = local_date(incident.occurred_from, zone) if incident.occurred_from else None
    end = local_date(incident.occurred_to, zone) if incident.occurred_to else None
    return start, end


def breach_context(session: Session, case: CaseData, *, spanish: bool = False) -> dict[str, Any]:
    discovered = discovery_date(session, case.incident)
    if discovered is None:
        raise ValidationFailed(
            "Record the discovery date on the Facts tab before generating letters.",
            field="discovered_on",
        )
    start, end = breach_dates(case.incident, case.organisation.timezone)
    wording = case.wording
    texts: dict[str, Any] = {
        "what_happened": wording.what_happened,
        "phi_types": list(wording.phi_types) or _phi_type_labels(case.incident),
        "steps_for_individuals": list(wording.steps_for_individuals),
        "what_we_are_doing": list(wording.what_we_are_doing),
    }
    if spanish:
        texts = {
            key: (wording.spanish or {}).get(key) or ([] if key != "what_happened" else "")
            for key in texts
        }
    return {**texts, "breach_start": start, "breach_end": end, "discovered_on": discovered}


def _phi_type_labels(incident: Incident) -> list[str]:
    by_code = {option.code: option.label for option in options.ocr_options("phi_types")}
    return [by_code.get(code, code) for code in incident.phi_types]


def total_affected(incident: Incident) -> int:
    return (
        incident.roster_total if incident.roster_total is not None else (incident.affected_estimate)
    )


def _state_name(code: str) -> str:
    return options.state_names().get(code, code)


def _residents(incident: Incident, state: str) -> int:
    return obligation_evaluation.residents_by_state(incident).get(state, 0)


def _recipient(case: CaseData) -> dict[str, Any]:
    letter = case.letter
    if not letter.recipient_name.strip() or not letter.recipient_address:
        raise ValidationFailed(
            "This letter goes to one office: enter the addressee's name and address.",
            field="recipient_name",
        )
    return {
        "letter_id": letter.document_id,
        "name": letter.recipient_name,
        "address_lines": list(letter.recipient_address),
    }


def _document(case: CaseData) -> dict[str, Any]:
    return {
        "organisation": organisation_context(case.organisation),
        "document_id": case.letter.document_id,
        "letter_date": case.letter_date,
    }


def _sent_on(case: CaseData, kinds: set[str]) -> list[date]:
    return [n.sent_on for n in case.notices if n.obligation.kind in kinds]


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
    return {
        "organisation": organisation_context(case.organisation),
        "letter_date": case.letter_date,
        "breach": breach_context(session, case, spanish=spanish),
        "recipient": recipient,
    }


def _media(session: Session, case: CaseData) -> dict[str, Any]:
    state = case.obligation.jurisdiction
    return {
        **_document(case),
        "breach": breach_context(session, case),
        "state_name": _state_name(state),
        "residents_affected": _residents(case.incident, state),
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
        **_document(case),
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
        "recipient": _recipient(case),
        "covered_entity_name": case.letter.recipient_name,
        "breach": breach,
        "ba_discovered_on": case.incident.ba_discovered_on or breach["discovered_on"],
        # 164.410(c)(1) identities travel as a roster export beside the letter, not in it.
        "individuals": [],
        "individuals_total": total_affected(case.incident),
        "more_information_expected": True,
    }


def _state_ag(session: Session, case: CaseData) -> dict[str, Any]:
    obligation = case.obligation
    state = obligation.jurisdiction
    detail = obligation.detail or {}
    notified = _sent_on(case, {"individual_notice", "state_individual_notice"})
    requirements = [
        f"Notice to {detail.get('recipient_name', 'the state')} {detail.get('period', '')}".strip()
        + "."
    ]
    return {
        "organisation": organisation_context(case.organisation),
        "letter_date": case.letter_date,
        "recipient": _recipient(case),
        "breach": breach_context(session, case),
        "state_name": _state_name(state),
        "statute": obligation.citation,
        "residents_affected": _residents(case.incident, state),
        "total_affected": total_affected(case.incident),
        "residents_notified_on": min(notified) if notified else None,
        "state_requirements": requirements,
        "enclosures": ["Sample of the notice to residents"],
    }


def _hhs(session: Session, case: CaseData) -> dict[str, Any]:
    return {**_document(case), "report": hhs_report(session, case)}


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
    individual = sorted(_sent_on(case, {"individual_notice"}))
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


def incident_obligations(session: Session, incident_id: int) -> list[Obligation]:
    return list(
        session.scalars(
            sa.select(Obligation).where(
                Obligation.incident_id == incident_id, Obligation.active.is_(True)
            )
        )
    )


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
    "state_ag.html": _state_ag,
    "hhs_packet.html": _hhs,
}
