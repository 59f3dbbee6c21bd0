"""Organisation settings: letterhead, contact procedures and the time zone deadlines use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import ValidationFailed
from incident_app.models.organisation import ORGANISATION_ID
from incident_app.models.organisation import Organisation
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit

TEXT_FIELDS = (
    "legal_name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "toll_free_number",
    "email",
    "website",
    "signatory_name",
    "signatory_title",
    "timezone",
)
LOGO_MAX_BYTES = 512 * 1024
_LOGO_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
_TOLL_FREE = re.compile(r"^\D*(1\D*)?8(00|33|44|55|66|77|88)\D*\d{3}\D*\d{4}\D*$")
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def get_organisation(session: Session) -> Organisation:
    """The settings row, created with defaults on first use (no commit)."""
    org = session.get(Organisation, ORGANISATION_ID)
    if org is None:
        org = Organisation(id=ORGANISATION_ID)
        session.add(org)
        session.flush()
    return org


def org_zone(session: Session) -> ZoneInfo:
    """The organisation's time zone: times are shown and "today" is judged in it."""
    return ZoneInfo(get_organisation(session).timezone)


def local_today(session: Session, now: datetime) -> date:
    return now.astimezone(org_zone(session)).date()


def update_settings(
    session: Session,
    *,
    actor: User,
    values: Mapping[str, str],
    logo: bytes | None,
    remove_logo: bool = False,
    mfa_roles: list[str] | None = None,
    now: datetime,
    privacy_officer_may_approve: bool | None = None,
    email_notice_enabled: bool | None = None,
) -> Organisation:
    """Save the settings; audit which fields changed (old → new). Raises ValidationFailed."""
    require(actor, Capability.MANAGE_SETTINGS)
    cleaned = {name: (values.get(name) or "").strip() for name in TEXT_FIELDS}
    cleaned["state"] = cleaned["state"].upper()
    _validate(cleaned)
    org = get_organisation(session)
    changes: dict[str, list[object]] = {
        name: [getattr(org, name), value]
        for name, value in cleaned.items()
        if getattr(org, name) != value
    }
    for name, value in cleaned.items():
        setattr(org, name, value)
    _apply_logo(org, logo, remove_logo, changes)
    _apply_mfa_roles(org, mfa_roles, changes)
    _apply_flags(
        org,
        {
            "privacy_officer_may_approve": privacy_officer_may_approve,
            "email_notice_enabled": email_notice_enabled,
        },
        changes,
    )
    if changes:
        org.updated_at = now
        audit.record(
            session,
            actor=actor,
            action="settings.updated",
            at=now,
            subject_type="organisation",
            subject_id=org.id,
            details=changes,
        )
    session.commit()
    return org


def _apply_flags(
    org: Organisation, flags: Mapping[str, bool | None], changes: dict[str, list[object]]
) -> None:
    for name, value in flags.items():
        if value is not None and value != getattr(org, name):
            changes[name] = [getattr(org, name), value]
            setattr(org, name, value)


def _validate(values: Mapping[str, str]) -> None:
    try:
        ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationFailed(
            "Choose a time zone by its IANA name, e.g. America/Chicago.", field="timezone"
        ) from error
    if values["state"] and not re.fullmatch(r"[A-Z]{2}", values["state"]):
        raise ValidationFailed("Use the two-letter USPS state code.", field="state")
    if values["postal_code"] and not _ZIP.match(values["postal_code"]):
        raise ValidationFailed("Use a ZIP code like 60601 or 60601-1234.", field="postal_code")
    if values["toll_free_number"] and not _TOLL_FREE.match(values["toll_free_number"]):
        raise ValidationFailed(
            "Enter a US toll-free number (800, 833, 844, 855, 866, 877 or 888).",
            field="toll_free_number",
        )
    if values["website"] and not values["website"].startswith(("https://", "http://")):
        raise ValidationFailed("The website must start with https://.", field="website")
    if values["email"] and "@" not in values["email"]:
        raise ValidationFailed("Enter a valid email address.", field="email")


def _apply_mfa_roles(
    org: Organisation, roles: list[str] | None, changes: dict[str, list[object]]
) -> None:
    if roles is None:
        return
    try:
        wanted = sorted({Role(role).value for role in roles})
    except ValueError as error:
        raise ValidationFailed("Unknown role.", field="mfa_required_roles") from error
    if wanted != sorted(org.mfa_required_roles or []):
        changes["mfa_required_roles"] = [org.mfa_required_roles or [], wanted]
        org.mfa_required_roles = wanted


def _apply_logo(
    org: Organisation, logo: bytes | None, remove: bool, changes: dict[str, list[object]]
) -> None:
    if remove and org.logo is not None:
        org.logo, org.logo_mime = None, None
        changes["logo"] = ["set", "removed"]
        return
    if not logo:
        return
    if len(logo) > LOGO_MAX_BYTES:
        raise ValidationFailed("The logo must be at most 512 KB.", field="logo")
    mime = next((m for sig, m in _LOGO_SIGNATURES.items() if logo.startswith(sig)), None)
    if mime is None:
        raise ValidationFailed("The logo must be a PNG or JPEG image.", field="logo")
    org.logo, org.logo_mime = logo, mime
    changes["logo"] = ["", f"{mime}, {len(logo)} bytes"]
