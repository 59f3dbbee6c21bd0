"""Finding a caller by name + date of birth: the blind-index lookup against decrypting the
roster to compare names (what the inquiry log must never do), and what the index costs the
import.

    .venv/bin/python bench/inquiry_lookup.py --rows 50000

Imports a synthetic roster (bench/roster_import.py's generator and services) into a fresh
SQLite database twice: once without the name + date-of-birth index on roster_person (dropped
before the import) and once with it, then times lookups of random people through
services/inquiries/lookup.py against one pass that decrypts every row. The last line is
machine-readable:

    inquiry_lookup: rows=<N> lookup_ms=<ms> decrypt_all_ms=<ms> vs_decrypt_all=<ratio>
      import_index_ratio=<with/without>

(vs_decrypt_all = decrypt-all seconds / lookup seconds: how many times faster the index is;
import_index_ratio = import seconds with the index / without it.)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import roster_import  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from incident_app.audit_keys import AuditKeys  # noqa: E402
from incident_app.crypto import KeyRing  # noqa: E402
from incident_app.demo.roster_files import write_roster  # noqa: E402
from incident_app.errors import ValidationFailed  # noqa: E402
from incident_app.models.audit import GENESIS_HASH  # noqa: E402
from incident_app.models.audit import AuditChainHead  # noqa: E402
from incident_app.models.roster import RosterPerson  # noqa: E402
from incident_app.services.inquiries import lookup  # noqa: E402
from incident_app.services.roster import people  # noqa: E402

RING = KeyRing([("bench", os.urandom(32))], os.urandom(32))
AUDIT_KEYS = AuditKeys([("bench", os.urandom(32))], source="bench")
# run_import makes a fresh ring per run; the lookups need the one the rows were written with.
roster_import.KeyRing = lambda *_args: RING  # type: ignore[assignment,misc]


def _signing_session(engine: sa.Engine, **kwargs: object) -> Session:
    """A session whose audit events are signed (run_import's own session has no audit key)."""
    info: dict[str, object] = {}
    AUDIT_KEYS.bind_to(info)
    return Session(engine, info=info, **kwargs)  # type: ignore[arg-type]


roster_import.Session = _signing_session  # type: ignore[assignment,misc]


def imported(work: Path, csv_path: Path, *, index: bool) -> tuple[sa.Engine, float]:
    engine = roster_import.fresh_database(f"sqlite:///{work / f'lookup-{index}.sqlite'}")
    with engine.begin() as connection:
        # What migration 0001 does after creating the tables: the head every audit append locks.
        connection.execute(sa.insert(AuditChainHead).values(id=1, seq=0, last_hash=GENESIS_HASH))
        if not index:
            connection.exec_driver_sql("DROP INDEX ix_roster_person_lookup_index")
    seconds, _ = roster_import.run_import(engine, csv_path, work)
    return engine, seconds


def sample(session: Session, count: int) -> list[tuple[str, str, date]]:
    ids = list(
        session.scalars(sa.select(RosterPerson.id).where(RosterPerson.lookup_index.is_not(None)))
    )
    wanted = []
    for person_id in random.Random(7).sample(ids, min(count, len(ids))):
        phi = people.decrypt(RING, session.get(RosterPerson, person_id))
        wanted.append((phi["fn"], phi["ln"], date.fromisoformat(phi["dob"])))
    return wanted


def decrypt_all(session: Session, first: str, last: str, birth: date) -> int:
    found = 0
    for person in session.scalars(sa.select(RosterPerson).execution_options(yield_per=2000)):
        phi = people.decrypt(RING, person)
        if (phi.get("fn"), phi.get("ln"), phi.get("dob")) == (first, last, birth.isoformat()):
            found += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as tmp:
        work = Path(tmp)
        csv_path = work / "roster.csv"
        write_roster(csv_path, args.rows, seed=20261206)
        _, without = imported(work, csv_path, index=False)
        engine, with_index = imported(work, csv_path, index=True)
        with _signing_session(engine) as session:
            incident_id = session.scalar(sa.select(RosterPerson.incident_id).limit(1))
            wanted = sample(session, args.lookups)
            start = time.perf_counter()
            for first, last, birth in wanted:
                try:
                    lookup.by_name_and_birth(
                        session, RING, incident_id, first_name=first, last_name=last, birth=birth
                    )
                except ValidationFailed:  # a merged duplicate shares the name
                    pass
            per_lookup = (time.perf_counter() - start) / len(wanted)
            start = time.perf_counter()
            decrypt_all(session, *wanted[0])
            scan = time.perf_counter() - start
    print(
        f"inquiry_lookup: rows={args.rows} lookup_ms={per_lookup * 1000:.2f} "
        f"decrypt_all_ms={scan * 1000:.0f} vs_decrypt_all={scan / per_lookup:.0f} "
        f"import_index_ratio={with_index / without:.3f}"
    )


if __name__ == "__main__":
    main()
