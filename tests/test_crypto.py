"""The key ring: AES-256-GCM with key ids, associated data, rotation, and the blind index."""

from __future__ import annotations

import base64
import re
import stat
import sys
import threading
import unicodedata
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incident_app import crypto
from incident_app.crypto import DecryptionError
from incident_app.crypto import KeyConfigError
from incident_app.crypto import KeyRing
from incident_app.crypto import UnknownKeyError

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
INDEX_KEY = bytes(range(32))
KEY_A_B64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
KEY_B_B64 = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
INDEX_B64 = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="
AAD = b"roster:42:person"


def ring(*keys: tuple[str, bytes], index_key: bytes = INDEX_KEY) -> KeyRing:
    return KeyRing(list(keys), index_key)


# -- format and round trips ----------------------------------------------------------------


def test_ciphertext_is_header_nonce_and_sealed_text() -> None:
    blob = ring(("ka", KEY_A)).encrypt(b"Jane Doe", AAD)

    assert blob[:4] == b"\x01\x02ka"
    assert len(blob) == 4 + 12 + len(b"Jane Doe") + 16
    # Rebuilt by hand with AESGCM: the header is part of the associated data.
    assert AESGCM(KEY_A).decrypt(blob[4:16], blob[16:], b"\x01\x02ka" + AAD) == b"Jane Doe"


def test_round_trip_of_bytes_and_json() -> None:
    keys = ring(("ka", KEY_A))
    record = {"first": "Zoë", "last": "O'Brien", "dob": "1961-02-28", "phones": ["555-0100"]}

    assert keys.decrypt(keys.encrypt(b"", AAD), AAD) == b""
    assert keys.decrypt_json(keys.encrypt_json(record, AAD), AAD) == record


def test_same_plaintext_encrypts_differently_each_time() -> None:
    keys = ring(("ka", KEY_A))

    assert keys.encrypt(b"123-45-6789", AAD) != keys.encrypt(b"123-45-6789", AAD)


def test_encrypt_json_refuses_values_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        ring(("ka", KEY_A)).encrypt_json({"score": float("nan")}, AAD)


# -- tampering, associated data, unknown keys ------------------------------------------------


@pytest.mark.parametrize("position", [5, 20, -1], ids=["nonce", "ciphertext", "tag"])
def test_a_flipped_byte_is_detected(position: int) -> None:
    keys = ring(("ka", KEY_A))
    blob = bytearray(keys.encrypt(b"Jane Doe, 1 Main St", AAD))
    blob[position] ^= 0x01

    with pytest.raises(DecryptionError, match="it was modified"):
        keys.decrypt(bytes(blob), AAD)


def test_a_ciphertext_moved_to_another_row_or_field_is_refused() -> None:
    keys = ring(("ka", KEY_A))
    blob = keys.encrypt(b"Jane Doe", b"roster:42:person")

    for other in (b"roster:43:person", b"roster:42:address", b""):
        with pytest.raises(DecryptionError, match="belongs to another record or field"):
            keys.decrypt(blob, other)


def test_unknown_key_id_is_refused_with_what_to_do() -> None:
    blob = ring(("k2024", KEY_A)).encrypt(b"Jane Doe", AAD)

    with pytest.raises(UnknownKeyError) as caught:
        ring(("k2026", KEY_B)).decrypt(blob, AAD)

    message = str(caught.value)
    assert "key id 'k2024'" in message and "known: k2026" in message
    assert "BREACHDESK_DATA_KEYS" in message and "keys rotate" in message


def test_relabelling_the_key_id_does_not_help() -> None:
    keys = ring(("ka", KEY_A), ("kb", KEY_B))
    blob = ring(("ka", KEY_A)).encrypt(b"Jane Doe", AAD)

    with pytest.raises(DecryptionError):
        keys.decrypt(b"\x01\x02kb" + blob[4:], AAD)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x01",
        b"\x02\x02ka" + bytes(28),
        b"\x01\x09ka",
        b"\x01\x02k/" + bytes(28),
        b"\x01\x02ka" + bytes(20),
    ],
)
def test_garbage_is_refused_clearly(blob: bytes) -> None:
    with pytest.raises(DecryptionError, match="Cannot decrypt"):
        ring(("ka", KEY_A)).decrypt(blob, AAD)


# -- rotation ------------------------------------------------------------------------------


