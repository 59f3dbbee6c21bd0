"""BD-YYYY-NNNN references stay unique when many intakes run at once (real connections)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_app.db import make_engine
from incident_app.models.incident import ReferenceCounter
from incident_app.services.incidents.intake import next_reference

YEAR = 2999  # a year no other test uses, removed afterwards
WORKERS, EACH = 6, 5


def _engines(tmp_path: Path) -> list[sa.Engine]:
    engines = [make_engine(f"sqlite:///{tmp_path / 'refs.sqlite'}")]
    if os.environ.get("TEST_DATABASE_URL"):
        engines.append(make_engine(os.environ["TEST_DATABASE_URL"]))
    return engines


def _take_numbers(engine: sa.Engine) -> list[str]:
    taken = []
    for _ in range(EACH):
        with Session(engine) as session:
            taken.append(next_reference(session, year=YEAR))
            session.commit()
    return taken


def test_concurrent_intakes_never_share_a_reference(tmp_path: Path) -> None:
    for engine in _engines(tmp_path):
        ReferenceCounter.__table__.create(engine, checkfirst=True)
        try:
            with ThreadPoolExecutor(WORKERS) as pool:
                batches = list(pool.map(_take_numbers, [engine] * WORKERS))
            taken = sorted(ref for batch in batches for ref in batch)

            assert taken == [f"BD-2999-{n:04d}" for n in range(1, WORKERS * EACH + 1)], (
                engine.dialect.name
            )
        finally:
            with engine.begin() as connection:
                connection.execute(sa.delete(ReferenceCounter).where(ReferenceCounter.year == YEAR))
            engine.dispose()


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_first_reference_of_a_year_is_0001(session, year) -> None:
    assert next_reference(session, year=year) == f"BD-{year}-0001"
    assert next_reference(session, year=year) == f"BD-{year}-0002"
