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
    what = content.get("what_happened", "") or "Our investigation is continuing."
    discovered = _day(content.get("discovered_on")) or notice.drafted_at.date()
    written = _written_on(session, notice)
    supplement = {} if notice.number == 1 else {"supplement": _supplement(session, notice)}
    return {
        **supplement,
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


def _written_on(session: Session, notice: ClientNotice) -> date:
    return (notice.sent_at or notice.drafted_at).astimezone(org_zone(session)).date()


def _supplement(session: Session, notice: ClientNotice) -> dict[str, Any]:
    """The "Supplement N to our notice of <date>: what is new" section (164.410(c)(2)): the
    changes since the notice before it, both read from their frozen contents."""
    earlier = _earlier(session, notice)
    previous = earlier[notice.number - 1]
    return {
        "number": notice.number - 1,
        "notice_date": _written_on(session, earlier[1]),
        "previous_label": "notice" if previous.number == 1 else previous.label.lower(),
        "previous_date": _written_on(session, previous),
        "changes": supplement_changes(session, notice, earlier),
    }


def supplement_changes(
    session: Session, notice: ClientNotice, earlier: dict[int, ClientNotice] | None = None
) -> list[str]:
    """The change list a supplement's letter prints (new individuals, corrected dates, added
    or dropped information types, steps and actions); [] for the first notice. The notice
    pages show the same list: `notice` comes from a service that checked access."""
    if notice.number == 1:
        return []
    previous = (earlier or _earlier(session, notice))[notice.number - 1]
    return changes(
        previous.content,
        notice.content,
        new_identities=notice.identities_count,
        identified_so_far=_identified_so_far(session, notice),
    )


def _earlier(session: Session, notice: ClientNotice) -> dict[int, ClientNotice]:
    return {
        n.number: n
        for n in notices.list_notices(
            session, incident_id=notice.incident_id, client_id=notice.client_id
        )
        if n.number < notice.number
    }


LISTS = (
    ("phi_types", "Types of information involved"),
    ("steps_for_individuals", "Steps individuals should take"),
    ("what_we_are_doing", "What we are doing"),
)


def changes(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    new_identities: int,
    identified_so_far: int,
) -> list[str]:
    """What a supplement adds to the notice before it, one line each (never empty)."""
    found: list[str] = []
    if after.get("update"):
        found.append(f"What we have learned: {after['update']}")
    if new_identities:
        found.append(
            f"{new_identities:,} more individual{'s' if new_identities != 1 else ''} identified "
            f"({identified_so_far:,} so far), in the encrypted identities file sent with this "
            "supplement (164.410(c)(1))."
        )
    if before.get("what_happened") != after.get("what_happened"):
        found.append("What happened: our account below has been updated.")
    for key, label in (
        ("breach_start", "The breach began on"),
        ("breach_end", "The breach ended on"),
        ("discovered_on", "We discovered the breach on"),
    ):
        if before.get(key) != after.get(key) and after.get(key):
            found.append(f"{label} {_day(after[key]):%B %-d, %Y} (corrected).")
    for key, heading in LISTS:
        old, new = list(before.get(key, [])), list(after.get(key, []))
        added = [item for item in new if item not in old]
        dropped = [item for item in old if item not in new]
        if added:
            found.append(f"{heading}, added: {_sentence(added)}")
        if dropped:
            found.append(f"{heading}, no longer listed: {_sentence(dropped)}")
    return found or ["No fact has changed since our last letter; it is restated below."]


def _sentence(items: list[str]) -> str:
    """Items joined by semicolons, ending in one full stop (items may end in their own)."""
    return "; ".join(items).rstrip(".") + "."


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
