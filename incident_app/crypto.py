"""Encryption at rest: a ring of AES-256-GCM data keys with key ids, and a keyed blind index.

No Flask here: build a `KeyRing` from a config mapping with `load_keyring(config)` (the factory
calls `require_keys`, which turns a missing or malformed key into a clear start-up error).

Ciphertext layout (`KeyRing.encrypt`)::

    version (1 byte, 0x01) | key id length (1 byte) | key id (ASCII) | nonce (12) | ciphertext+tag

The header is part of the associated data, so nobody can relabel a ciphertext with another key
id. Callers add their own associated data naming where the value lives (for example
``b"roster:42:person"``) so a ciphertext copied to another row or column no longer decrypts.
Encrypt with the primary key (the first of the ring); decrypt with whichever key the header
names, so rotation never needs downtime.

Just over 400 lines: the key ring, the envelope format and the blind index are one security
boundary, reviewed together; splitting them would spread the key handling over modules.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_SIZE = 12
TAG_SIZE = 16
KEY_SIZE = 32
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,32}")
DATA_KEYS_ENV = "BREACHDESK_DATA_KEYS"
INDEX_KEY_ENV = "BREACHDESK_INDEX_KEY"
DATA_KEYS_FILE = "data_keys"
INDEX_KEY_FILE = "index_key"
# Only these environments may fall back to keys kept in instance/; anything else (production,
# or a config class that forgot to say) must be given its keys explicitly.
INSTANCE_KEY_ENVS = frozenset({"development", "test"})
_SHA256_BLOCK = 64  # bytes: HMAC pads the key to the hash's block size


class CryptoError(Exception):
    """Base class: every problem with keys or ciphertexts."""


class KeyConfigError(CryptoError):
    """The key configuration is missing or malformed (never quotes key material)."""


class UnknownKeyError(CryptoError):
    """A ciphertext names a key id that is not in the ring."""


class DecryptionError(CryptoError):
    """A ciphertext is damaged, was modified, or belongs to other associated data."""


@dataclass(frozen=True)
class KeyRingSource:
    """Where the keys came from, for `flask keys status` (never the keys themselves)."""

    data_keys: str
    index_key: str


class KeyRing:
    """Data keys by id (the first is the primary) plus the blind-index key.

    Build it once per process and share it: the AESGCM objects and the HMAC state are made
    here, so encrypting a value costs one AES-GCM call and no key derivation.
    """

    def __init__(
        self,
        data_keys: Sequence[tuple[str, bytes]],
        index_key: bytes,
        *,
        source: KeyRingSource | None = None,
    ) -> None:
        if not data_keys:
            raise KeyConfigError("The key ring needs at least one data key.")
        self._ciphers: dict[str, AESGCM] = {}
        for key_id, secret in data_keys:
            _check_key(key_id, secret)
            if key_id in self._ciphers:
                raise KeyConfigError(f"Data key id {key_id!r} appears twice in the key ring.")
            self._ciphers[key_id] = AESGCM(secret)
        if len(index_key) < KEY_SIZE:
            raise KeyConfigError(
                f"The blind-index key must be at least {KEY_SIZE} bytes; got {len(index_key)}."
            )
        self.primary_id = data_keys[0][0]
        self._material = (tuple(data_keys), bytes(index_key))
        self._headers = {key_id: _header(key_id) for key_id in self._ciphers}
        self._index_mac = hmac.new(index_key, digestmod=hashlib.sha256)
        self.source = source or KeyRingSource("given", "given")

    def __repr__(self) -> str:
        return f"<KeyRing primary={self.primary_id} keys={list(self._ciphers)}>"

    def material(self) -> tuple[tuple[tuple[str, bytes], ...], bytes]:
        """(data keys, index key): enough to rebuild this ring with `KeyRing(*material)` in a
        helper process of this deployment (a multiprocessing pool). Never log or store it."""
        return self._material

    @property
    def key_ids(self) -> list[str]:
        """Every key id, primary first."""
        return list(self._ciphers)

    def has_key(self, key_id: str) -> bool:
        return key_id in self._ciphers

    def require_key(self, key_id: str) -> None:
        """Raise UnknownKeyError (saying what to do) unless `key_id` is in the ring."""
        self._cipher(key_id)

    # -- whole values --------------------------------------------------------------------

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt under the primary key; `aad` names where the value lives (it is not stored)."""
        header = self._headers[self.primary_id]
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._ciphers[self.primary_id].encrypt(nonce, plaintext, header + aad)
        return header + nonce + sealed

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt with the key the header names.

        Raises UnknownKeyError when that key is not in the ring, DecryptionError when the
        bytes were modified or `aad` is not the one used to encrypt.
        """
        key_id, body_start = parse_header(blob)
        cipher = self._cipher(key_id)
        nonce = blob[body_start : body_start + NONCE_SIZE]
        body = blob[body_start + NONCE_SIZE :]
        if len(nonce) < NONCE_SIZE or len(body) < TAG_SIZE:
            raise DecryptionError("Cannot decrypt: the ciphertext is truncated.")
        try:
            return cipher.decrypt(nonce, body, blob[:body_start] + aad)
        except InvalidTag as error:
            raise DecryptionError(
                f"Cannot decrypt a value under key {key_id!r}: it was modified, or it belongs "
                "to another record or field (associated data does not match)."
            ) from error

    def encrypt_json(self, obj: Any, aad: bytes) -> bytes:
        """Encrypt a JSON-serialisable value (dates and Decimals must be converted first).

        One blob per record (a dict of its PHI fields) is the recommended shape: 1 AES-GCM call
        per row instead of one per column.
        """
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return self.encrypt(text.encode("utf-8"), aad)

    def decrypt_json(self, blob: bytes, aad: bytes) -> Any:
        return json.loads(self.decrypt(blob, aad))

    def needs_rotation(self, blob: bytes) -> bool:
        """True when `blob` is not encrypted under the primary key."""
        return key_id_of(blob) != self.primary_id

    def reencrypt(self, blob: bytes, aad: bytes) -> bytes:
        """The same plaintext under the primary key (returns `blob` itself if already there)."""
        if not self.needs_rotation(blob):
            return blob
        return self.encrypt(self.decrypt(blob, aad), aad)

    # -- raw AEAD for framed formats (the file store's chunks) -------------------------

    def seal(self, key_id: str, plaintext: bytes, aad: bytes) -> bytes:
        """nonce + ciphertext + tag under `key_id`, no header (the caller frames it)."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._cipher(key_id).encrypt(nonce, plaintext, aad)

    def unseal(self, key_id: str, sealed: bytes, aad: bytes) -> bytes:
        """Inverse of `seal`; raises DecryptionError on any mismatch."""
        try:
            return self._cipher(key_id).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], aad)
        except InvalidTag as error:
            raise DecryptionError(
                f"Cannot decrypt under key {key_id!r}: the data was modified, truncated or "
                "reordered."
            ) from error

    # -- blind index -------------------------------------------------------------------

    def blind_index(self, value: str, *, purpose: str) -> str:
        """A keyed, deterministic token for equality search without a plaintext column.

        HMAC-SHA256 over purpose and the normalised value (Unicode NFKC, surrounding whitespace
        stripped, inner runs of whitespace collapsed to one space, casefolded), as 64 hex
        characters. Different purposes give unrelated tokens for the same value. Raises
        ValueError for a value that is empty once normalised (store NULL instead).
        """
        normalised = normalise_for_index(value)
        if not normalised:
            raise ValueError(f"Nothing to index for {purpose!r}: the value is empty.")
        mac = self._index_mac.copy()
        mac.update(purpose.encode("utf-8") + b"\x00" + normalised.encode("utf-8"))
        return mac.hexdigest()

    def blind_indexer(self, purpose: str) -> Callable[[str], str | None]:
        """`blind_index` for one purpose as a function for hot loops (a million-row import):
        the same tokens, with the HMAC pads (RFC 2104) and the purpose prefix hashed once.
        Returns None instead of raising for a value that is empty once normalised."""
        key = self._material[1]
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_SHA256_BLOCK, b"\x00")
        inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        inner.update(purpose.encode("utf-8") + b"\x00")
        outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

        def index(value: str) -> str | None:
            normalised = normalise_for_index(value)
            if not normalised:
                return None
            mac = inner.copy()
            mac.update(normalised.encode("utf-8"))
            result = outer.copy()
            result.update(mac.digest())
            return result.hexdigest()

        return index

    def _cipher(self, key_id: str) -> AESGCM:
        try:
            return self._ciphers[key_id]
        except KeyError:
            raise UnknownKeyError(
                f"Data encrypted with key id {key_id!r} cannot be read: that key is not in the "
                f"key ring (known: {', '.join(self._ciphers)}). Put the old key back at the end "
                f"of {DATA_KEYS_ENV} and run `flask --app wsgi keys rotate` before removing it."
            ) from None


