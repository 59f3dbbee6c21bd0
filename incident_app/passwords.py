"""argon2id password hashing (argon2-cffi). Cost is set once by the factory from config."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

from incident_app.errors import ValidationFailed

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both paths cost one argon2 verification.
_dummy_hash = _hasher.hash("breachdesk-timing-equaliser")
# The hash of an account whose person has not yet set a password (an open invitation): no
# password matches it, and checking one costs the same as a real verification.
UNUSABLE = "!invited"


def configure(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy_hash = _hasher.hash("breachdesk-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no (or an unusable) hash, burns the same time and
    returns False."""
    usable = password_hash if password_hash and password_hash.startswith("$") else None
    try:
        _hasher.verify(usable or _dummy_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return usable is not None


PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256


def check_password_policy(password: str, *, field: str = "password") -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed(
            f"The password must be at least {PASSWORD_MIN_LENGTH} characters long.", field=field
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationFailed(
            f"The password must be at most {PASSWORD_MAX_LENGTH} characters long.", field=field
        )
