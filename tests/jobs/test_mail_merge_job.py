"""The mail-merge worker job: discovered by the scheduler, finishes queued batches, survives
SIGKILL mid-chunk (no letter lost, none written twice), and on PostgreSQL a second worker
skips the chunk another holds (SKIP LOCKED)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from pypdf import PdfReader
from sqlalchemy.orm import Session

from incident_app import app_store
from incident_app import clock
from incident_app.db import get_session
from incident_app.jobs import mail_merge as job
from incident_app.letters import pdf_text
from incident_app.models.enrolment import EnrolmentCode
from incident_app.models.incident import Incident
from incident_app.models.mail_batch import BatchStatus
from incident_app.models.mail_batch import ChunkStatus
from incident_app.models.mail_batch import LetterState
from incident_app.models.mail_batch import MailBatch
from incident_app.models.mail_batch import MailChunk
from incident_app.models.mail_batch import MailLetter
from incident_app.models.roster import NoticeStatus
from incident_app.scheduler import JOBS
from incident_app.services.enrolment import codes as code_crypto
from incident_app.services.mail_merge import worker as mail_merge_worker
from incident_app.services.mail_merge.pdfs import GROUP
from tests.support.enrolment_helpers import fresh_codes
from tests.support.enrolment_helpers import import_codes
from tests.support.mail_merge_helpers import adult
from tests.support.mail_merge_helpers import approve
from tests.support.mail_merge_helpers import case_with_roster
from tests.support.mail_merge_helpers import roster_people
from tests.support.mail_merge_helpers import start
from tests.support.mail_merge_helpers import team
from tests.support.mail_merge_helpers import worker
from tests.support.scratch_db import real_app
from tests.support.scratch_db import scratch_postgres
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from config import TestConfig
    from incident_app import create_app
    from incident_app.jobs.mail_merge import run_worker

    url, tmp = sys.argv[1], Path(sys.argv[2])
    config = type("KillConfig", (TestConfig,), {
        "DATABASE_URL": url, "INSTANCE_DIR": tmp / "instance", "FILE_STORE_DIR": tmp / "files"})
    run_worker(create_app(config), until_idle=True)
    print("finished", flush=True)
""")


def test_the_scheduler_lists_the_job(app: Flask) -> None:
    assert "mail-merge" in [job.id for job in JOBS]


def test_the_job_finishes_a_queued_batch(app: Flask, session: Session) -> None:
    people = team(session)
    incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
    approve(session, people, incident)
    batch = start(session, people, incident)

    job.mail_merge_job(app)

    session.expire_all()
    assert session.get(MailBatch, batch.id).status is BatchStatus.COMPLETED
    assert {p.notice_status for p in roster_people(session, incident).values()} == {
        NoticeStatus.LETTER_GENERATED
    }


# ---- SIGKILL mid-chunk ----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kill.sqlite'}"
        return
    with scratch_postgres("mail_kill") as (url,):
        yield url


_real_app = real_app


@pytest.mark.slow
def test_sigkill_mid_chunk_then_resume_loses_nothing_and_writes_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    app = _real_app(database_url, tmp_path)
    size = 160
    batch_id, incident_id = _queue(app, size)

    written = _kill_mid_chunk(app, database_url, tmp_path, batch_id)
    assert 0 < written < size

    with app.app_context():
        session = get_session()
        before = {row.person_id: row.sha256 for row in _rows(session, batch_id)}
        running = session.scalars(
            sa.select(MailChunk).where(MailChunk.status == ChunkStatus.RUNNING)
        ).one()  # the killed worker's claim
        assert running.number == 1

        # Long after the heartbeat stopped, another worker takes the chunk over.
        later = clock.utcnow() + timedelta(minutes=10)
        assert mail_merge_worker.work(session, worker=worker(clock=lambda: later)) == 2

        rows = _rows(session, batch_id)
        assert len(rows) == size == len({r.person_id for r in rows})
        assert all(r.state is LetterState.DONE and r.attempts == 1 for r in rows)
        assert {r.person_id: r.sha256 for r in rows if r.person_id in before} == before
        assert session.get(MailBatch, batch_id).status is BatchStatus.COMPLETED
        chunks = list(session.scalars(sa.select(MailChunk).order_by(MailChunk.number)))
        for chunk in chunks:
            pages = len(PdfReader(io.BytesIO(app_store.read_verified(chunk.print_sha256))).pages)
            assert pages == sum(r.page_count for r in rows if r.chunk_id == chunk.id)
        assert [c.letters for c in chunks] == [100, 60]
        incident = session.get(Incident, incident_id)
        assert {p.notice_status for p in roster_people(session, incident).values()} == {
            NoticeStatus.LETTER_GENERATED
        }


