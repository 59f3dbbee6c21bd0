"""Reading an invitation's link back from the outbox (its body is sealed) or a received mail."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.models.notification import EmailMessage
from incident_app.services.reminders import notifications

LINK = re.compile(r"(https?://\S+)/invitation/(\S+)")


def token_in(text: str) -> str:
    found = LINK.search(text)
    assert found is not None, f"no invitation link in {text!r}"
    return found.group(2)


def path_in(text: str) -> str:
    return f"/invitation/{token_in(text)}"


def latest_token(session: Session, keyring: KeyRing, email: str) -> str:
    """The token of the newest invitation email queued for `email`."""
    message = session.scalars(
        sa.select(EmailMessage)
        .where(EmailMessage.to_address == email)
        .order_by(EmailMessage.id.desc())
        .limit(1)
    ).one()
    return token_in(notifications.open_body(keyring, message.body))