def normalise_for_index(value: str) -> str:
    if value.isascii():
        # Same result, much cheaper: NFKC leaves ASCII alone, split() knows the same
        # whitespace as \s, and casefold() is lower() on ASCII.
        return " ".join(value.split()).lower()
    # str.split() and the regex \s know the same whitespace (CPython's Py_UNICODE_ISSPACE).
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


def _header(key_id: str) -> bytes:
    encoded = key_id.encode("ascii")
    return bytes((FORMAT_VERSION, len(encoded))) + encoded


def parse_header(blob: bytes) -> tuple[str, int]:
    """(key id, offset of the nonce) of a `KeyRing.encrypt` ciphertext."""
    if len(blob) < 2 or blob[0] != FORMAT_VERSION:
        raise DecryptionError(
            "Cannot decrypt: this is not a BreachDesk ciphertext (unknown format version)."
        )
    end = 2 + blob[1]
    try:
        key_id = blob[2:end].decode("ascii")
    except UnicodeDecodeError:
        key_id = ""
    if len(blob) < end or not KEY_ID_PATTERN.fullmatch(key_id):
        raise DecryptionError("Cannot decrypt: the ciphertext header is damaged.")
    return key_id, end


def key_id_of(blob: bytes) -> str:
    """The key id a `KeyRing.encrypt` ciphertext was made with."""
    return parse_header(blob)[0]


