"""The content-addressed, encrypted file store (evidence, letter PDFs, reject reports).

A file is named by the SHA-256 of its plaintext, so the same bytes stored twice are one file
and a download can prove it returns what was uploaded. On disk:
``<FILE_STORE_DIR>/<ab>/<cd>/<sha256>.bin``, written to a temp file, fsynced and renamed into
place, so a crash never leaves a half file under a final name.

File format (version 1)::

    header: b"BDFS" | version (1) | chunk size (4, big-endian) | key id length (1) | key id
    then one record per chunk: nonce (12) | AES-256-GCM ciphertext | tag (16)

Each chunk's associated data is the header plus its index and a "final" flag, so chunks cannot
be reordered, dropped, or cut off at a chunk boundary without the read failing. The plaintext
is at least one (possibly empty) final chunk.

`FileStore` is plain Python: services receive one as a parameter. The app's own store and key
ring (from FILE_STORE_DIR and the configured keys) are built in `incident_app.app_store`, for
views, jobs and CLI only. (Over ~400 lines because the file format, its chunked reader and
writer, and the atomic temp file only make sense together.)
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import struct
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from typing import Protocol

from incident_app.crypto import NONCE_SIZE
from incident_app.crypto import TAG_SIZE
from incident_app.crypto import DecryptionError
from incident_app.crypto import KeyRing

MAGIC = b"BDFS"
FILE_FORMAT_VERSION = 1
CHUNK_SIZE = 1024 * 1024
_FIXED_HEADER = struct.Struct(">4sBIB")
_CHUNK_AAD = struct.Struct(">QB")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
TEMP_DIR = "tmp"


class StorageError(Exception):
    """The file store could not do what was asked; the message says why."""


class IntegrityError(StorageError):
    """A stored file no longer matches its name (modified, truncated or replaced)."""


class FileTooLarge(StorageError):
    """An upload went over its size limit; nothing was stored."""


class StoredFileMissing(StorageError):
    """No stored file has this SHA-256."""


class InvalidHash(StorageError, ValueError):
    """A file name that is not exactly 64 hex characters (also stops path traversal)."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def check_sha256(sha256: str) -> str:
    """The lowercase hash, or InvalidHash for anything that is not exactly 64 hex characters."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise InvalidHash(f"Not a file hash: expected 64 hex characters, got {sha256!r:.80}.")
    return sha256.lower()


class FileStore:
    def __init__(self, root: Path | str, keyring: KeyRing, *, chunk_size: int = CHUNK_SIZE):
        if not 1 <= chunk_size <= 0xFFFFFFFF:
            raise ValueError("chunk_size must be a positive 32-bit number")
        self.root = Path(root)
        self.keyring = keyring
        self.chunk_size = chunk_size

    def path_for(self, sha256: str) -> Path:
        sha256 = check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.bin"

    # -- writing -----------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> StoredFile:
        """Store `data`; storing the same bytes again changes nothing on disk."""
        sha256 = hashlib.sha256(data).hexdigest()
        stored = StoredFile(sha256, len(data))
        path = self.path_for(sha256)
        if path.exists():
            return stored
        with _AtomicFile(path.parent, self.root) as temp:
            self._encrypt_into(temp, _BytesReader(data), max_bytes=None)
            temp.commit(path)
        return stored

    def put_many(self, datas: Sequence[bytes]) -> list[StoredFile]:
        """Store several files (a group of letters) as put_bytes would, one by one, but with
        two waits for the disk in all instead of two per file: every file is written to a
        temp file, the file system is flushed once (syncfs; an fsync per file where the
        platform has none), every file is renamed into place, and the file system is flushed
        again for the renames. Each file still lands whole or not at all; when anything
        fails, no temp file is left and StorageError says why."""
        stored = [StoredFile(hashlib.sha256(data).hexdigest(), len(data)) for data in datas]
        todo = {
            file.sha256: data
            for file, data in zip(stored, datas, strict=True)
            if not self.path_for(file.sha256).exists()
        }
        if not todo:
            return stored
        with ExitStack() as stack:
            temps = []
            for sha256, data in todo.items():
                temp = stack.enter_context(_AtomicFile(self.root / TEMP_DIR, self.root))
                self._encrypt_into(temp, _BytesReader(data), max_bytes=None)
                temps.append((temp, self.path_for(sha256)))
            _flush(self.root, [temp.fd for temp, _ in temps])
            for temp, path in temps:
                temp.commit(path, flushed=True)
            _flush_directories(self.root, {path.parent for _, path in temps})
        return stored

    def put_stream(self, fileobj: Readable | BinaryIO, *, max_bytes: int) -> StoredFile:
        """Store a stream in chunks (memory stays at a few chunks whatever the size).

        Raises FileTooLarge past `max_bytes` and StorageError when the disk says no; in both
        cases nothing is left behind.
        """
        with _AtomicFile(self.root / TEMP_DIR, self.root) as temp:
            stored = self._encrypt_into(temp, fileobj, max_bytes=max_bytes)
            path = self.path_for(stored.sha256)
            if path.exists():
                return stored  # a duplicate: the temp file is discarded on exit
            temp.commit(path)
        return stored

    def _encrypt_into(
        self, temp: _AtomicFile, source: Readable | BinaryIO, *, max_bytes: int | None
    ) -> StoredFile:
        key_id = self.keyring.primary_id
        header = _file_header(key_id, self.chunk_size)
        temp.write(header)
        digest = hashlib.sha256()
        size = 0
        for index, chunk, final in _chunks_with_final_flag(source, self.chunk_size):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise FileTooLarge(
                    f"The file is larger than the limit of {max_bytes:,} bytes; nothing was stored."
                )
            digest.update(chunk)
            temp.write(self.keyring.seal(key_id, chunk, _chunk_aad(header, index, final)))
        return StoredFile(digest.hexdigest(), size)

    # -- reading -----------------------------------------------------------------------

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open_verified(self, sha256: str) -> Iterator[bytes]:
        """The plaintext in chunks, checked while streaming.

        Missing file, damaged header or unknown key raise here, before any byte is returned.
        A modified chunk raises IntegrityError when reached; the last chunk is released only
        after the SHA-256 of the whole plaintext matched, so a consumer that received every
        chunk received verified bytes.
        """
        path = self.path_for(sha256)
        with self._open(path) as handle:
            self._read_header(handle, path)
        return self._verified_chunks(path, check_sha256(sha256))

    def read_verified(self, sha256: str) -> bytes:
        return b"".join(self.open_verified(sha256))

    def key_id_of(self, sha256: str) -> str:
        path = self.path_for(sha256)
        with self._open(path) as handle:
            return self._read_header(handle, path)[0]

    def _verified_chunks(self, path: Path, sha256: str) -> Iterator[bytes]:
        digest = hashlib.sha256()
        with self._open(path) as handle:
            key_id, header, chunk_size = self._read_header(handle, path)
            record_size = NONCE_SIZE + chunk_size + TAG_SIZE
            held: bytes | None = None
            for index, record, final in _chunks_with_final_flag(handle, record_size):
                if held is not None:
                    yield held
                held = self._decrypt_record(path, key_id, header, index, record, final)
                digest.update(held)
        if digest.hexdigest() != sha256:
            raise IntegrityError(
                f"Stored file {sha256} failed its integrity check: its content hashes to "
                f"{digest.hexdigest()}. The file under this name was replaced; restore it from "
                "a backup."
            )
        if held:
            yield held

    def _decrypt_record(
        self, path: Path, key_id: str, header: bytes, index: int, record: bytes, final: bool
    ) -> bytes:
        if len(record) < NONCE_SIZE + TAG_SIZE:
            raise IntegrityError(f"Stored file {path.stem} is truncated (chunk {index}).")
        try:
            return self.keyring.unseal(key_id, record, _chunk_aad(header, index, final))
        except DecryptionError as error:
            raise IntegrityError(
                f"Stored file {path.stem} failed its integrity check at chunk {index}: it was "
                "modified, truncated or reordered on disk. Restore it from a backup."
            ) from error

    def _open(self, path: Path) -> BinaryIO:
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise StoredFileMissing(f"No stored file {path.stem} in {self.root}.") from None
        except OSError as error:
            raise StorageError(f"Cannot read stored file {path.stem}: {error.strerror}.") from error

    def _read_header(self, handle: BinaryIO, path: Path) -> tuple[str, bytes, int]:
        """(key id, header bytes, chunk size); raises IntegrityError if it is not one of ours."""
        fixed = handle.read(_FIXED_HEADER.size)
        if len(fixed) == _FIXED_HEADER.size:
            magic, version, chunk_size, id_length = _FIXED_HEADER.unpack(fixed)
            raw_id = handle.read(id_length)
            if magic == MAGIC and version == FILE_FORMAT_VERSION and len(raw_id) == id_length:
                key_id = raw_id.decode("ascii", errors="replace")
                self.keyring.require_key(key_id)
                return key_id, fixed + raw_id, chunk_size
        raise IntegrityError(
            f"Stored file {path.stem} failed its integrity check: its header is damaged or it "
            "is not a BreachDesk file. Restore it from a backup."
        )

    # -- maintenance -------------------------------------------------------------------

    def delete(self, sha256: str) -> bool:
        """Remove a stored file (tests and clean-up only: evidence is never deleted)."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def iter_hashes(self) -> Iterator[str]:
        """Every stored file's SHA-256, in a stable order (temp files are skipped)."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*.bin")):
            name = path.stem
            if _SHA256.fullmatch(name) and path.parent.parent.name == name[:2]:
                yield name

    def count_by_key(self) -> Counter[str]:
        """Stored files per key id ("damaged" for a file whose header cannot be read)."""
        counts: Counter[str] = Counter()
        for sha256 in self.iter_hashes():
            path = self.path_for(sha256)
            with path.open("rb") as handle:
                counts[_peek_key_id(handle) or "damaged"] += 1
        return counts

    def rotate_file(self, sha256: str) -> bool:
        """Re-encrypt one file under the primary key (atomic replace).

        Returns False when it already was under the primary key. The plaintext is verified
        while it is copied, so a damaged file raises IntegrityError and is left untouched.
        """
        path = self.path_for(sha256)
        if self.key_id_of(sha256) == self.keyring.primary_id:
            return False
        with _AtomicFile(path.parent, self.root) as temp:
            self._encrypt_into(temp, _IterReader(self.open_verified(sha256)), max_bytes=None)
            temp.commit(path)
        return True


def _peek_key_id(handle: BinaryIO) -> str | None:
    fixed = handle.read(_FIXED_HEADER.size)
    if len(fixed) != _FIXED_HEADER.size:
        return None
    magic, version, _chunk_size, id_length = _FIXED_HEADER.unpack(fixed)
    raw_id = handle.read(id_length)
    if magic != MAGIC or version != FILE_FORMAT_VERSION or len(raw_id) != id_length:
        return None
    return raw_id.decode("ascii", errors="replace")


def _file_header(key_id: str, chunk_size: int) -> bytes:
    raw_id = key_id.encode("ascii")
    return _FIXED_HEADER.pack(MAGIC, FILE_FORMAT_VERSION, chunk_size, len(raw_id)) + raw_id


def _chunk_aad(header: bytes, index: int, final: bool) -> bytes:
    return header + _CHUNK_AAD.pack(index, 1 if final else 0)


def _read_full(source: Readable | BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at end of stream (sockets may return short reads)."""
    first = source.read(size)
    if len(first) in (0, size):
        return first
    parts = [first]
    missing = size - len(first)
    while missing:
        more = source.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def _chunks_with_final_flag(
    source: Readable | BinaryIO, size: int
) -> Iterator[tuple[int, bytes, bool]]:
    """(index, chunk, is_last) by reading one chunk ahead; empty input is one empty last chunk."""
    current = _read_full(source, size)
    index = 0
    while True:
        following = _read_full(source, size) if len(current) == size else b""
        yield index, current, not following
        if not following:
            return
        current = following
        index += 1


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._offset = 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._view) if size < 0 else self._offset + size
        piece = bytes(self._view[self._offset : end])
        self._offset += len(piece)
        return piece


