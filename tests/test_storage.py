"""The encrypted, content-addressed file store: layout, streaming, integrity, failures, rotation."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest
from flask import Flask

from incident_app import app_store
from incident_app import storage
from incident_app.crypto import KeyRing
from incident_app.crypto import UnknownKeyError
from incident_app.storage import FileStore
from incident_app.storage import FileTooLarge
from incident_app.storage import IntegrityError
from incident_app.storage import InvalidHash
from incident_app.storage import StorageError
from incident_app.storage import StoredFile
from incident_app.storage import StoredFileMissing

ROOT = Path(__file__).resolve().parents[1]
KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
HELLO_SHA = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"  # sha256sum
MIB = 1024 * 1024
HEADER = 4 + 1 + 4 + 1 + 2  # magic, version, chunk size, id length, "ka"
PER_CHUNK = 12 + 16  # nonce + tag


def ring_a() -> KeyRing:
    return KeyRing([("ka", KEY_A)], bytes(32))


def ring_ba() -> KeyRing:
    return KeyRing([("kb", KEY_B), ("ka", KEY_A)], bytes(32))


def ring_b() -> KeyRing:
    return KeyRing([("kb", KEY_B)], bytes(32))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "files"


@pytest.fixture
def store(root: Path) -> FileStore:
    return FileStore(root, ring_a())


def every_file(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class PatternStream:
    """A large upload that is generated as it is read, so the test itself holds no copy."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.block = bytes(range(256)) * 256  # 64 KiB
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        # Short reads, like a socket: at most one 64 KiB block per call.
        self.reads += 1
        piece = self.block[: min(size, len(self.block), self.remaining)]
        self.remaining -= len(piece)
        return piece


# -- layout and round trips --------------------------------------------------------------


def test_put_bytes_names_the_file_by_the_plaintext_sha256(store: FileStore, root: Path) -> None:
    stored = store.put_bytes(b"hello\n")

    assert stored == StoredFile(HELLO_SHA, 6)
    assert every_file(root) == [f"58/91/{HELLO_SHA}.bin"]
    assert store.read_verified(HELLO_SHA) == b"hello\n"
    assert store.exists(HELLO_SHA)


def test_stored_bytes_are_encrypted(store: FileStore, root: Path) -> None:
    secret = b"Patient: Jane Doe, MRN 0042, diagnosis ..." * 10
    stored = store.put_bytes(secret)

    on_disk = store.path_for(stored.sha256).read_bytes()
    assert on_disk.startswith(b"BDFS\x01") and b"Jane Doe" not in on_disk
    assert oct(store.path_for(stored.sha256).stat().st_mode & 0o777) == "0o600"


def test_an_empty_file_round_trips(store: FileStore) -> None:
    stored = store.put_stream(io.BytesIO(b""), max_bytes=10)

    assert stored.size == 0 and store.read_verified(stored.sha256) == b""


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 3000])
def test_streams_round_trip_around_chunk_boundaries(root: Path, size: int) -> None:
    store = FileStore(root, ring_a(), chunk_size=1000)
    data = os.urandom(size)

    stored = store.put_stream(io.BytesIO(data), max_bytes=10_000)

    assert stored == StoredFile(hashlib.sha256(data).hexdigest(), size)
    assert store.read_verified(stored.sha256) == data


def test_a_duplicate_put_is_recognised_and_not_rewritten(store: FileStore, root: Path) -> None:
    first = store.put_bytes(b"scan of the lost laptop receipt")
    path = store.path_for(first.sha256)
    before = path.stat()

    again = store.put_bytes(b"scan of the lost laptop receipt")
    streamed = store.put_stream(io.BytesIO(b"scan of the lost laptop receipt"), max_bytes=100)

    assert first == again == streamed
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert every_file(root) == [str(path.relative_to(root))]  # no temp file left behind


