"""The case a letter is built from, and the parts every letter context shares.

`load_case` reads everything once (incident, obligation, organisation, the team's notice
wording, the notices already sent); the helpers turn it into the plain-dict pieces the
templates print: letterhead, the 164.404(c) breach facts, counts, the typed-in addressee.
Missing case data raises ValidationFailed naming the field to fill in.
"""

from __future__ import annotations

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
from incident_app.models.client import Client
from incident_app.models.incident import Incident
from incident_app.models.letter import Letter
from incident_app.models.letter import NoticeSent
from incident_app.models.letter import NoticeWording
from incident_app.models.obligation import Obligation
from incident_app.models.organisation import Organisation
from incident_app.services import options
from incident_app.services.letters.wording import dates_stated
from incident_app.services.obligations import evaluation as obligation_evaluation
from incident_app.services.obligations import reading as obligation_reading
from incident_app.services.organisation import get_organisation

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
    obligation = session.get_one(Obligation, letter.obligation_id)
    return CaseData(
        incident=session.get_one(Incident, letter.incident_id),
        obligation=obligation,
        letter=letter,
        organisation=_letterhead(session, obligation),
        wording=wording,
        letter_date=letter_date,
        notices=notices,
    )


def _letterhead(session: Session, obligation: Obligation) -> Organisation:
    """Whose letter this is: ours, or, for the obligation of a client that delegates individual
    notice to us (business-associate mode), the client's: its letterhead name and address, logo
    and signatory on a copy of our settings (time zone, contact procedures). The copy is never
    added to the session."""
    org = get_organisation(session)
    if obligation.detail.get("delegated") != "yes":
        return org
    client_id = int(obligation.source_key.split(":", 1)[1].split(" ", 1)[0])
    client = session.get_one(Client, client_id)
    copy = Organisation(**{c.key: getattr(org, c.key) for c in Organisation.__table__.columns})
    lines = [line.strip() for line in client.letterhead_address.splitlines() if line.strip()]
    copy.legal_name = client.letterhead_name or client.name
    copy.address_line1 = lines[0] if lines else ""
    copy.address_line2 = ", ".join(lines[1:])
    copy.city = ""
    copy.state = ""
    copy.postal_code = ""
    copy.signatory_name = client.signatory_name
    copy.signatory_title = client.signatory_title
    copy.logo = client.logo
    copy.logo_mime = client.logo_mime
    return copy


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
        residents_mailing_on=None,
        acquired_by="",
        gdpr_contact_point="",
        gdpr_subject_categories=[],
        gdpr_records=None,
        gdpr_consequences=[],
        gdpr_delay_reasons="",
        sec_material_impact="",
    )


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
    # The app's own dates sentence is left out when the narrative already gives both dates.
    stated = dates_stated(texts["what_happened"], start, discovered) and (
        end is None or end == start
    )
    return {
        **texts,
        "breach_start": start,
        "breach_end": end,
        "discovered_on": discovered,
        "dates_stated": stated,
    }


def _phi_type_labels(incident: Incident) -> list[str]:
    by_code = {option.code: option.label for option in options.ocr_options("phi_types")}
    return [by_code.get(code, code) for code in incident.phi_types]


def total_affected(incident: Incident) -> int:
    return (
        incident.roster_total if incident.roster_total is not None else (incident.affected_estimate)
    )


def state_name(code: str) -> str:
    return options.state_names().get(code, code)


def residents(incident: Incident, state: str) -> int:
    return obligation_evaluation.residents_by_state(incident).get(state, 0)


def recipient(case: CaseData) -> dict[str, Any]:
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


def document(case: CaseData) -> dict[str, Any]:
    return {
        "organisation": organisation_context(case.organisation),
        "document_id": case.letter.document_id,
        "letter_date": case.letter_date,
    }


def sent_on(case: CaseData, kinds: set[str]) -> list[date]:
    return [n.sent_on for n in case.notices if n.obligation.kind in kinds]


def incident_obligations(session: Session, incident_id: int) -> list[Obligation]:
    return list(
        session.scalars(
            sa.select(Obligation).where(
                Obligation.incident_id == incident_id, Obligation.active.is_(True)
            )
        )
    )


def require_text(value: str, message: str, field: str) -> str:
    """The stripped text, or ValidationFailed saying what to fill in (never a blank letter)."""
    if not value.strip():
        raise ValidationFailed(message, field=field)
    return value.strip()


def require_list(values: list[str], message: str, field: str) -> list[str]:
    items = [value for value in values if value.strip()]
    if not items:
        raise ValidationFailed(message, field=field)
    return items