def test_a_second_postgres_worker_skips_the_chunk_another_holds(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite runs one worker")
    app = _real_app(database_url, tmp_path)
    with app.app_context():
        session = get_session()
        people = team(session)
        incident = case_with_roster(session, people, adult("Ana"), adult("Bo"))
        approve(session, people, incident)
        batch = start(session, people, incident, chunk_size=1)
        holder = app.extensions["engine"].connect()
        transaction = holder.begin()
        holder.execute(
            sa.text("SELECT id FROM mail_chunk WHERE batch_id = :b AND number = 1 FOR UPDATE"),
            {"b": batch.id},
        )
        try:
            claimed = mail_merge_worker.claim(session, now=clock.utcnow(), worker="second")
        finally:
            transaction.rollback()
            holder.close()
        assert claimed is not None and claimed.number == 2
        assert mail_merge_worker.claim(session, now=clock.utcnow(), worker="third").number == 1


def _queue(app: Flask, size: int, codes: int = 0) -> tuple[int, int]:
    """(batch id, incident id) of a queued mailing of `size` people (with a pool of `codes`)."""
    with app.app_context():
        session = get_session()
        people = team(session)
        incident = case_with_roster(session, people, *(adult(f"Person{n}") for n in range(size)))
        if codes:
            import_codes(session, people.officer, incident, fresh_codes(codes))
        approve(session, people, incident)
        return start(session, people, incident, chunk_size=100).id, incident.id


def _kill_mid_chunk(app: Flask, url: str, tmp_path: Path, batch_id: int) -> int:
    """Start a worker process, SIGKILL it once it wrote letters; how many it had written."""
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        written = _wait_for_letters(app, batch_id, process)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return written


# ---- SIGKILL between writing the print file and committing the chunk -----------------------

DIES_AFTER_THE_PRINT_FILE = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from config import TestConfig
    from incident_app import create_app
    from incident_app.db import get_session
    from incident_app.jobs.mail_merge import worker_for
    from incident_app.services.mail_merge import worker as mail_merge_worker
    from incident_app.storage import FileStore

    url, tmp, letters = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])

    class DiesAfterThePrintFile(FileStore):
        puts = 0

        def put_bytes(self, data):
            stored = super().put_bytes(data)
            DiesAfterThePrintFile.puts += 1
            if DiesAfterThePrintFile.puts == 1:  # letters go through put_many: the print file
                print(stored.sha256, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)  # before the chunk's commit
            return stored

    config = type("KillConfig", (TestConfig,), {
        "DATABASE_URL": url, "INSTANCE_DIR": tmp / "instance", "FILE_STORE_DIR": tmp / "files"})
    app = create_app(config)
    with app.app_context():
        worker = worker_for(app)
        worker.store = DiesAfterThePrintFile(worker.store.root, worker.store.keyring)
        mail_merge_worker.work(get_session(), worker=worker)