def test_streaming_a_large_file_works_in_chunks_with_bounded_memory(root: Path) -> None:
    store = FileStore(root, ring_a(), chunk_size=MIB)
    size = 5 * MIB + 123_456

    tracemalloc.start()
    try:
        stored = store.put_stream(PatternStream(size), max_bytes=10 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Six chunks (five full, one partial), each with its own nonce and tag.
    assert store.path_for(stored.sha256).stat().st_size == HEADER + size + 6 * PER_CHUNK
    assert peak < 5 * MIB  # a few chunks at a time, never the whole 5.1 MiB plus copies
    pieces = [len(chunk) for chunk in store.open_verified(stored.sha256)]
    assert pieces == [MIB] * 5 + [123_456]


def test_a_stream_over_the_limit_is_refused_and_leaves_nothing(
    store: FileStore, root: Path
) -> None:
    with pytest.raises(FileTooLarge, match="larger than the limit of 1,000 bytes"):
        store.put_stream(io.BytesIO(bytes(1001)), max_bytes=1000)

    assert every_file(root) == []
    assert store.put_stream(io.BytesIO(bytes(1000)), max_bytes=1000).size == 1000


# -- integrity -----------------------------------------------------------------------------


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_modified_byte_is_caught_at_its_chunk(root: Path) -> None:
    store = FileStore(root, ring_a(), chunk_size=1000)
    stored = store.put_bytes(os.urandom(2500))
    flip_byte(store.path_for(stored.sha256), HEADER + 1028 + 500)  # inside chunk 1

    chunks = store.open_verified(stored.sha256)
    assert len(next(chunks)) == 1000  # chunk 0 is intact
    with pytest.raises(
        IntegrityError,
        match=f"{stored.sha256} failed its integrity check at chunk 1: it was modified",
    ):
        next(chunks)


def test_a_file_cut_at_a_chunk_boundary_is_caught(root: Path) -> None:
    store = FileStore(root, ring_a(), chunk_size=1000)
    stored = store.put_bytes(os.urandom(3000))
    path = store.path_for(stored.sha256)
    path.write_bytes(path.read_bytes()[: HEADER + 2 * 1028])  # drop the last whole chunk

    with pytest.raises(IntegrityError, match="at chunk 1"):
        store.read_verified(stored.sha256)


def test_reordered_chunks_are_caught(root: Path) -> None:
    store = FileStore(root, ring_a(), chunk_size=1000)
    stored = store.put_bytes(os.urandom(3000))
    path = store.path_for(stored.sha256)
    data = path.read_bytes()
    first, second = data[HEADER : HEADER + 1028], data[HEADER + 1028 : HEADER + 2056]
    path.write_bytes(data[:HEADER] + second + first + data[HEADER + 2056 :])

    with pytest.raises(IntegrityError, match="at chunk 0"):
        store.read_verified(stored.sha256)


def test_a_file_replaced_by_another_valid_file_is_caught_before_its_last_chunk(
    root: Path,
) -> None:
    store = FileStore(root, ring_a(), chunk_size=1000)
    wanted = store.put_bytes(b"a" * 2500)
    other = store.put_bytes(b"b" * 2500)
    store.path_for(wanted.sha256).write_bytes(store.path_for(other.sha256).read_bytes())

    received = []
    with pytest.raises(
        IntegrityError, match=f"hashes to {other.sha256}. The file under this name was replaced"
    ):
        for chunk in store.open_verified(wanted.sha256):
            received.append(chunk)
    assert sum(map(len, received)) == 2000  # the last chunk was held back


def test_a_damaged_header_is_caught_before_any_byte(store: FileStore) -> None:
    stored = store.put_bytes(b"hello\n")
    store.path_for(stored.sha256).write_bytes(b"PK\x03\x04 not ours")

    with pytest.raises(IntegrityError, match="header is damaged"):
        store.open_verified(stored.sha256)


def test_a_missing_file_is_reported(store: FileStore) -> None:
    with pytest.raises(StoredFileMissing, match=f"No stored file {HELLO_SHA}"):
        store.open_verified(HELLO_SHA)
    assert not store.exists(HELLO_SHA)


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd",
        HELLO_SHA[:63],
        HELLO_SHA + "0",
        HELLO_SHA + "\n",
        "../" + HELLO_SHA[3:],
        HELLO_SHA[:62] + "/x",
        "g" * 64,
        "",
        None,
    ],
)
def test_names_other_than_64_hex_characters_are_rejected(store: FileStore, name: str) -> None:
    for call in (
        store.open_verified,
        store.read_verified,
        store.exists,
        store.delete,
        store.path_for,
        store.rotate_file,
    ):
        with pytest.raises(InvalidHash, match="expected 64 hex characters"):
            call(name)


