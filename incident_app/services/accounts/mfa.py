"""TOTP second factor (RFC 6238): enrolment with a locally generated QR code, one-time
recovery codes, replay protection, admin reset. HIPAA 164.312(d) person authentication."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import cast

import pyotp
import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.access import Capability
from incident_app.access import require
from incident_app.crypto import KeyRing
from incident_app.errors import ValidationFailed
from incident_app.models.organisation import Organisation
from incident_app.models.security import RecoveryCode
from incident_app.models.user import Role
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.accounts import sessions
from incident_app.services.rotation_batches import rotate_column

ISSUER = "BreachDesk"
RECOVERY_CODES = 10
STEP_SECONDS = 30


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_data_uri: str


def required_for(org: Organisation, user: User) -> bool:
    """Whether the user must enrol before doing anything. Always for a client contact: it
    signs in from outside the organisation to read its patients' PHI (164.312(d))."""
    if user.role is Role.CLIENT_CONTACT:
        return True
    return user.role.value in (org.mfa_required_roles or [])


def _aad(user: User) -> bytes:
    return f"user:{user.id}:totp".encode()


def _secret(user: User, keyring: KeyRing) -> str:
    if user.totp_secret is None:
        raise ValidationFailed("No authenticator is set up for this account.", field="code")
    return keyring.decrypt(user.totp_secret, _aad(user)).decode()


def begin_enrolment(session: Session, *, actor: User, keyring: KeyRing, now: datetime) -> Enrolment:
    """A fresh secret, stored encrypted and not yet active, with its QR code (made locally)."""
    user = session.get_one(User, actor.id)
    secret = pyotp.random_base32()
    user.totp_secret = keyring.encrypt(secret.encode(), _aad(user))
    audit.record(session, actor=user, action="mfa.enrolment_started", at=now)
    session.commit()
    return _enrolment(user, secret)


def current_enrolment(user: User, keyring: KeyRing) -> Enrolment | None:
    """The pending (not yet confirmed) enrolment, to show the same QR code again."""
    if user.mfa_enabled or user.totp_secret is None:
        return None
    return _enrolment(user, _secret(user, keyring))


def _enrolment(user: User, secret: str) -> Enrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return Enrolment(secret, uri, f"data:image/svg+xml;base64,{encoded}")


def confirm_enrolment(
    session: Session, *, actor: User, keyring: KeyRing, code: str, now: datetime
) -> list[str]:
    """Activate MFA when `code` matches; return the recovery codes (shown once)."""
    user = session.get_one(User, actor.id)
    step = _matching_step(_secret(user, keyring), code, now, last_step=None)
    if step is None:
        raise ValidationFailed(
            "That code does not match. Check the time on your phone and "
            "enter the current 6-digit code.",
            field="code",
        )
    user.mfa_enabled, user.totp_last_step = True, step
    codes = _new_recovery_codes(session, user, now)
    audit.record(session, actor=user, action="mfa.enabled", at=now)
    session.commit()
    return codes


def _matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (±1 step of clock drift), unless already used."""
    code = "".join(ch for ch in code if ch.isdigit())
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue  # replay: this or a later code was already accepted
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _code_hash(user_id: int, code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").lower()
    return hashlib.sha256(f"{user_id}:{normalised}".encode()).hexdigest()


def _new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(
            RecoveryCode(user_id=user.id, code_hash=_code_hash(user.id, raw), created_at=now)
        )
    return codes


def verify_second_factor(
    session: Session,
    *,
    user: User,
    keyring: KeyRing,
    code: str,
    now: datetime,
    max_failures: int,
    lock_minutes: int,
) -> bool:
    """Check a TOTP or recovery code at sign-in; failures count toward the lockout. Commits."""
    from incident_app.services.accounts.signin import register_failure

    step = _matching_step(_secret(user, keyring), code, now, user.totp_last_step)
    used = None if step is not None else _use_recovery_code(session, user, code, now)
    if step is None and used is None:
        register_failure(
            session,
            user,
            "wrong_mfa_code",
            now,
            max_failures=max_failures,
            lock_minutes=lock_minutes,
        )
        session.commit()
        return False
    if step is not None:
        user.totp_last_step = step
    user.failed_logins, user.locked_until = 0, None
    audit.record(
        session,
        actor=user,
        action="auth.mfa_verified",
        at=now,
        details={"method": "totp" if step is not None else "recovery_code"},
    )
    session.commit()
    return True


def _use_recovery_code(
    session: Session, user: User, code: str, now: datetime
) -> RecoveryCode | None:
    row = session.scalar(
        sa.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.used_at.is_(None),
            RecoveryCode.code_hash == _code_hash(user.id, code),
        )
    )
    if row is not None:
        row.used_at = now
    return row


def remaining_recovery_codes(session: Session, *, user: User) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def reset(session: Session, *, actor: User, user_id: int, now: datetime) -> User:
    """Admin: remove a user's authenticator and recovery codes; their sessions end."""
    require(actor, Capability.MANAGE_USERS)
    from incident_app.services.accounts.users import get_user

    user = get_user(session, user_id)
    user.mfa_enabled, user.totp_secret, user.totp_last_step = False, None, None
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    sessions.revoke_all(session, user_id=user.id, now=now, reason="mfa_reset")
    user.session_version += 1
    audit.record(
        session,
        actor=actor,
        action="mfa.reset",
        at=now,
        subject_type="user",
        subject_id=user.id,
        details={"email": user.email},
    )
    session.commit()
    return user


def rotate_totp_secrets(session: Session, keyring: KeyRing, batch_size: int) -> int:
    """Key rotation (services/key_rotation.ROTATIONS): re-encrypt each stored TOTP secret under
    the primary key; the associated data names the user, as when it was stored."""

    def reencrypt(row: tuple[Any, ...]) -> bytes | None:
        user_id, blob = row
        if not keyring.needs_rotation(blob):
            return None
        return keyring.reencrypt(blob, f"user:{user_id}:totp".encode())

    table = cast(sa.Table, User.__table__)
    return rotate_column(
        session,
        table=table,
        column="totp_secret",
        where=table.c.totp_secret.is_not(None),
        reencrypt=reencrypt,
        batch_size=batch_size,
    )
