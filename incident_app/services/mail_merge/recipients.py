"""Who a mail-merge letter is addressed to and what an email notice says: the recipient
context for the envelope window (adult, guardian of a minor, next of kin of a deceased person)
and the plain-text body of an electronic notice (164.404(d)(1)(i)). No database access."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from incident_app import letters
from incident_app.models.mail_batch import Variant
from incident_app.models.roster import AddressStatus
from incident_app.models.roster import RosterPerson
from incident_app.services.reminders import exercise_mail
from incident_app.services.roster import normalise as norm

# ---- recipients -----------------------------------------------------------------------------


class Unprintable(Exception):
    """A person's name or address cannot be printed in the envelope window; says why."""


@dataclass(frozen=True)
class Recipient:
    context: letters.RecipientContext
    addressee: str  # the first window line as printed


def recipient_for(
    person: RosterPerson, phi: dict[str, Any], variant: Variant, letter_code: str
) -> Recipient:
    """The window block of one person's letter. Raises Unprintable naming the problem."""
    name = full_name(phi)
    context: letters.RecipientContext
    if variant is Variant.DECEASED:
        nok = phi.get("nok") or {}
        shown = nok.get("name") or f"Next of kin of {name}"
        context = {
            "letter_id": letter_code,
            "subject_name": name,
            "name": shown,
            "address_lines": address_lines(nok),
        }
        addressee = shown
    elif variant is Variant.MINOR:
        guardian = phi.get("guardian") or {}
        address = guardian if _sufficient(guardian) else phi
        context = {"letter_id": letter_code, "name": name, "address_lines": address_lines(address)}
        addressee = f"Parent or Guardian of {name}"
    else:
        context = {"letter_id": letter_code, "name": name, "address_lines": address_lines(phi)}
        addressee = name
    _check_printable(context)
    return Recipient(context, addressee)


def full_name(phi: dict[str, Any]) -> str:
    return " ".join(part for part in (phi.get("fn", ""), phi.get("ln", "")) if part)


def _sufficient(address: dict[str, Any]) -> bool:
    return (
        norm.address_status(
            line1=address.get("a1", ""),
            city=address.get("city", ""),
            state=address.get("st") or None,
            zip_code=address.get("zip") or None,
            country=address.get("ctry", ""),
        )
        is AddressStatus.SUFFICIENT
    )


def address_lines(address: dict[str, Any]) -> list[str]:
    """Street, second line, "City, ST ZIP", and the country when it is not the US; at most
    three lines (the two street lines share one when a country is needed)."""
    city, state, zip_code = address.get("city", ""), address.get("st", ""), address.get("zip", "")
    city_line = " ".join(
        part
        for part in (f"{city}," if city and (state or zip_code) else city, state, zip_code)
        if part
    )
    country = address.get("ctry", "")
    lines = [
        address.get("a1", ""),
        address.get("a2", ""),
        city_line,
        "" if norm.is_us(country) else country,
    ]
    lines = [line.strip() for line in lines if line and line.strip()]
    if len(lines) > letters.MAX_ADDRESS_LINES:
        lines = [f"{lines[0]}, {lines[1]}", *lines[2:]]
    return lines


def _check_printable(context: letters.RecipientContext) -> None:
    if not context["name"].strip():
        raise Unprintable("The roster has no name for this person.")
    if len(context["name"]) > letters.MAX_NAME_LENGTH:
        raise Unprintable(
            f"The name has {len(context['name'])} characters; at most "
            f"{letters.MAX_NAME_LENGTH} fit the envelope window."
        )
    lines = context["address_lines"]
    if not lines:
        raise Unprintable("The roster has no postal address for this person.")
    long = [line for line in lines if len(line) > letters.MAX_ADDRESS_LINE_LENGTH]
    if long:
        raise Unprintable(
            f"An address line has {len(long[0])} characters; at most "
            f"{letters.MAX_ADDRESS_LINE_LENGTH} fit the envelope window."
        )


# ---- email notice ---------------------------------------------------------------------------


class _NoticeText(HTMLParser):
    """The visible text of a rendered letter, paragraph by paragraph, without the envelope
    window (the email has no postal address) and the printed letter id."""

    BLOCKS = frozenset({"p", "div", "li", "h1", "h2", "h3", "h4", "tr", "br", "section"})
    VOID = frozenset({"br", "img", "meta", "link", "hr", "input"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            if tag == "br":
                self.parts.append("\n")
            return
        values = dict(attrs)
        hidden = (
            tag in ("head", "title", "style")
            or "data-window" in values
            or ("footer-id" in (values.get("class") or ""))
        )
        if self.skipping or hidden:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n- " if tag == "li" else "\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(" ".join(data.split()) if data.strip() else " ")

    def text(self) -> str:
        lines = [" ".join(line.split()) for line in "".join(self.parts).split("\n")]
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip() + "\n"


def email_notice(
    template_name: str,
    common: dict[str, Any],
    name: str,
    letter_code: str,
    *,
    enrollment_code: str | None = None,
    snapshot: letters.TemplateSnapshot | None = None,
) -> tuple[str, str]:
    """(subject, body) of the email notice: the approved letter's own text for this person
    (with their enrollment code when the letter offers identity protection), from the batch's
    template snapshot when given."""
    recipient: dict[str, Any] = {
        "letter_id": letter_code,
        "name": name,
        "address_lines": ["(sent by email)"],
    }
    if enrollment_code is not None:
        recipient["enrollment_code"] = enrollment_code
    context = {**common, "recipient": recipient}
    parser = _NoticeText()
    parser.feed(letters.render_html(template_name, context, snapshot=snapshot))
    subject = (
        "Aviso de una filtración de datos"
        if template_name == "individual_es.html"
        else "Notice of a data breach"
    )
    organisation = common["organisation"]["name"]
    subject, body = f"{subject} – {organisation}", parser.text() + f"\nLetter ID: {letter_code}\n"
    if common.get(letters.EXERCISE_KEY) is True:  # the outbox sends it to the team only
        subject, body = exercise_mail.mark_subject(subject), f"{letters.EXERCISE_TEXT}\n\n{body}"
    return subject[:300], body