def test_an_uppercase_hash_means_the_same_file(store: FileStore) -> None:
    store.put_bytes(b"hello\n")

    assert store.read_verified(HELLO_SHA.upper()) == b"hello\n"


def test_delete_removes_one_file(store: FileStore) -> None:
    store.put_bytes(b"hello\n")

    assert store.delete(HELLO_SHA) is True
    assert store.delete(HELLO_SHA) is False
    assert not store.exists(HELLO_SHA)


# -- disk full and other write failures -----------------------------------------------------


def disk_fills_after(monkeypatch: pytest.MonkeyPatch, allowed: int) -> None:
    """os.write raises ENOSPC once `allowed` bytes were written (we cannot fill the real disk)."""
    real_write = os.write
    budget = {"left": allowed}

    def write(fd: int, data: bytes) -> int:
        if budget["left"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = real_write(fd, bytes(data)[: budget["left"]])
        budget["left"] -= written
        return written

    monkeypatch.setattr(os, "write", write)


def test_put_many_stores_each_file_as_put_bytes_would(store: FileStore, root: Path) -> None:
    already = store.put_bytes(b"letter one")
    datas = [b"letter one", b"letter two", b"", b"letter two", os.urandom(3000)]

    stored = store.put_many(datas)

    assert stored == [StoredFile(hashlib.sha256(d).hexdigest(), len(d)) for d in datas]
    assert stored[0] == already
    assert [store.read_verified(file.sha256) for file in stored] == datas
    # One file per distinct content, no temp file left behind.
    assert len([name for name in every_file(root) if name.endswith(".bin")]) == 4
    assert not any(Path(name).name.startswith(".") for name in every_file(root))
    assert store.put_many([]) == []


def test_put_many_flushes_the_file_system_twice_not_each_file(
    store: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[int] = []
    monkeypatch.setattr(storage, "_syncfs", lambda fd: flushed.append(fd) or True)
    fsyncs: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd))

    store.put_many([b"%d" % n for n in range(50)])

    assert (len(flushed), fsyncs) == (2, [])  # the data once, the renames once


def test_put_many_fsyncs_each_file_where_there_is_no_syncfs(
    store: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "_SYNCFS", None)
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd) or real_fsync(fd))

    stored = store.put_many([b"a", b"b", b"c"])

    assert len(fsyncs) == 6  # each file, then each file's directory
    assert [store.read_verified(file.sha256) for file in stored] == [b"a", b"b", b"c"]


