"""A client notice as a PDF letter (letter_templates/ba_to_ce.html, the 164.410(c) letter the
Letters tab also makes), printed from the facts frozen in the notice: the same bytes' content
whenever it is downloaded, before or after later facts change.

The letter carries the number of individuals identified; their identities travel beside it in
the encrypted CSV (services/clients/identities.py), never in the PDF.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.models.client import Client
from incident_app.models.client import ClientNotice
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.clients import notices
from incident_app.services.letters.case_data import organisation_context
from incident_app.services.organisation import get_organisation
from incident_app.services.organisation import org_zone

TEMPLATE = "ba_to_ce.html"


def notice_pdf(
    session: Session,
    *,
    actor: User,
    incident_id: int,
    notice_id: int,
    now: datetime,
    client_id: int | None = None,
) -> tuple[str, bytes]:
    """(file name, PDF) of the notice for the incident's roster readers, or (with the
    `client_id` of its URL) for the client's own contact; NotFound/NotAllowed otherwise (a
    contact's miss is audited). The download is audited; the render runs after the commit."""
    notice = notices.readable_notice(
        session,
        actor=actor,
        incident_id=incident_id,
        notice_id=notice_id,
        now=now,
        client_id=client_id,
    )
    context = _context(session, notice)
    audit.record(
        session,
        actor=actor,
        action="client_notice.letter_downloaded",
        at=now,
        subject_type="client_notice",
        subject_id=notice.id,
        incident_id=notice.incident_id,
        details={"client_id": notice.client_id, "number": notice.number},
    )
    session.commit()
    name = f"notice-{notice.incident_id}-client-{notice.client_id}-{notice.number}.pdf"
    return name, letters.render_pdf(TEMPLATE, context)


def _context(session: Session, notice: ClientNotice) -> dict[str, Any]:
    content = notice.content
    client = session.get_one(Client, notice.client_id)
    contact = client.contacts[0] if client.contacts else {"name": client.name}
    update = content.get("update", "")
    what = content.get("what_happened", "") or "Our investigation is continuing."
    if update:
        what = f"{notice.label} — what is new: {update} {what}"
    discovered = _day(content.get("discovered_on")) or notice.drafted_at.date()
    written = (notice.sent_at or notice.drafted_at).astimezone(org_zone(session)).date()
    return {
        "organisation": organisation_context(get_organisation(session)),
        "letter_date": written,
        "recipient": {
            "letter_id": f"CN-{notice.id}",
            "name": f"{contact['name']}, {client.name}"[:60],
            # The window needs 1-3 lines: the client's address, else the contact's email.
            "address_lines": [line[:60] for line in client.address.splitlines() if line][:3]
            or [f"By email: {contact.get('email') or client.name}"[:60]],
        },
        "covered_entity_name": client.name,
        "breach": {
            "what_happened": what,
            "phi_types": list(content.get("phi_types", [])),
            "steps_for_individuals": list(content.get("steps_for_individuals", [])),
            "what_we_are_doing": list(content.get("what_we_are_doing", [])),
            "breach_start": _day(content.get("breach_start")),
            "breach_end": _day(content.get("breach_end")),
            "discovered_on": discovered,
            "dates_stated": False,
        },
        "ba_discovered_on": discovered,
        "individuals": [],  # 164.410(c)(1): in the encrypted identities file beside the letter
        "individuals_total": _identified_so_far(session, notice),
        "more_information_expected": True,
    }


def _identified_so_far(session: Session, notice: ClientNotice) -> int:
    return (
        session.scalar(
            sa.select(sa.func.sum(ClientNotice.identities_count)).where(
                ClientNotice.incident_id == notice.incident_id,
                ClientNotice.client_id == notice.client_id,
                ClientNotice.number <= notice.number,
            )
        )
        or 0
    )


def _day(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None
