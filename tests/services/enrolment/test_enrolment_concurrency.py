"""Two workers assigning codes at the same time on PostgreSQL, each in its own connection:
never one code for two people, never two codes for one person, and a worker never waits for
the codes another has locked (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from incident_app import app_store
from incident_app.db import get_session
from incident_app.models.enrolment import EnrolmentCode
from incident_app.services.enrolment import assignment
from tests.support.enrolment_helpers import fresh_codes
from tests.support.enrolment_helpers import import_codes
from tests.support.mail_merge_helpers import LATER
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import team
from tests.support.scratch_db import real_app
from tests.support.scratch_db import scratch_postgres

PEOPLE = 60


@pytest.fixture
def pg_app(tmp_path: Path):
    with scratch_postgres("codes") as (url,):
        app = real_app(url, tmp_path)
        yield app
        app.extensions["engine"].dispose()


def _case(app: Flask, codes: int) -> tuple[int, list[int]]:
    with app.app_context():
        session = get_session()
        people = team(session)
        incident = case_with_roster(session, people, *(adult(f"Person{n}") for n in range(PEOPLE)))
        import_codes(session, people.officer, incident, fresh_codes(codes))
        ids = sorted(p.id for p in roster_people(session, incident).values())
        return incident.id, ids


def _assign_in_threads(app: Flask, incident_id: int, groups: list[list[int]]) -> list[dict]:
    barrier = threading.Barrier(len(groups))
    results: list[dict] = [{} for _ in groups]
    errors: list[BaseException] = []

    def run(index: int, person_ids: list[int]) -> None:
        try:
            with app.app_context():
                session = get_session()
                barrier.wait()
                results[index] = assignment.codes_for(
                    session,
                    incident_id=incident_id,
                    wanted=[assignment.Wanted(pid, f"L-{pid}") for pid in person_ids],
                    keyring=app_store.current_keyring(),
                    now=LATER,
                )
                session.commit()
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, g)) for i, g in enumerate(groups)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


def _assigned(app: Flask) -> dict[int, int]:
    with app.app_context():
        rows = get_session().execute(
            sa.select(EnrolmentCode.person_id, EnrolmentCode.id).where(
                EnrolmentCode.assigned_at.is_not(None)
            )
        )
        return dict(rows.all())


def test_two_workers_at_once_never_share_a_code(pg_app: Flask) -> None:
    incident_id, ids = _case(pg_app, PEOPLE)

    first, second = _assign_in_threads(
        pg_app, incident_id, [ids[: PEOPLE // 2], ids[PEOPLE // 2 :]]
    )

    assert len(first) == len(second) == PEOPLE // 2
    assert set(first.values()).isdisjoint(second.values())
    given = _assigned(pg_app)
    assert sorted(given) == ids and len(set(given.values())) == PEOPLE


def test_two_workers_assigning_the_same_people_give_each_one_code(pg_app: Flask) -> None:
    # A chunk taken over while its first worker still runs: both assign the same people.
    incident_id, ids = _case(pg_app, PEOPLE)
    group = ids[:20]

    first, second = _assign_in_threads(pg_app, incident_id, [group, group])

    assert first == second and len(set(first.values())) == 20
    given = _assigned(pg_app)
    assert sorted(given) == group  # nobody holds a second code; 40 stay free


def test_a_worker_skips_codes_another_has_locked_instead_of_waiting(pg_app: Flask) -> None:
    incident_id, ids = _case(pg_app, 3)
    with pg_app.app_context():
        session = get_session()
        first_free = session.scalar(sa.select(sa.func.min(EnrolmentCode.id)))
        session.commit()
        holder = pg_app.extensions["engine"].connect()
        transaction = holder.begin()
        holder.execute(
            sa.text("SELECT id FROM enrolment_code WHERE id = :id FOR UPDATE"), {"id": first_free}
        )
        try:
            # Waiting for the held row would hit this timeout and fail the assignment.
            session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            got = assignment.codes_for(
                session,
                incident_id=incident_id,
                wanted=[assignment.Wanted(ids[0], "L-1")],
                keyring=app_store.current_keyring(),
                now=LATER,
            )
            session.commit()
        finally:
            transaction.rollback()
            holder.close()
    assert len(got) == 1
    assert _assigned(pg_app) == {ids[0]: first_free + 1}
