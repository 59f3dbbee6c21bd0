"""The audit key ring: HMAC-SHA256 keys with key ids that authenticate the audit chain.

Like the data keys (`incident_app/crypto.py`), the audit keys live outside the database: in
`BREACHDESK_AUDIT_KEYS` (``id:base64key`` entries, comma- or newline-separated, the first is
the primary that signs every new row), or, in development and test only, in
`instance/audit_keys` created once with mode 0600. Someone who holds a copy of the database but
not this key cannot forge, re-hash or rewind the chain without `flask audit verify` noticing.

Rotation: put a new key first and keep the old ones after it; rows and checkpoints signed with
an old key still verify by their key id, new ones use the primary; `flask audit rekey` re-signs
everything with the primary so the old key can then be removed.

No Flask here: the factory builds the ring with `require_audit_keys(config)` and binds it to
every database session it makes (`bind_to(session_info)`), so `services/audit.record` finds it
without a parameter at each of its call sites.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from collections.abc import MutableMapping
from collections.abc import Sequence
from typing import Any

from incident_app.crypto import KeyConfigError
from incident_app.crypto import generate_key_line
from incident_app.crypto import key_text
from incident_app.crypto import parse_data_keys

AUDIT_KEYS_ENV = "BREACHDESK_AUDIT_KEYS"
AUDIT_KEYS_FILE = "audit_keys"
SESSION_INFO_KEY = "breachdesk.audit_keys"


class UnknownAuditKeyError(KeyConfigError):
    """A row, the head or a checkpoint names an audit key id that is not in the ring."""


class AuditKeys:
    """Audit MAC keys by id; the first is the primary (signs everything new)."""

    def __init__(self, keys: Sequence[tuple[str, bytes]], *, source: str = "given") -> None:
        if not keys:
            raise KeyConfigError("The audit key ring needs at least one key.")
        self._keys: dict[str, bytes] = {}
        for key_id, secret in keys:
            if key_id in self._keys:
                raise KeyConfigError(f"Audit key id {key_id!r} appears twice.")
            self._keys[key_id] = bytes(secret)
        self.primary_id = keys[0][0]
        self.source = source

    def __repr__(self) -> str:
        return f"<AuditKeys primary={self.primary_id} keys={list(self._keys)}>"

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def has_key(self, key_id: str) -> bool:
        return key_id in self._keys

    def mac(self, key_id: str, purpose: str, *parts: str) -> str:
        """HMAC-SHA256 (hex) under `key_id` over the purpose, the key id and `parts`, each
        NUL-separated, so a MAC made for one purpose never verifies for another."""
        try:
            secret = self._keys[key_id]
        except KeyError:
            raise UnknownAuditKeyError(
                f"Audit key {key_id!r} is not in the audit key ring (known: "
                f"{', '.join(self._keys)}). Put it back at the end of {AUDIT_KEYS_ENV} and run "
                "`flask --app wsgi audit rekey` before removing it."
            ) from None
        message = "\x00".join(("breachdesk-audit-v1", purpose, key_id, *parts))
        return hmac.new(secret, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def check(self, key_id: str | None, purpose: str, mac: str | None, *parts: str) -> bool:
        """True when `mac` is the MAC of `parts` under `key_id` (constant-time compare)."""
        if not key_id or not mac or key_id not in self._keys:
            return False
        return hmac.compare_digest(self.mac(key_id, purpose, *parts), mac)

    def bind_to(self, session_info: MutableMapping[str, Any]) -> None:
        """Make these keys the ones audit events written through that session are signed with
        (`session.info`, or a sessionmaker's `info=` that every new session copies)."""
        session_info[SESSION_INFO_KEY] = self


def bound_keys(session_info: Mapping[str, Any]) -> AuditKeys | None:
    keys = session_info.get(SESSION_INFO_KEY)
    return keys if isinstance(keys, AuditKeys) else None


def load_audit_keys(config: Mapping[str, Any]) -> AuditKeys:
    """From config or the environment (config wins); development/test fall back to
    instance/audit_keys. Never from the database."""
    text, source = key_text(config, AUDIT_KEYS_ENV, AUDIT_KEYS_FILE, _new_audit_key)
    return AuditKeys(parse_data_keys(text, origin=source), source=source)


def require_audit_keys(config: Mapping[str, Any]) -> AuditKeys:
    try:
        return load_audit_keys(config)
    except KeyConfigError as error:
        raise SystemExit(f"Audit keys: {error}") from error


def _new_audit_key() -> str:
    return generate_key_line("audit1") + "\n"
