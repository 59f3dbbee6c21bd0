"""A sealed spool: a download gathered before it is sent, without PHI on disk in clear.

Downloads are gathered while the request's transaction is open, then the transaction ends and
the spool is streamed to the client (issue 18: no transaction open while bytes stream). The
first MEMORY_BYTES stay in memory; beyond that, blocks go to an anonymous temporary file,
each sealed with AES-256-GCM under a key that exists only in this object, so what reaches the
disk is unreadable once the process forgets the key (PHI stays encrypted at rest).
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator
from typing import IO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MEMORY_BYTES = 4 * 1024 * 1024
BLOCK_BYTES = 256 * 1024
_LENGTH = struct.Struct(">I")


class SealedSpool:
    """Write bytes, then read them back once as blocks (`drain`), which closes the spool."""

    def __init__(self, *, memory_bytes: int = MEMORY_BYTES) -> None:
        self.memory_bytes = memory_bytes
        self.size = 0
        self._memory: list[bytes] = []
        self._memory_size = 0
        self._pending = bytearray()
        self._file: IO[bytes] | None = None
        self._aead: AESGCM | None = None
        self._blocks = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self._file is None and self._memory_size + len(data) <= self.memory_bytes:
            self._memory.append(data)
            self._memory_size += len(data)
            return
        self._pending += data
        while len(self._pending) >= BLOCK_BYTES:
            self._seal(bytes(self._pending[:BLOCK_BYTES]))
            del self._pending[:BLOCK_BYTES]

    def _seal(self, block: bytes) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="breachdesk-download-")
            self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        assert self._aead is not None
        nonce = self._blocks.to_bytes(12, "big")  # a fresh key per spool: a counter suffices
        sealed = self._aead.encrypt(nonce, block, None)
        self._file.write(_LENGTH.pack(len(sealed)) + sealed)
        self._blocks += 1

    def drain(self) -> Iterator[bytes]:
        """Everything written, in order; the spool is closed when the iteration ends."""
        try:
            yield from self._memory
            self._memory = []
            if self._file is not None:
                if self._pending:
                    self._seal(bytes(self._pending))
                    self._pending.clear()
                yield from self._unseal()
            elif self._pending:
                yield bytes(self._pending)
        finally:
            self.close()

    def _unseal(self) -> Iterator[bytes]:
        assert self._file is not None and self._aead is not None
        self._file.flush()
        self._file.seek(0)
        for number in range(self._blocks):
            (length,) = _LENGTH.unpack(self._file.read(_LENGTH.size))
            yield self._aead.decrypt(number.to_bytes(12, "big"), self._file.read(length), None)

    def close(self) -> None:
        self._memory, self._pending, self._aead = [], bytearray(), None
        if self._file is not None:
            self._file.close()
            self._file = None
