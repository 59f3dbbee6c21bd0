"""`flask keys generate | status | rotate`, through the real CLI runner."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from incident_app import crypto
from incident_app.crypto import KeyRing
from incident_app.db import get_session
from incident_app.models.audit import AuditEvent
from incident_app.services import key_rotation
from incident_app.storage import FileStore

ROOT = Path(__file__).resolve().parents[2]
KEY_A = "ka:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
KEY_B = "kb:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
INDEX = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="


def use_keys(app: Flask, data_keys: str) -> KeyRing:
    """Restart-equivalent: the app reads a new BREACHDESK_DATA_KEYS."""
    app.config["BREACHDESK_DATA_KEYS"] = data_keys
    app.config["BREACHDESK_INDEX_KEY"] = INDEX
    app.extensions.pop("keyring", None)
    return crypto.load_keyring(app.config)


def store_for(app: Flask, data_keys: str) -> FileStore:
    return FileStore(app.config["FILE_STORE_DIR"], use_keys(app, data_keys), chunk_size=1000)


def test_generate_prints_one_key_line_that_parses(runner) -> None:
    result = runner.invoke(args=["keys", "generate", "--id", "k2026a"])

    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert crypto.parse_data_keys(line)[0][0] == "k2026a"
    assert "Put this entry FIRST in BREACHDESK_DATA_KEYS" in result.stderr


def test_generate_defaults_to_a_dated_id_and_makes_index_keys(runner) -> None:
    dated = runner.invoke(args=["keys", "generate"])
    index = runner.invoke(args=["keys", "generate", "--index"])

    assert dated.stdout.startswith("k20") and len(dated.stdout.split(":")[0]) == 9
    assert len(base64.b64decode(index.stdout.strip(), validate=True)) == 32


def test_generate_refuses_a_bad_id(runner) -> None:
    result = runner.invoke(args=["keys", "generate", "--id", "no spaces"])

    assert result.exit_code != 0 and "'no spaces' is not valid" in result.output


@pytest.mark.slow
def test_generate_works_without_an_app_for_first_production_setup() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "incident_app.cli.keys", "generate", "--id", "prod1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert crypto.parse_data_keys(result.stdout)[0][0] == "prod1"


def test_status_shows_keys_and_files_per_key(app: Flask, runner) -> None:
    old = store_for(app, KEY_A)
    old.put_bytes(b"evidence one")
    old.put_bytes(b"evidence two")
    store_for(app, f"{KEY_B},{KEY_A}").put_bytes(b"a letter")

    result = runner.invoke(args=["keys", "status"])

    assert result.exit_code == 0, result.output
    assert "Data keys (BREACHDESK_DATA_KEYS): kb (primary), ka" in result.output
    assert "Stored files in" in result.output and ": 3\n" in result.output
    assert "  ka: 2\n  kb: 1\n" in result.output
    assert "2 file(s) are not under the primary key" in result.output
    assert (
        "Database re-encryption hooks: roster, totp, outbox, inquiries, enrolment_codes\n"
        in result.output
    )


def test_status_flags_files_whose_key_left_the_ring(app: Flask, runner) -> None:
    store_for(app, KEY_A).put_bytes(b"evidence one")
    use_keys(app, KEY_B)

    result = runner.invoke(args=["keys", "status"])

    assert "  ka: 1  (key NOT in the ring)" in result.output


def test_rotate_moves_every_file_to_the_new_key(app: Flask, runner) -> None:
    old = store_for(app, KEY_A)
    hashes = [old.put_bytes(data).sha256 for data in (b"one", b"two" * 900, b"")]
    use_keys(app, f"{KEY_B},{KEY_A}")

    result = runner.invoke(args=["keys", "rotate"])

    assert result.exit_code == 0, result.output
    assert "Re-encrypting to the primary key kb." in result.output
    assert "files: 3/3 checked, 3 re-encrypted" in result.output
    assert "Done. Files: 3 re-encrypted, 0 already under kb, 0 failed." in result.output
    only_b = store_for(app, KEY_B)
    assert [only_b.read_verified(sha) for sha in hashes] == [b"one", b"two" * 900, b""]
    with app.app_context():
        event = (
            get_session()
            .scalars(sa.select(AuditEvent).where(AuditEvent.action == "keys.rotated"))
            .one()
        )
    assert event.subject_id == "kb" and event.details["files_reencrypted"] == 3


def test_an_interrupted_rotation_finishes_on_the_next_run(app: Flask, runner) -> None:
    old = store_for(app, KEY_A)
    hashes = [old.put_bytes(bytes([n]) * 100).sha256 for n in range(4)]
    both = store_for(app, f"{KEY_B},{KEY_A}")
    both.rotate_file(hashes[0])  # the first run got this far before it was killed
    both.rotate_file(hashes[2])
    assert both.count_by_key() == {"ka": 2, "kb": 2}
    assert all(both.read_verified(sha) for sha in hashes)  # half-way, all readable

    result = runner.invoke(args=["keys", "rotate"])
    again = runner.invoke(args=["keys", "rotate"])

    assert "Done. Files: 2 re-encrypted, 2 already under kb, 0 failed." in result.output
    assert "Done. Files: 0 re-encrypted, 4 already under kb, 0 failed." in again.output
    assert store_for(app, KEY_B).count_by_key() == {"kb": 4}


def test_rotate_runs_the_database_rotations(app: Flask, runner, monkeypatch) -> None:
    ring_a = use_keys(app, KEY_A)
    table = {row: ring_a.encrypt_json({"row": row}, f"test:{row}".encode()) for row in range(5)}
    calls = []

    def reencrypt_table(session, keyring: KeyRing, batch_size: int) -> int:
        calls.append((session is not None, batch_size))
        done = 0
        for row, blob in table.items():
            if keyring.needs_rotation(blob):
                table[row] = keyring.reencrypt(blob, f"test:{row}".encode())
                done += 1
        return done

    monkeypatch.setattr(key_rotation, "ROTATIONS", (("test-table", reencrypt_table),))
    use_keys(app, f"{KEY_B},{KEY_A}")
    first = runner.invoke(args=["keys", "rotate", "--batch-size", "2"])
    second = runner.invoke(args=["keys", "rotate"])

    assert "Database (test-table): 5 value(s) re-encrypted." in first.output
    assert "Database (test-table): 0 value(s) re-encrypted." in second.output
    assert calls == [(True, 2), (True, 500)]
    ring_b = use_keys(app, KEY_B)
    assert [ring_b.decrypt_json(table[r], f"test:{r}".encode()) for r in range(5)] == [
        {"row": r} for r in range(5)
    ]


def test_rotate_reports_a_damaged_file_and_still_rotates_the_rest(app: Flask, runner) -> None:
    old = store_for(app, KEY_A)
    good = old.put_bytes(b"good file").sha256
    bad = old.put_bytes(b"bad file").sha256
    old.path_for(bad).write_bytes(b"BDFS garbage")
    use_keys(app, f"{KEY_B},{KEY_A}")

    result = runner.invoke(args=["keys", "rotate"])

    assert result.exit_code == 1
    assert "1 re-encrypted, 0 already under kb, 1 failed" in result.output
    assert f"1 file(s) could not be re-encrypted and were left as they were: {bad}" in (
        result.output
    )
    assert store_for(app, KEY_B).read_verified(good) == b"good file"


@pytest.mark.parametrize("command", ["status", "rotate"])
def test_commands_work_on_an_empty_store(runner, command: str) -> None:
    result = runner.invoke(args=["keys", command])

    assert result.exit_code == 0, result.output
    assert "dev1" in result.output
