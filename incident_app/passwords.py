"""argon2id password hashing (argon2-cffi). Cost is set once by the factory from config."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both paths cost one argon2 verification.
_dummy_hash = _hasher.hash("breachdesk-timing-equaliser")


def configure(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy_hash = _hasher.hash("breachdesk-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash, burns the same time and returns False."""
    try:
        _hasher.verify(password_hash or _dummy_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None
