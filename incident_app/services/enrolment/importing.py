"""Importing the monitoring vendor's activation codes into the incident's pool, all or nothing.

The file is read whole (it is small: MAX_BYTES is a few megabytes), decoded as UTF-8 and
checked before anything is written: no codes, a code that is not 4-24 letters, digits or
dashes, a code repeated in the file (naming both rows) or already imported (into this pool or
another incident's) refuses the whole file with a message, and nothing is written. The offer
(vendor, product, months, how to enroll, enroll-by date) is entered on the form and stored on
the pool; the letter prints it, so changing it voids the letters' approval (their context
fingerprint changes) until legal approves them again — whether it changes with an import or
alone (`update_offer`, the "edit offer" form). Codes are encrypted before the write
transaction opens; the pool, the import, the codes and the audit event commit together.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incident_app import letters
from incident_app.crypto import KeyRing
from incident_app.errors import ValidationFailed
from incident_app.models.enrolment import CodeImport
from incident_app.models.enrolment import CodePool
from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.user import User
from incident_app.services import audit
from incident_app.services.enrolment import access
from incident_app.services.enrolment import codes

MAX_BYTES = 5 * 1024 * 1024  # ~300,000 codes of 12 characters; the view passes the setting
MAX_CODES = 500_000
HEADERS = ("code", "activation_code", "activation code", "enrollment_code", "enrolment_code")
NAMED = 10  # rows named in a message before "and N more"
PHONE = re.compile(r"[0-9+() .-]{7,40}")


@dataclass(frozen=True)
class Offer:
    """The identity-protection offer as entered on the form (printed in every letter)."""

    vendor: str
    product: str
    months: int
    url: str
    phone: str
    enrol_by: date


@dataclass(frozen=True)
class _Code:
    row: int
    code: str
    index: str


def import_codes(
    session: Session,
    *,
    actor: User,
    now: datetime,
    incident_id: int,
    offer: Offer,
    upload: BinaryIO,
    filename: str,
    keyring: KeyRing,
    max_bytes: int = MAX_BYTES,
) -> CodeImport:
    """Add the file's codes to the incident's pool (creating it) and store the offer.

    Raises ValidationFailed (field "file" or the offer's field) naming what is wrong; then
    nothing was written. Commits once, with the audit event.
    """
    access.get_manageable(session, actor=actor, incident_id=incident_id)
    _check_offer(offer, now.date())
    data = _read(upload, max_bytes)
    found = _parse(_decode(data), keyring)
    pool = session.scalar(sa.select(CodePool).where(CodePool.incident_id == incident_id))
    _check_unused(session, found, pool.id if pool else None)
    pool_id = pool.id if pool else None
    changed = _store_offer(session, pool, incident_id, offer, actor, now)
    pool = changed[0]
    record = CodeImport(
        pool_id=pool.id,
        filename=filename[:255] or "codes.csv",
        file_sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        codes=len(found),
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(record)
    session.flush()
    # Encrypting needs the pool id (associated data); a new pool got it from the flush above.
    rows = [
        {
            "pool_id": pool.id,
            "import_id": record.id,
            "row_number": item.row,
            "code_index": item.index,
            "code": codes.seal(keyring, pool.id, item.index, item.code),
            "letter_code": "",
        }
        for item in found
    ]
    for start in range(0, len(rows), 5000):
        session.execute(sa.insert(EnrolmentCode), rows[start : start + 5000])
    audit.record(
        session,
        actor=actor,
        action="enrolment.codes_imported",
        at=now,
        subject_type="code_pool",
        subject_id=pool.id,
        incident_id=incident_id,
        details={
            "import_id": record.id,
            "codes": len(found),
            "filename": record.filename,
            "file_sha256": record.file_sha256,
            "new_pool": pool_id is None,
            "offer_changed": changed[1],
            "offer": {**asdict(offer), "enrol_by": offer.enrol_by.isoformat()},
        },
    )
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise ValidationFailed(
            "Some of these codes were imported by someone else a moment ago; nothing from "
            "this file was imported. Reload the page and check the pool.",
            field="file",
        ) from error
    return record


def update_offer(
    session: Session, *, actor: User, now: datetime, incident_id: int, offer: Offer
) -> bool:
    """Change the offer without importing codes. The letters print it, so a change voids
    their approval exactly as an import with a new offer does (the letter context's
    fingerprint changes; services/letters/review.py `approval_valid`). Returns whether
    anything changed (nothing is written or audited otherwise). ValidationFailed, nothing
    written, for a bad field or an incident without a pool yet. Audits, commits once."""
    access.get_manageable(session, actor=actor, incident_id=incident_id)
    pool = session.scalar(sa.select(CodePool).where(CodePool.incident_id == incident_id))
    if pool is None:
        raise ValidationFailed(
            "There is no offer to edit yet: import the vendor's codes with the offer first.",
            field="vendor",
        )
    _check_offer(offer, now.date())
    before = _offer_of(pool)
    pool, changed = _store_offer(session, pool, incident_id, offer, actor, now)
    if not changed:
        return False
    audit.record(
        session,
        actor=actor,
        action="enrolment.offer_changed",
        at=now,
        subject_type="code_pool",
        subject_id=pool.id,
        incident_id=incident_id,
        details={
            "from": before,
            "to": _offer_of(pool),
            "letter_approvals": "void until approved again (the letters print the offer)",
        },
    )
    session.commit()
    return True


def _offer_of(pool: CodePool) -> dict[str, str | int]:
    return {
        "vendor": pool.vendor,
        "product": pool.product,
        "months": pool.offer_months,
        "url": pool.enrol_url,
        "phone": pool.enrol_phone,
        "enrol_by": pool.enrol_by.isoformat(),
    }


def _check_offer(offer: Offer, today: date) -> None:
    texts = (("vendor", offer.vendor, 120), ("product", offer.product, 120))
    for field, value, longest in texts:
        if not value.strip() or len(value) > longest:
            raise ValidationFailed(f"Give the {field} (1-{longest} characters).", field=field)
    if not 1 <= offer.months <= 120:
        raise ValidationFailed("The offer lasts 1 to 120 months.", field="months")
    if not re.fullmatch(r"https://[^\s<>\"']{4,192}", offer.url):
        raise ValidationFailed(
            "The enrollment address must be an https:// web address.", field="url"
        )
    if not PHONE.fullmatch(offer.phone) or sum(c.isdigit() for c in offer.phone) < 7:
        raise ValidationFailed("Give the vendor's enrollment phone number.", field="phone")
    if offer.enrol_by <= today:
        raise ValidationFailed(
            "The enroll-by date must be in the future: people read the letter days later.",
            field="enrol_by",
        )
    for field, value in (("vendor", offer.vendor), ("product", offer.product)):
        bad = letters.unprintable_characters(value)
        if bad:
            raise ValidationFailed(
                f"The {field} has characters the letter cannot print: {' '.join(bad)}.", field=field
            )


def _read(upload: BinaryIO, max_bytes: int) -> bytes:
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationFailed(
            f"The file is larger than {max_bytes // (1024 * 1024):,} MB; split it and import "
            "the parts one after the other.",
            field="file",
        )
    if not data.strip():
        raise ValidationFailed("The file is empty: it has no codes.", field="file")
    return data


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValidationFailed(
            f"The file is not UTF-8 text (line {line} has a byte that is not): export it "
            "again from the vendor's portal as CSV (UTF-8).",
            field="file",
        ) from error


def _parse(text: str, keyring: KeyRing) -> list[_Code]:
    """The codes with their row numbers; ValidationFailed for anything wrong, all at once."""
    rows = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text)), 1) if row]
    rows = [(number, row) for number, row in rows if any(cell.strip() for cell in row)]
    column, rows = _code_column(rows)
    if not rows:
        raise ValidationFailed("The file has a header but no codes.", field="file")
    if len(rows) > MAX_CODES:
        raise ValidationFailed(
            f"The file has {len(rows):,} codes; import at most {MAX_CODES:,} at a time.",
            field="file",
        )
    found: list[_Code] = []
    bad: list[int] = []
    first_row: dict[str, int] = {}
    repeats: list[str] = []
    for number, row in rows:
        code = codes.normalise(row[column] if column < len(row) else "")
        if not letters.ENROLLMENT_CODE.fullmatch(code):
            bad.append(number)
            continue
        index = codes.code_index(keyring, code)
        if index in first_row:
            repeats.append(f"row {number} repeats row {first_row[index]}")
            continue
        first_row[index] = number
        found.append(_Code(number, code, index))
    if bad:
        raise ValidationFailed(
            f"{_rows(bad)} not an enrollment code (4-24 letters, digits or dashes); nothing "
            "was imported.",
            field="file",
        )
    if repeats:
        raise ValidationFailed(
            f"The file repeats codes: {_named(repeats)}. A code can go to one person only; "
            "nothing was imported. Ask the vendor for a corrected file.",
            field="file",
        )
    return found


def _code_column(rows: list[tuple[int, list[str]]]) -> tuple[int, list[tuple[int, list[str]]]]:
    """Which column holds the codes, and the rows below the header (if there is one)."""
    if not rows:
        raise ValidationFailed("The file is empty: it has no codes.", field="file")
    header = [cell.strip().lower() for cell in rows[0][1]]
    for name in HEADERS:
        if name in header:
            return header.index(name), rows[1:]
    if all(len(row) == 1 for _, row in rows):
        return 0, rows  # one column, no header: every row is a code
    raise ValidationFailed(
        "Name the column that holds the codes 'code' (or 'activation_code') in the first row.",
        field="file",
    )


def _check_unused(session: Session, found: Sequence[_Code], pool_id: int | None) -> None:
    by_index = {item.index: item.row for item in found}
    used: list[tuple[int, int]] = []
    indexes = list(by_index)
    for start in range(0, len(indexes), 500):
        used += [
            (by_index[index], pool)
            for index, pool in session.execute(
                sa.select(EnrolmentCode.code_index, EnrolmentCode.pool_id).where(
                    EnrolmentCode.code_index.in_(indexes[start : start + 500])
                )
            )
        ]
    session.rollback()  # end the read: the write below is its own short transaction
    if not used:
        return
    ours = sorted(row for row, pool in used if pool == pool_id)
    theirs = sorted(row for row, pool in used if pool != pool_id)
    parts = []
    if ours:
        parts.append(f"{_rows(ours)} already in this incident's pool")
    if theirs:
        parts.append(f"{_rows(theirs)} already imported for another incident")
    raise ValidationFailed(
        f"Codes were imported before: {'; '.join(parts)}. Nothing was imported: remove those "
        "rows (or ask the vendor for fresh codes) and import the file again.",
        field="file",
    )


def _store_offer(
    session: Session,
    pool: CodePool | None,
    incident_id: int,
    offer: Offer,
    actor: User,
    now: datetime,
) -> tuple[CodePool, bool]:
    values = {
        "vendor": offer.vendor.strip(),
        "product": offer.product.strip(),
        "offer_months": offer.months,
        "enrol_url": offer.url,
        "enrol_phone": offer.phone.strip(),
        "enrol_by": offer.enrol_by,
    }
    if pool is None:
        pool = CodePool(
            incident_id=incident_id, created_by_id=actor.id, created_at=now, updated_at=now
        )
        session.add(pool)
        changed = True
    else:
        pool = session.get_one(CodePool, pool.id)
        changed = any(getattr(pool, name) != value for name, value in values.items())
    for name, value in values.items():
        setattr(pool, name, value)
    if changed:
        pool.updated_at = now
    session.flush()
    return pool, changed


def _rows(numbers: Sequence[int]) -> str:
    word = "Row" if len(numbers) == 1 else "Rows"
    verb = "is" if len(numbers) == 1 else "are"
    return f"{word} {_named([str(n) for n in numbers])} {verb}"


def _named(items: Sequence[str]) -> str:
    shown = ", ".join(items[:NAMED])
    return shown + (f" and {len(items) - NAMED:,} more" if len(items) > NAMED else "")