""")


def test_a_worker_killed_after_writing_the_print_file_before_committing_counts_it_once(
    database_url: str, tmp_path: Path
) -> None:
    app = _real_app(database_url, tmp_path)
    size = 3
    batch_id, _incident_id = _queue(app, size)

    killed = subprocess.run(
        [sys.executable, "-c", DIES_AFTER_THE_PRINT_FILE, database_url, str(tmp_path), str(size)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    written_before_the_kill = killed.stdout.strip()

    with app.app_context():
        session = get_session()
        before = {row.person_id: row.sha256 for row in _rows(session, batch_id)}
        assert len(before) == size  # the letters were committed before the print file
        chunk = session.scalars(sa.select(MailChunk)).one()
        assert (chunk.status, chunk.print_sha256) == (ChunkStatus.RUNNING, None)
        assert app_store.current_store().exists(written_before_the_kill)  # on disk, not counted

        later = clock.utcnow() + timedelta(minutes=10)  # the claim went stale: taken over
        assert mail_merge_worker.work(session, worker=worker(clock=lambda: later)) == 1

        rows = _rows(session, batch_id)
        assert [(r.state, r.attempts) for r in rows] == [(LetterState.DONE, 1)] * size
        assert {r.person_id: r.sha256 for r in rows} == before  # no letter rendered twice
        session.refresh(chunk)
        assert (chunk.status, chunk.letters) == (ChunkStatus.DONE, size)
        assert session.get(MailBatch, batch_id).status is BatchStatus.COMPLETED
        printed = PdfReader(io.BytesIO(app_store.read_verified(chunk.print_sha256 or "")))
        assert len(printed.pages) == sum(r.page_count or 0 for r in rows)
        # The file the killed worker wrote is counted at most once: it is the same bytes
        # (content-addressed, so the same file) or referenced by no chunk at all.
        referencing = session.scalar(
            sa.select(sa.func.count())
            .select_from(MailChunk)
            .where(MailChunk.print_sha256 == written_before_the_kill)
        )
        assert referencing == (1 if chunk.print_sha256 == written_before_the_kill else 0)


def _rows(session: Session, batch_id: int) -> list[MailLetter]:
    session.expire_all()
    return list(session.scalars(sa.select(MailLetter).where(MailLetter.batch_id == batch_id)))


def _wait_for_letters(app: Flask, batch_id: int, process: subprocess.Popen[bytes]) -> int:
    """Poll until the worker has committed at least one group of letters."""

    def written() -> int:
        assert process.poll() is None, process.communicate()
        with app.app_context():
            session = get_session()
            count = (
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(MailLetter)
                    .where(MailLetter.batch_id == batch_id)
                )
                or 0
            )
            session.close()
        return count

    return wait_until(written, timeout=180, message="the worker never wrote a letter")


# ---- Scale-out: three workers on PostgreSQL, one SIGKILLed mid-chunk -------------------------


@pytest.mark.slow
def test_three_postgres_workers_one_killed_mid_chunk_render_every_letter_exactly_once(
    tmp_path: Path,
) -> None:
    with scratch_postgres("mail_scale") as (url,):
        app = _real_app(url, tmp_path)
        size = 300
        with app.app_context():
            session = get_session()
            people = team(session)
            incident = case_with_roster(
                session, people, *(adult(f"Person{n}") for n in range(size))
            )
            approve(session, people, incident)
            batch_id = start(session, people, incident, chunk_size=100).id

        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, url, str(tmp_path)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        try:
            victim, chunk_number = _wait_for_a_worker_mid_chunk(app, batch_id, workers)
            os.kill(victim.pid, signal.SIGKILL)
            for process in workers:
                process.wait(timeout=300)
        finally:
            for process in workers:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        assert victim.returncode == -signal.SIGKILL
        survivors = [p for p in workers if p is not victim]
        assert all(p.returncode == 0 for p in survivors), [p.communicate() for p in survivors]

        with app.app_context():
            session = get_session()
            before = {row.person_id: row.sha256 for row in _rows(session, batch_id)}
            running = session.scalars(
                sa.select(MailChunk).where(MailChunk.status == ChunkStatus.RUNNING)
            ).one()  # only the killed worker's chunk is left, until its heartbeat goes stale
            assert running.number == chunk_number

            later = clock.utcnow() + timedelta(minutes=10)
            assert mail_merge_worker.work(session, worker=worker(clock=lambda: later)) == 1

            rows = _rows(session, batch_id)
            assert len(rows) == size == len({r.person_id for r in rows})
            assert all(r.state is LetterState.DONE and r.attempts == 1 for r in rows)
            assert {r.person_id: r.sha256 for r in rows if r.person_id in before} == before
            assert session.get(MailBatch, batch_id).status is BatchStatus.COMPLETED
            chunks = list(session.scalars(sa.select(MailChunk).order_by(MailChunk.number)))
            assert [c.letters for c in chunks] == [100, 100, 100]
            assert len({c.claimed_by for c in chunks}) >= 2  # the work really was shared
            # Each letter is in exactly one print file and one manifest line.
            codes: list[str] = []
            for chunk in chunks:
                manifest = app_store.read_verified(chunk.manifest_sha256).decode()
                codes += [line.split(",")[0] for line in manifest.splitlines()[1:]]
                printed = app_store.read_verified(chunk.print_sha256)
                pages = len(PdfReader(io.BytesIO(printed)).pages)
                assert pages == sum(r.page_count for r in rows if r.chunk_id == chunk.id)
            assert sorted(codes) == sorted(r.letter_code for r in rows)
        app.extensions["engine"].dispose()


def _wait_for_a_worker_mid_chunk(
    app: Flask, batch_id: int, workers: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], int]:
    """A worker process whose claimed chunk has some letters written and some not."""
    by_pid = {str(p.pid): p for p in workers}

    def mid_chunk() -> tuple[subprocess.Popen[bytes], int] | None:
        for process in workers:
            assert process.poll() is None, process.communicate()
        with app.app_context():
            session = get_session()
            found = session.execute(
                sa.select(MailChunk.claimed_by, MailChunk.number, sa.func.count(MailLetter.id))
                .join(MailLetter, MailLetter.chunk_id == MailChunk.id)
                .where(MailChunk.batch_id == batch_id, MailChunk.status == ChunkStatus.RUNNING)
                .group_by(MailChunk.claimed_by, MailChunk.number)
            ).all()
            session.close()
        for claimed_by, number, written in found:
            pid = claimed_by.rsplit(":", 1)[-1]
            if pid in by_pid and 0 < written < 100:
                return by_pid[pid], number
        return None

    return wait_until(mid_chunk, timeout=240, message="no worker was ever seen mid-chunk")


# ---- SIGKILL mid-chunk with enrollment codes (issue 23) --------------------------------------


@pytest.mark.slow
def test_sigkill_mid_chunk_with_codes_never_gives_a_person_a_second_code(
    database_url: str, tmp_path: Path
) -> None:
    app = _real_app(database_url, tmp_path)
    size = 120
    batch_id, _ = _queue(app, size, codes=size + 10)

    _kill_mid_chunk(app, database_url, tmp_path, batch_id)

    with app.app_context():
        session = get_session()
        before = _codes(session)
        assert len(before) >= GROUP  # the killed worker had assigned the chunk's codes
        later = clock.utcnow() + timedelta(minutes=10)
        mail_merge_worker.work(session, worker=worker(clock=lambda: later))

        after = _codes(session)
        assert len(after) == size == len(set(after.values()))
        assert {pid: code for pid, code in after.items() if pid in before} == before
        for row in _rows(session, batch_id):
            assert after[row.person_id] in pdf_text(app_store.read_verified(row.sha256))
        assert session.get(MailBatch, batch_id).status is BatchStatus.COMPLETED
    app.extensions["engine"].dispose()


def _codes(session: Session) -> dict[int, str]:
    session.expire_all()
    keyring = app_store.current_keyring()
    return {
        row.person_id: code_crypto.reveal(keyring, row)
        for row in session.scalars(
            sa.select(EnrolmentCode).where(EnrolmentCode.person_id.is_not(None))
        )
    }