def test_rotation_from_a_to_b_keeps_everything_readable() -> None:
    old = ring(("ka", KEY_A))
    blob = old.encrypt_json({"name": "Jane"}, AAD)

    both = ring(("kb", KEY_B), ("ka", KEY_A))
    assert both.primary_id == "kb" and both.key_ids == ["kb", "ka"]
    assert both.needs_rotation(blob)
    assert both.decrypt_json(blob, AAD) == {"name": "Jane"}

    rotated = both.reencrypt(blob, AAD)
    assert crypto.key_id_of(rotated) == "kb" and not both.needs_rotation(rotated)
    assert both.reencrypt(rotated, AAD) is rotated  # already done: untouched

    only_b = ring(("kb", KEY_B))
    assert only_b.decrypt_json(rotated, AAD) == {"name": "Jane"}
    with pytest.raises(UnknownKeyError):
        only_b.decrypt_json(blob, AAD)


# -- blind index ---------------------------------------------------------------------------


def test_blind_index_is_hmac_sha256_of_purpose_and_normalised_value() -> None:
    # Expected value from: printf 'mrn\0abc-123' | openssl dgst -sha256 -mac HMAC
    #   -macopt hexkey:000102...1f
    expected = "64891368469338fff214d4066b8cc336afbd99c45b9750c253461eb9bbc4db99"

    assert ring(("ka", KEY_A)).blind_index("  ABC-123 ", purpose="mrn") == expected


def test_blind_index_normalises_case_width_and_spaces() -> None:
    keys = ring(("ka", KEY_A))

    def token(value: str) -> str:
        return keys.blind_index(value, purpose="name")

    assert token("STRASSE") == token("straße")
    assert token("Ｍｒｎ７") == token("mrn7")  # full-width forms (NFKC)
    assert token("Mary  Ann\tSmith") == token("mary ann smith")
    assert token("Mary Ann") != token("Mary-Ann")


def test_blind_index_depends_on_purpose_and_key() -> None:
    keys = ring(("ka", KEY_A))
    other_index_key = ring(("ka", KEY_A), index_key=KEY_B)

    assert keys.blind_index("123", purpose="mrn") != keys.blind_index("123", purpose="member")
    assert keys.blind_index("123", purpose="mrn") != other_index_key.blind_index(
        "123", purpose="mrn"
    )


def test_blind_index_of_an_empty_value_is_refused() -> None:
    with pytest.raises(ValueError, match="the value is empty"):
        ring(("ka", KEY_A)).blind_index(" \t ", purpose="mrn")


