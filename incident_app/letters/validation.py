"""What a letter context must satisfy before it is laid out.

The address block has to stay inside the envelope window, the letter id is printed on every
page, and the logo may only be an inline PNG/JPEG data: URI (the fetcher fetches nothing else).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from incident_app.errors import ValidationFailed

# Window-envelope limits: what fits the 3.75in x 1in address window (see letters.css).
MAX_NAME_LENGTH = 120
MAX_ADDRESS_LINES = 3
MAX_ADDRESS_LINE_LENGTH = 60
LETTER_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{0,39}")
# An identity-protection enrollment code (issue 23) as the vendor issues it, upper-cased: it
# must fit the 1.9in code box on one line (letters.css .code-slot).
ENROLLMENT_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{3,23}")
SAMPLE_ENROLLMENT_CODE = "XXXX-XXXX-XXXX"  # the sample legal approves and the batch proof
LOGO_DATA_URI = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+")


def validate_recipient(recipient: Mapping[str, Any]) -> None:
    """What must hold for the address block to stay inside the envelope window."""
    letter_id = recipient.get("letter_id", "")
    if not isinstance(letter_id, str) or not LETTER_ID.fullmatch(letter_id):
        raise ValidationFailed(
            f"Letter id {letter_id!r} must be 1-40 capital letters, digits or dashes.",
            field="letter_id",
        )
    name = recipient.get("name", "")
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            f"Recipient name must have 1-{MAX_NAME_LENGTH} characters (got {len(name)}).",
            field="name",
        )
    lines = recipient.get("address_lines", [])
    if not 1 <= len(lines) <= MAX_ADDRESS_LINES or any(
        not line.strip() or len(line) > MAX_ADDRESS_LINE_LENGTH for line in lines
    ):
        raise ValidationFailed(
            f"Recipient address must have 1-{MAX_ADDRESS_LINES} non-empty lines of at most "
            f"{MAX_ADDRESS_LINE_LENGTH} characters.",
            field="address_lines",
        )
    code = recipient.get("enrollment_code")
    if code is not None and (not isinstance(code, str) or not ENROLLMENT_CODE.fullmatch(code)):
        raise ValidationFailed(
            "An enrollment code must be 4-24 capital letters, digits or dashes.",
            field="enrollment_code",
        )


def validate_context(context: Mapping[str, Any]) -> None:
    """Raises ValidationFailed when the logo or the recipient would break the layout."""
    organisation = context.get("organisation")
    if isinstance(organisation, Mapping):
        logo = organisation.get("logo_data_uri")
        if logo and not LOGO_DATA_URI.fullmatch(logo):
            raise ValidationFailed(
                "The organisation logo must be a PNG or JPEG data: URI (use logo_data_uri()).",
                field="logo",
            )
    recipient = context.get("recipient")
    if isinstance(recipient, Mapping):
        validate_recipient(recipient)


def logo_data_uri(data: bytes, mime: str) -> str:
    """The organisation's stored logo as a data: URI the letterhead can show."""
    if mime not in ("image/png", "image/jpeg"):
        raise ValidationFailed("The logo must be a PNG or JPEG image.", field="logo")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