class _IterReader:
    """A file-like `read` over an iterator of byte chunks (re-chunks on the fly)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        cut = len(self._buffer) if size < 0 else size
        piece, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return piece


class _AtomicFile:
    """A temp file (mode 0600) in `directory`, renamed into place by `commit`, else removed.

    Every OSError becomes a StorageError naming the store and the cause.
    """

    def __init__(self, directory: Path, root: Path) -> None:
        self._directory = directory
        self._root = root
        self._fd: int | None = None
        self._temp: str | None = None

    def __enter__(self) -> _AtomicFile:
        try:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._fd, self._temp = tempfile.mkstemp(dir=self._directory, prefix=".", suffix=".tmp")
        except OSError as error:
            raise _storage_error(self._root, error) from error
        return self

    def write(self, data: bytes) -> None:
        assert self._fd is not None, "write() only inside `with _AtomicFile(...)`"
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as error:
            raise _storage_error(self._root, error) from error

    @property
    def fd(self) -> int:
        assert self._fd is not None, "only inside `with _AtomicFile(...)`, before commit()"
        return self._fd

    def commit(self, final_path: Path, *, flushed: bool = False) -> None:
        """Rename into place. `flushed`: the caller has flushed the data and will flush the
        directory (put_many); otherwise both are fsynced here."""
        assert self._fd is not None and self._temp is not None, "commit() once, inside `with`"
        try:
            if not flushed:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            final_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.replace(self._temp, final_path)
            self._temp = None
            if not flushed:
                _fsync_directory(final_path.parent)
        except OSError as error:
            raise _storage_error(self._root, error) from error

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
        if self._temp is not None:
            Path(self._temp).unlink(missing_ok=True)


# syncfs(2): flush one file system (Linux). Elsewhere, fsync file by file.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_SYNCFS = getattr(_LIBC, "syncfs", None)


def _syncfs(fd: int) -> bool:
    """Flush the file system holding `fd`; False where syncfs is not available."""
    if _SYNCFS is None:
        return False
    if _SYNCFS(fd) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return True


def _flush(root: Path, fds: Sequence[int]) -> None:
    try:
        if fds and not _syncfs(fds[0]):
            for fd in fds:
                os.fsync(fd)
    except OSError as error:
        raise _storage_error(root, error) from error


def _flush_directories(root: Path, directories: Iterable[Path]) -> None:
    try:
        fd = os.open(root, os.O_RDONLY)
        try:
            flushed = _syncfs(fd)
        finally:
            os.close(fd)
        if not flushed:
            for directory in directories:
                _fsync_directory(directory)
    except OSError as error:
        raise _storage_error(root, error) from error


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _storage_error(root: Path, error: OSError) -> StorageError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        cause = "the disk is full (or a size quota was reached)"
    else:
        cause = error.strerror or str(error)
    return StorageError(
        f"Could not write to the file store at {root}: {cause}. Nothing was stored; free some "
        "space or fix the permissions, then try again."
    )
