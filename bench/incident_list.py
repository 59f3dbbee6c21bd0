"""Incident list and dashboard with 10,000 incidents against a 100-incident baseline.

Prints the time per call and the ratio to the baseline measured in the same run, for a
responder (member-only filter) and a privacy officer (sees everything), on a SQLite file or on
DATABASE_URL when it points at a scratch PostgreSQL database.

    .venv/bin/python bench/incident_list.py [--incidents 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import incident_app.models  # noqa: E402,F401
from incident_app.db import Base  # noqa: E402
from incident_app.db import make_engine  # noqa: E402
from incident_app.models.incident import Incident  # noqa: E402
from incident_app.models.incident import IncidentMember  # noqa: E402
from incident_app.models.obligation import Obligation  # noqa: E402
from incident_app.models.task import Task  # noqa: E402
from incident_app.models.user import Role  # noqa: E402
from incident_app.models.user import User  # noqa: E402
from incident_app.services.incidents import listing as incident_list  # noqa: E402
from incident_app.services.incidents.listing import ListFilters  # noqa: E402

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
CASES = [
    ("newest first", ListFilters()),
    ("next deadline", ListFilters(sort="next_due", descending=False)),
    ("text search", ListFilters(text="laptop 77")),
    ("due within 14 days", ListFilters(due_within_days=14)),
    (
        "type + date range",
        ListFilters(
            breach_type="theft", discovered_from=date(2025, 6, 1), discovered_to=date(2025, 12, 31)
        ),
    ),
]


def _populate(session: Session, count: int, offset: int, users: list[User]) -> None:
    types = ["theft", "hacking", "loss", "unauthorized_access"]
    rows = [
        {
            "reference": f"BD-B{offset + n:07d}",
            "title": f"Laptop {offset + n} lost",
            "description": "bench",
            "how_found": "",
            "reported_by": "",
            "status": "reported",
            "discovered_on": date(2025, 1, 1) + timedelta(days=n % 400),
            "discovered_by": "",
            "diligence_justification": "",
            "breach_types": [types[n % 4]],
            "locations": [],
            "phi_types": [],
            "safeguards": [],
            "breach_type_other": "",
            "location_other": "",
            "systems_involved": "",
            "affected_estimate": n % 900,
            "ba_involved": False,
            "ba_name": "",
            "ba_contact": "",
            "created_by_id": users[0].id,
            "created_at": NOW - timedelta(minutes=n),
            "updated_at": NOW,
        }
        for n in range(count)
    ]
    ids = session.scalars(sa.insert(Incident).returning(Incident.id), rows).all()
    session.execute(
        sa.insert(IncidentMember),
        [
            {
                "incident_id": i,
                "user_id": users[1 + k % 5].id,
                "case_role": "responder",
                "added_at": NOW,
            }
            for k, i in enumerate(ids)
        ],
    )
    session.execute(
        sa.insert(Obligation),
        [
            {
                "incident_id": i,
                "kind": "individual_notice",
                "jurisdiction": "US",
                "source_key": "",
                "due_on": TODAY + timedelta(days=k % 90 - 10),
                "citation": "45 CFR 164.404(b)",
                "reason": "bench",
                "detail": {},
                "active": True,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for k, i in enumerate(ids)
        ],
    )
    session.execute(
        sa.insert(Task),
        [
            {
                "incident_id": i,
                "title": "Task",
                "assignee_id": users[1 + k % 5].id,
                "due_on": TODAY + timedelta(days=k % 30),
                "status": "open",
                "notes": "",
                "checklist_name": "",
                "created_by_id": users[0].id,
                "created_at": NOW,
            }
            for k, i in enumerate(ids)
        ],
    )
    session.commit()


def _time(session: Session, actor: User, filters: ListFilters, repeat: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        incident_list.list_incidents(session, actor=actor, filters=filters, today=TODAY)
    return (time.perf_counter() - start) / repeat


def _measure(session: Session, people: dict[str, User]) -> dict[tuple[str, str], float]:
    results = {}
    for who, actor in people.items():
        for label, filters in CASES:
            results[(who, label)] = _time(session, actor, filters)
        start = time.perf_counter()
        incident_list.dashboard(session, actor=actor, today=TODAY)
        results[(who, "dashboard")] = time.perf_counter() - start
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tempfile.mkdtemp(prefix='bd-bench-')}/list.sqlite"
    )
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        users = [
            User(
                email=f"u{n}@bench.example",
                name=f"User {n}",
                password_hash="x",
                role=Role.PRIVACY_OFFICER if n == 0 else Role.RESPONDER,
                created_at=NOW,
            )
            for n in range(6)
        ]
        session.add_all(users)
        session.commit()
        people = {"officer": users[0], "responder": users[1]}
        _populate(session, 100, 0, users)
        baseline = _measure(session, people)
        _populate(session, args.incidents - 100, 100, users)
        loaded = _measure(session, people)
    print(f"{engine.dialect.name}: 100 vs {args.incidents:,} incidents (ms per call, ratio)")
    for key, base in baseline.items():
        print(
            f"  {key[0]:<9} {key[1]:<20} {base * 1000:7.1f} → {loaded[key] * 1000:7.1f}"
            f"   ×{loaded[key] / base:5.1f}"
        )
    Base.metadata.drop_all(engine)


if __name__ == "__main__":
    main()