def _regex_normalised(value: str) -> str:
    """The normalisation as first written (and stored tokens were made with)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value)).strip().casefold()


WHITESPACE = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]


@pytest.mark.parametrize("space", WHITESPACE, ids=lambda c: f"U+{ord(c):04X}")
def test_index_normalisation_still_matches_the_regex_form_for_every_space(space: str) -> None:
    # Tokens already stored must still be found: the faster split()/join() form must give
    # what the regex gave, for every character Python calls whitespace, ASCII or not.
    for value in (
        f"{space}José{space}{space}Núñez{space}",
        f"MRN{space}7",
        f"ａ{space}b",
        f"{space}",
        f"A{space}\u00e9",
    ):
        assert crypto.normalise_for_index(value) == _regex_normalised(value)


@pytest.mark.parametrize(
    "value",
    [
        "  ABC-123 ",
        "José  Núñez",
        "Ｍｒｎ７",
        "STRASSE",
        "straße",
        "o'brien\x1fjosé\x1f1950-01-01",
        "x" * 200,
        "\u00a0MRN\u2003 9\u3000",
    ],
)
def test_the_hot_loop_indexer_gives_the_same_tokens_as_blind_index(value: str) -> None:
    for index_key in (INDEX_KEY, bytes(range(64)) * 2):  # a key longer than SHA-256's block
        keys = ring(("ka", KEY_A), index_key=index_key)
        index = keys.blind_indexer("roster.identity")
        assert index(value) == keys.blind_index(value, purpose="roster.identity")


def test_the_hot_loop_indexer_returns_none_for_an_empty_value() -> None:
    assert ring(("ka", KEY_A)).blind_indexer("mrn")(" \t\u3000 ") is None


# -- key configuration ---------------------------------------------------------------------


def test_data_keys_parse_in_order_first_is_primary() -> None:
    keys = crypto.parse_data_keys(f"kb:{KEY_B_B64}, ka:{KEY_A_B64}")

    assert keys == [("kb", KEY_B), ("ka", KEY_A)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no keys"),
        (KEY_A_B64, "entry 1 is not of the form id:base64key"),
        (f"ka:{KEY_A_B64},kb", "entry 2 is not of the form"),
        ("ka:not base64!", "key 'ka' is not valid base64"),
        ("ka:" + base64.b64encode(bytes(16)).decode(), "is 16 bytes once base64-decoded"),
        (f"bad id:{KEY_A_B64}", "'bad id' is not valid"),
    ],
)
def test_malformed_data_keys_get_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(KeyConfigError, match=message) as caught:
        crypto.parse_data_keys(text)

    assert KEY_A_B64 not in str(caught.value)


def test_a_key_id_cannot_appear_twice() -> None:
    with pytest.raises(KeyConfigError, match="'ka' appears twice"):
        ring(("ka", KEY_A), ("ka", KEY_B))


def test_config_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREACHDESK_DATA_KEYS", f"ka:{KEY_A_B64}")
    monkeypatch.setenv("BREACHDESK_INDEX_KEY", INDEX_B64)

    from_env = crypto.load_keyring({"ENV_NAME": "production"})
    from_config = crypto.load_keyring(
        {"ENV_NAME": "production", "BREACHDESK_DATA_KEYS": f"kb:{KEY_B_B64},ka:{KEY_A_B64}"}
    )

    assert from_env.key_ids == ["ka"] and from_env.source.data_keys == "BREACHDESK_DATA_KEYS"
    assert from_config.key_ids == ["kb", "ka"]


@pytest.mark.parametrize("env_name", ["production", "base"])
def test_production_refuses_to_start_without_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env_name: str
) -> None:
    monkeypatch.delenv("BREACHDESK_DATA_KEYS", raising=False)
    monkeypatch.delenv("BREACHDESK_INDEX_KEY", raising=False)
    config = {"ENV_NAME": env_name, "INSTANCE_DIR": tmp_path}

    with pytest.raises(SystemExit) as caught:
        crypto.require_keys(config)

    assert "BREACHDESK_DATA_KEYS is not set" in str(caught.value.code)
    assert "python -m incident_app.cli.keys generate" in str(caught.value.code)
    assert list(tmp_path.iterdir()) == []  # nothing written to instance/


def test_production_also_needs_the_index_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREACHDESK_DATA_KEYS", f"ka:{KEY_A_B64}")
    monkeypatch.delenv("BREACHDESK_INDEX_KEY", raising=False)

    with pytest.raises(SystemExit, match="BREACHDESK_INDEX_KEY is not set"):
        crypto.require_keys({"ENV_NAME": "production"})


def test_development_keeps_its_keys_in_instance_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BREACHDESK_DATA_KEYS", raising=False)
    monkeypatch.delenv("BREACHDESK_INDEX_KEY", raising=False)
    config = {"ENV_NAME": "development", "INSTANCE_DIR": tmp_path / "instance"}

    first = crypto.load_keyring(config)
    blob = first.encrypt(b"Jane", AAD)
    second = crypto.load_keyring(config)

    assert second.decrypt(blob, AAD) == b"Jane"
    assert first.key_ids == ["dev1"]
    for name in ("data_keys", "index_key"):
        assert stat.S_IMODE((tmp_path / "instance" / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "instance").iterdir()) == ["data_keys", "index_key"]


def test_processes_starting_together_agree_on_one_instance_key(tmp_path: Path) -> None:
    path = tmp_path / "data_keys"
    results: list[str] = []

    def load() -> None:
        results.append(crypto._instance_key_file(path, crypto._new_data_keys))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(results)) == 1 and results[0].startswith("dev1:")
    assert [p.name for p in tmp_path.iterdir()] == ["data_keys"]


def test_a_short_index_key_is_refused() -> None:
    with pytest.raises(KeyConfigError, match="at least 32 bytes"):
        KeyRing([("ka", KEY_A)], b"short")


def test_generated_key_lines_parse_back() -> None:
    ((key_id, secret),) = crypto.parse_data_keys(crypto.generate_key_line("k20260301"))

    assert key_id == "k20260301" and len(secret) == 32
