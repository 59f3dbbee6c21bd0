"""An enrollment code at rest: normalised, blind-indexed for uniqueness, encrypted with the key
ring (associated data naming the pool and the index, so a ciphertext copied to another row no
longer decrypts), and re-encrypted on key rotation."""

from __future__ import annotations

from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.crypto import KeyRing
from incident_app.models.enrolment import EnrolmentCode
from incident_app.services.rotation_batches import rotate_column

INDEX_PURPOSE = "enrolment_code"
INDEX_CHARS = 32  # 128 bits of the HMAC, as the roster's blind indexes


def normalise(raw: str) -> str:
    """The code as printed: surrounding space dropped, capital letters."""
    return raw.strip().upper()


def code_index(keyring: KeyRing, code: str) -> str:
    return keyring.blind_index(code, purpose=INDEX_PURPOSE)[:INDEX_CHARS]


def code_aad(pool_id: int, index: str) -> bytes:
    return f"enrolment_code:{pool_id}:{index}".encode()


def seal(keyring: KeyRing, pool_id: int, index: str, code: str) -> bytes:
    return keyring.encrypt(code.encode("ascii"), code_aad(pool_id, index))


def reveal(keyring: KeyRing, row: EnrolmentCode) -> str:
    return keyring.decrypt(row.code, code_aad(row.pool_id, row.code_index)).decode("ascii")


def last4(code: str) -> str:
    return code[-4:]


def last4_by_person(session: Session, person_ids: list[int], keyring: KeyRing) -> dict[int, str]:
    """The last four characters of each person's code (for the mail-merge manifest)."""
    found: dict[int, str] = {}
    for start in range(0, len(person_ids), 1000):
        rows = session.scalars(
            sa.select(EnrolmentCode).where(
                EnrolmentCode.person_id.in_(person_ids[start : start + 1000])
            )
        )
        found |= {row.person_id: last4(reveal(keyring, row)) for row in rows if row.person_id}
    return found


def rotate_codes(session: Session, keyring: KeyRing, batch_size: int) -> int:
    """Re-encrypt codes not under the primary key, batch by batch (commits each); the same
    contract as roster_people.rotate_roster (services/key_rotation.py)."""

    def reencrypt(row: tuple[Any, ...]) -> bytes | None:
        _, blob, pool_id, index = row
        if not keyring.needs_rotation(blob):
            return None
        return keyring.reencrypt(blob, code_aad(pool_id, index))

    return rotate_column(
        session,
        table=cast(sa.Table, EnrolmentCode.__table__),
        column="code",
        extra=("pool_id", "code_index"),
        reencrypt=reencrypt,
        batch_size=batch_size,
    )