def test_a_full_disk_during_put_many_stores_none_of_the_group(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(root, ring_a(), chunk_size=1000)
    datas = [os.urandom(1500) for _ in range(4)]
    disk_fills_after(monkeypatch, 5000)  # the third file does not fit

    with pytest.raises(StorageError, match="the disk is full") as caught:
        store.put_many(datas)

    assert "Nothing was stored" in str(caught.value)
    monkeypatch.undo()
    assert every_file(root) == []  # the two written temp files were removed too


@pytest.mark.parametrize("how", ["put_bytes", "put_stream"])
def test_a_full_disk_raises_a_clear_error_and_leaves_no_partial_file(
    root: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    store = FileStore(root, ring_a(), chunk_size=1000)
    data = os.urandom(5000)
    disk_fills_after(monkeypatch, 2500)

    with pytest.raises(StorageError, match="the disk is full") as caught:
        if how == "put_bytes":
            store.put_bytes(data)
        else:
            store.put_stream(io.BytesIO(data), max_bytes=10_000)

    assert "Nothing was stored" in str(caught.value)
    monkeypatch.undo()
    assert every_file(root) == []
    assert not store.exists(hashlib.sha256(data).hexdigest())


@pytest.mark.slow
def test_a_real_write_failure_from_the_kernel_leaves_no_partial_file(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes the kernel refuse writes past 64 KiB (EFBIG): a real failing write,
    # in a child process so the limit cannot touch the test run itself.
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from incident_app.crypto import KeyRing
        from incident_app.storage import FileStore, StorageError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
        store = FileStore({str(tmp_path / "files")!r}, KeyRing([("ka", bytes(32))], bytes(32)))
        store.put_bytes(b"small")
        try:
            store.put_bytes(bytes(200 * 1024))
        except StorageError as error:
            print(error)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert "Could not write to the file store" in result.stdout
    assert "the disk is full (or a size quota was reached)" in result.stdout
    small = hashlib.sha256(b"small").hexdigest()
    assert every_file(tmp_path / "files") == [f"{small[:2]}/{small[2:4]}/{small}.bin"]


# -- rotation ------------------------------------------------------------------------------


def test_rotation_moves_files_to_the_primary_key_and_they_stay_readable(root: Path) -> None:
    old = FileStore(root, ring_a(), chunk_size=1000)
    hashes = [old.put_bytes(data).sha256 for data in (b"hello\n", os.urandom(2500), b"")]

    both = FileStore(root, ring_ba(), chunk_size=1000)
    assert both.count_by_key() == {"ka": 3}
    assert [both.rotate_file(sha) for sha in hashes] == [True, True, True]
    assert [both.rotate_file(sha) for sha in hashes] == [False, False, False]
    assert both.count_by_key() == {"kb": 3}

    only_b = FileStore(root, ring_b())
    assert only_b.read_verified(HELLO_SHA) == b"hello\n"
    assert all(only_b.key_id_of(sha) == "kb" for sha in hashes)


def test_a_file_under_a_dropped_key_names_the_missing_key(root: Path) -> None:
    FileStore(root, ring_a()).put_bytes(b"hello\n")

    with pytest.raises(UnknownKeyError, match="key id 'ka' cannot be read"):
        FileStore(root, ring_b()).open_verified(HELLO_SHA)


def test_a_rotation_that_fails_mid_file_leaves_the_old_file_intact(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FileStore(root, ring_a(), chunk_size=1000).put_bytes(b"x" * 5000)
    sha = hashlib.sha256(b"x" * 5000).hexdigest()
    both = FileStore(root, ring_ba(), chunk_size=1000)
    disk_fills_after(monkeypatch, 2000)

    with pytest.raises(StorageError, match="disk is full"):
        both.rotate_file(sha)

    monkeypatch.undo()
    assert every_file(root) == [f"{sha[:2]}/{sha[2:4]}/{sha}.bin"]
    assert both.key_id_of(sha) == "ka" and both.read_verified(sha) == b"x" * 5000
    assert both.rotate_file(sha) is True  # a re-run finishes the job


def test_a_temp_file_left_by_a_killed_process_is_ignored(store: FileStore, root: Path) -> None:
    store.put_bytes(b"hello\n")
    (root / "58" / "91" / ".abc123.tmp").write_bytes(b"BDFS half written")

    assert list(store.iter_hashes()) == [HELLO_SHA]
    assert store.read_verified(HELLO_SHA) == b"hello\n"


def test_count_by_key_marks_unreadable_headers(store: FileStore) -> None:
    store.put_bytes(b"hello\n")
    store.put_bytes(b"other")
    store.path_for(HELLO_SHA).write_bytes(b"garbage")

    assert store.count_by_key() == {"ka": 1, "damaged": 1}


# -- the current app's store ---------------------------------------------------------------


def test_module_functions_use_the_app_store_and_keys(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        stored = app_store.put_bytes(b"hello\n")
        streamed = app_store.put_stream(io.BytesIO(b"second file"), max_bytes=100)

        assert app_store.exists(stored.sha256) and app_store.exists(streamed.sha256)
        assert app_store.read_verified(HELLO_SHA) == b"hello\n"
        assert b"".join(app_store.open_verified(streamed.sha256)) == b"second file"
        assert app_store.current_keyring() is app_store.current_keyring()
        assert app_store.delete(HELLO_SHA) and not app_store.exists(HELLO_SHA)

    sha = streamed.sha256
    assert every_file(tmp_path / "files") == [f"{sha[:2]}/{sha[2:4]}/{sha}.bin"]
    assert (tmp_path / "instance" / "data_keys").exists()
