"""Organisation settings: letterhead, contact procedures and the time zone deadlines use."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

import sqlalchemy as sa
from PIL import Image
from PIL import UnidentifiedImageError
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.errors import ValidationFailed
from incident_app.models.incident import Incident
from incident_app.models.incident import IncidentStatus
from incident_app.models.organisation import ORGANISATION_ID
from incident_app.models.organisation import Organisation
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.obligations import sync as obligation_sync

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
# The organisation's role under the breach rules (rules.facts.ENTITY_ROLES), with what each
# means, for the settings page. The last three are the FTC Health Breach Notification Rule's
# roles (16 CFR 318.2), for entities that are not HIPAA covered entities or business associates.
ENTITY_ROLES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "covered_entity": (
            "HIPAA covered entity",
            "A health plan, health care clearinghouse, or health care provider that transmits "
            "health information electronically (45 CFR 160.103). Notifies individuals, HHS and "
            "the media itself (45 CFR 164.404-408).",
        ),
        "business_associate": (
            "HIPAA business associate",
            "Creates, receives, maintains or transmits PHI on behalf of a covered entity (45 CFR "
            "160.103). Notifies the covered entity within 60 days of discovery (164.410); the "
            "covered entity, or the business associate on its behalf, notifies individuals.",
        ),
        "phr_vendor": (
            "Vendor of personal health records (FTC)",
            "Offers or maintains personal health records and is not a HIPAA covered entity or "
            "business associate, e.g. a health app (16 CFR 318.2). Notifies individuals, the FTC "
            "and, above 500 residents of a state, the media (16 CFR 318.3-318.5).",
        ),
        "phr_related_entity": (
            "PHR related entity (FTC)",
            "Offers products or services through a personal health record vendor's website or "
            "accesses or sends information to a personal health record, and is not a HIPAA "
            "entity (16 CFR 318.2). Same notices as a vendor (16 CFR 318.3-318.5).",
        ),
        "third_party_service_provider": (
            "Third party service provider (FTC)",
            "Provides services to a personal health record vendor or PHR related entity and "
            "handles unsecured PHR identifiable health information in doing so (16 CFR 318.2). "
            "Notifies that vendor or entity, not the individuals (16 CFR 318.3(b)).",
        ),
    }
)
LOGO_MAX_BYTES = 512 * 1024
# A small file can declare a huge canvas (a 20 KB PNG of 13,000 × 13,000 pixels made every letter
# 16× slower; at 30,000 × 30,000 it vanished from letters). Refused above LOGO_MAX_PIXELS before
# any pixel is decoded; anything wider or taller than LOGO_MAX_SIDE is scaled down on upload
# (1,200 px is 4 inches at 300 dpi, far more than a letterhead needs).
LOGO_MAX_PIXELS = 25_000_000
LOGO_MAX_SIDE = 1200
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


def business_associate_mode(org: Organisation) -> bool:
    """Whether the client registry is on: a business associate, or a covered entity that also
    acts as one for other covered entities (a billing company with patients of its own). Both
    roles at once are modelled as entity_role (for its own PHI) plus this flag; an incident
    that names clients is then handled as their business associate for their PHI."""
    return org.entity_role == "business_associate" or org.acts_as_business_associate


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
    entity_role: str | None = None,
    public_company: bool | None = None,
    acts_as_business_associate: bool | None = None,
    client_ack_business_days: int | None = None,
) -> Organisation:
    """Save the settings; audit which fields changed (old → new). Raises ValidationFailed.

    A new entity role or public-company flag changes what the rules conclude, so every open
    incident is re-synced in the same transaction; when one of them cannot be evaluated under
    the new settings nothing is saved and the message names it. Commits once."""
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
            "public_company": public_company,
            "acts_as_business_associate": acts_as_business_associate,
        },
        changes,
    )
    _apply_entity_role(org, entity_role, changes)
    _apply_ack_days(org, client_ack_business_days, changes)
    if RULE_SETTINGS & changes.keys():
        _resync_open_incidents(session, actor=actor, now=now)
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


ACK_DAYS_MAX = 30


def _apply_ack_days(org: Organisation, days: int | None, changes: dict[str, list[object]]) -> None:
    """After how many business days a client notice still unacknowledged is reminded."""
    if days is None or days == org.client_ack_business_days:
        return
    if not 1 <= days <= ACK_DAYS_MAX:
        raise ValidationFailed(
            f"Give between 1 and {ACK_DAYS_MAX} business days for a client's acknowledgement.",
            field="client_ack_business_days",
        )
    changes["client_ack_business_days"] = [org.client_ack_business_days, days]
    org.client_ack_business_days = days


RULE_SETTINGS = frozenset({"entity_role", "public_company"})


def _apply_entity_role(
    org: Organisation, role: str | None, changes: dict[str, list[object]]
) -> None:
    if role is None or role == org.entity_role:
        return
    if role not in ENTITY_ROLES:
        raise ValidationFailed(
            f"Unknown role {role!r}: choose one of the roles listed.", field="entity_role"
        )
    changes["entity_role"] = [org.entity_role, role]
    org.entity_role = role


def _resync_open_incidents(session: Session, *, actor: User, now: datetime) -> None:
    """Recompute the deadlines of every open incident under the new settings (closed ones keep
    the record of what applied when they closed). Rolls back and names the first incident the
    rules cannot evaluate."""
    closed = [status for status in IncidentStatus if status.is_closed]
    incidents = session.scalars(
        sa.select(Incident).where(Incident.status.not_in(closed)).order_by(Incident.id)
    ).all()
    for incident in incidents:
        try:
            obligation_sync.sync(session, incident=incident, now=now, actor=actor)
        except ValidationFailed as error:
            reference = incident.reference
            session.rollback()
            raise ValidationFailed(
                f"Not saved: incident {reference} cannot be evaluated under these settings. "
                f"{error} Change that incident's facts first, or keep the current settings.",
                field="entity_role",
            ) from error


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
    logo, size = _fit_logo(logo, mime)
    org.logo, org.logo_mime = logo, mime
    changes["logo"] = ["", f"{mime}, {size[0]} × {size[1]} px, {len(logo)} bytes"]


def _fit_logo(data: bytes, mime: str) -> tuple[bytes, tuple[int, int]]:
    """The logo checked for its pixel count (from the header, nothing decoded yet) and scaled
    down to at most LOGO_MAX_SIDE pixels a side; returns the bytes to keep and their size."""
    unreadable = ValidationFailed(
        "The logo could not be read as a PNG or JPEG image; export it again and upload that.",
        field="logo",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
    except Image.DecompressionBombError as error:
        raise _too_many_pixels(None) from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise unreadable from error
    with image:
        width, height = image.size
        if width * height > LOGO_MAX_PIXELS:
            raise _too_many_pixels((width, height))
        if max(width, height) <= LOGO_MAX_SIDE:
            return data, (width, height)
        try:
            image.draft(image.mode, (LOGO_MAX_SIDE, LOGO_MAX_SIDE))  # JPEG: decode at 1/2, 1/4...
            image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if mime == "image/png":
                image.save(out, format="PNG", optimize=True)
            else:
                image.convert("RGB").save(out, format="JPEG", quality=90)
        except (OSError, ValueError) as error:
            raise unreadable from error
        return out.getvalue(), image.size


def _too_many_pixels(size: tuple[int, int] | None) -> ValidationFailed:
    found = f"The logo is {size[0]:,} × {size[1]:,} pixels" if size else "The logo is too large"
    return ValidationFailed(
        f"{found}; a logo may have at most {LOGO_MAX_PIXELS // 1_000_000} million pixels "
        "(e.g. 5,000 × 5,000). Export a smaller image (a letterhead needs about "
        f"{LOGO_MAX_SIDE:,} pixels across) and upload that. The logo was not changed.",
        field="logo",
    )