def _check_key(key_id: str, secret: bytes) -> None:
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise KeyConfigError(
            f"Data key id {key_id!r} is not valid: use 1-32 letters, digits, '.', '_' or '-'."
        )
    if len(secret) != KEY_SIZE:
        raise KeyConfigError(
            f"Data key {key_id!r} is {len(secret)} bytes once base64-decoded; AES-256 needs "
            f"{KEY_SIZE}. Make one with `python -m incident_app.cli.keys generate`."
        )


# -- configuration ---------------------------------------------------------------------


def generate_key_line(key_id: str) -> str:
    """A new `id:base64key` entry for BREACHDESK_DATA_KEYS."""
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise KeyConfigError(
            f"Key id {key_id!r} is not valid: use 1-32 letters, digits, '.', '_' or '-'."
        )
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode('ascii')}"


def parse_data_keys(text: str, *, origin: str = DATA_KEYS_ENV) -> list[tuple[str, bytes]]:
    """Parse `id:base64key` entries separated by commas or newlines; the first is the primary."""
    entries = [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]
    if not entries:
        raise KeyConfigError(f"{origin} holds no keys.")
    keys = []
    for number, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep:
            raise KeyConfigError(
                f"{origin}: entry {number} is not of the form id:base64key (no ':' found)."
            )
        key_id = key_id.strip()
        secret = _b64decode(encoded.strip(), f"{origin}: key {key_id!r}")
        _check_key(key_id, secret)
        keys.append((key_id, secret))
    return keys


def _b64decode(encoded: str, what: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise KeyConfigError(f"{what} is not valid base64.") from error


def load_keyring(config: Mapping[str, Any]) -> KeyRing:
    """Build the ring from config values or the environment (config wins).

    Development and test fall back to `instance/data_keys` and `instance/index_key`, created
    once with mode 0600. Any other environment raises KeyConfigError when a key is missing.
    Keys are never read from or written to the database.
    """
    data_text, data_source = key_text(config, DATA_KEYS_ENV, DATA_KEYS_FILE, _new_data_keys)
    index_text, index_source = key_text(config, INDEX_KEY_ENV, INDEX_KEY_FILE, _new_index_key)
    data_keys = parse_data_keys(data_text, origin=data_source)
    index_key = _b64decode(index_text.strip(), index_source)
    return KeyRing(data_keys, index_key, source=KeyRingSource(data_source, index_source))


def require_keys(config: Mapping[str, Any]) -> KeyRing:
    """For the factory: the key ring, or SystemExit with a message saying what to set."""
    try:
        return load_keyring(config)
    except KeyConfigError as error:
        raise SystemExit(f"Encryption keys: {error}") from error


def key_text(
    config: Mapping[str, Any], name: str, filename: str, make: Callable[[], str]
) -> tuple[str, str]:
    """(key text, where it came from): config, then the environment, then (development and
    test only) instance/<filename>, created once. Shared with `incident_app.audit_keys`."""
    value = config.get(name) or os.environ.get(name)
    if value:
        return value, name
    if config.get("ENV_NAME") not in INSTANCE_KEY_ENVS:
        raise KeyConfigError(
            f"{name} is not set. Production keeps encryption keys in the environment, never in "
            "the database: generate one with `python -m incident_app.cli.keys generate"
            + (
                " --index` and set it."
                if name == INDEX_KEY_ENV
                else "` and set it (id:base64key entries, comma-separated, first = primary)."
            )
        )
    path = Path(config["INSTANCE_DIR"]) / filename
    return _instance_key_file(path, make), str(path)


def _new_data_keys() -> str:
    return generate_key_line("dev1") + "\n"


def _new_index_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode("ascii") + "\n"


def _instance_key_file(path: Path, make: Callable[[], str]) -> str:
    """Read `path`, creating it once (development/test only).

    The key is written to a private temp file (O_EXCL, 0600) and then hard-linked to its final
    name: link fails if the name exists, so two processes starting together agree on one key,
    and no reader ever sees a half-written file.
    """
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
    finally:
        temp.unlink(missing_ok=True)
    return path.read_text()
