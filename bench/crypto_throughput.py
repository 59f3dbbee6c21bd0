"""How fast the key ring encrypts roster-shaped records and the file store streams files.

    .venv/bin/python bench/crypto_throughput.py --rows 1000000

Baselines are measured in the same run: `json.dumps(...).encode()` of the same records (the
work an import does anyway, without encryption) and a plain unencrypted file write of the same
bytes. The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from incident_app.crypto import KeyRing  # noqa: E402
from incident_app.storage import FileStore  # noqa: E402


def records(count: int) -> list[dict[str, object]]:
    return [
        {
            "external_id": f"MRN{n:08d}",
            "first_name": "Zoë" if n % 7 == 0 else "Mary-Ann",
            "last_name": "O'Brien-Núñez",
            "dob": f"19{40 + n % 60:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "address": [f"{n % 9999} Main Street", "Apt 4B"],
            "city": "Springfield",
            "email": f"person{n}@example.org",
            "phone": f"555-{n % 10000:04d}",
            "guardian": None,
        }
        for n in range(count)
    ]


def timed(label: str, func) -> float:
    start = time.perf_counter()
    func()
    elapsed = time.perf_counter() - start
    print(f"{label}: {elapsed:.2f} s", flush=True)
    return elapsed


def _each(results) -> None:
    for _ in results:
        pass


def bench_records(ring: KeyRing, rows: list[dict[str, object]]) -> dict[str, float]:
    aads = [f"roster:1:{n}".encode() for n in range(len(rows))]
    baseline = timed(
        "json only (baseline)",
        lambda: [
            json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode() for row in rows
        ],
    )
    blobs: list[bytes] = []
    encrypt = timed(
        "encrypt_json",
        lambda: blobs.extend(
            ring.encrypt_json(row, aad) for row, aad in zip(rows, aads, strict=True)
        ),
    )
    # Results are discarded as they come (as a paginated view would): keeping a million
    # decoded dicts alive measures the garbage collector, not decryption.
    decrypt = timed(
        "decrypt_json",
        lambda: _each(ring.decrypt_json(blob, aad) for blob, aad in zip(blobs, aads, strict=True)),
    )
    index = timed(
        "blind_index",
        lambda: _each(
            ring.blind_index(str(row["external_id"]), purpose="external_id") for row in rows
        ),
    )
    return {"baseline": baseline, "encrypt": encrypt, "decrypt": decrypt, "index": index}


def bench_files(ring: KeyRing, megabytes: int) -> tuple[float, float]:
    data = os.urandom(megabytes * 1024 * 1024)
    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "plain.bin"

        def write_plain() -> None:
            with plain.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())

        baseline = timed(f"plain write of {megabytes} MB (baseline)", write_plain)
        store = FileStore(Path(folder) / "store", ring)
        put = timed(
            f"put_stream of {megabytes} MB",
            lambda: store.put_stream(io.BytesIO(data), max_bytes=len(data)),
        )
    return baseline, put


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--file-mb", type=int, default=64)
    args = parser.parse_args()

    ring = KeyRing([("bench", os.urandom(32))], os.urandom(32))
    times = bench_records(ring, records(args.rows))
    file_base, file_put = bench_files(ring, args.file_mb)
    rows_per_s = args.rows / times["encrypt"]
    print(
        f"crypto_throughput: rows={args.rows} encrypt_s={times['encrypt']:.2f} "
        f"rows_per_s={rows_per_s:.0f} vs_json={times['baseline'] / times['encrypt']:.2f} "
        f"decrypt_rows_per_s={args.rows / times['decrypt']:.0f} "
        f"blind_index_per_s={args.rows / times['index']:.0f} "
        f"file_mb_per_s={args.file_mb / file_put:.0f} vs_plain_write={file_base / file_put:.2f}"
    )


if __name__ == "__main__":
    main()
