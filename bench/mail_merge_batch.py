"""Batch throughput: N roster people through the real mail-merge job, against a naive baseline.

    .venv/bin/python bench/mail_merge_batch.py --letters 300                      # SQLite, 1 worker
    .venv/bin/python bench/mail_merge_batch.py --letters 300 --workers 2 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres         # scratch DB

Builds a scratch database (schema from the models, as the tests do), a breach case with an
approved adult notice and a roster of N people imported through the real import, starts the
batch through the service, then runs `--workers` worker processes (incident_app.jobs.mail_merge
run_worker, until idle) and times them from launch until the batch is completed: letters
stored, rows written, print files and manifests made. The baseline is a fresh
HTML(string=...).write_pdf() per letter in this process, measured in the same run.

Last line: mail_merge_batch: letters=<N> workers=<K> naive_per_s=<a> job_per_s=<b> ratio=<b/a>
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from weasyprint import HTML  # noqa: E402  (the naive baseline renders the plain way)

from config import TestConfig  # noqa: E402
from incident_app import create_app  # noqa: E402
from incident_app import letters  # noqa: E402
from incident_app.db import Base  # noqa: E402
from incident_app.db import get_session  # noqa: E402
from incident_app.db import make_engine  # noqa: E402
from incident_app.models.audit import GENESIS_HASH  # noqa: E402
from incident_app.models.audit import AuditChainHead  # noqa: E402
from incident_app.models.mail_batch import BatchStatus  # noqa: E402
from incident_app.models.mail_batch import MailBatch  # noqa: E402

WORKER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from bench.mail_merge_batch import app_for
from incident_app.jobs.mail_merge import run_worker
run_worker(app_for(sys.argv[1], Path(sys.argv[2])), until_idle=True)
"""


def app_for(url: str, tmp: Path):  # noqa: ANN201 (a Flask app)
    config = type(
        "BenchConfig",
        (TestConfig,),
        {"DATABASE_URL": url, "INSTANCE_DIR": tmp / "instance", "FILE_STORE_DIR": tmp / "files"},
    )
    return create_app(config)


def _schema(url: str) -> None:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(AuditChainHead).values(id=1, seq=0, last_hash=GENESIS_HASH))
    engine.dispose()


def _queue_batch(app, count: int) -> tuple[int, dict]:  # noqa: ANN001
    from tests.support.mail_merge_helpers import adult
    from tests.support.mail_merge_helpers import approve
    from tests.support.mail_merge_helpers import case_with_roster
    from tests.support.mail_merge_helpers import start
    from tests.support.mail_merge_helpers import team

    with app.app_context():
        session = get_session()
        people = team(session)
        incident = case_with_roster(
            session, people, *(adult(f"Person{n}", f"Family{n}") for n in range(count))
        )
        approve(session, people, incident)
        batch = start(session, people, incident, chunk_size=100)
        from incident_app.services.letters import review as letter_review

        common = letter_review.approved_letter(
            session, incident_id=incident.id, kind="individual_notice"
        ).common_context
        return batch.id, common


def naive_rate(common: dict, count: int) -> float:
    base_url = letters.TEMPLATE_DIR.as_uri() + "/"
    started = time.perf_counter()
    for n in range(count):
        recipient = {
            "letter_id": f"NAIVE-{n}",
            "name": f"Person{n} Family{n}",
            "address_lines": ["12 Elm St", "Albany, NY 12207"],
        }
        html = letters.render_html("individual_adult.html", {**common, "recipient": recipient})
        HTML(string=html, base_url=base_url, url_fetcher=letters.TemplateFilesOnly()).write_pdf()
    return count / (time.perf_counter() - started)


def run_job(app, url: str, tmp: Path, batch_id: int, workers: int) -> float:  # noqa: ANN001
    script = WORKER.format(root=str(ROOT))
    started = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-c", script, url, str(tmp)], cwd=ROOT)
        for _ in range(workers)
    ]
    for process in processes:
        process.wait()
    elapsed = time.perf_counter() - started
    with app.app_context():
        status = get_session().get(MailBatch, batch_id).status
    if status is not BatchStatus.COMPLETED:
        raise SystemExit(f"the batch ended {status}, not completed")
    return elapsed


def _scratch_postgres(server: str) -> tuple[str, sa.Engine, str]:
    name = f"bd_mail_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    return sa.make_url(server).set(database=name).render_as_string(hide_password=False), admin, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres", default="", help="server URL; a scratch DB is made on it")
    parser.add_argument("--baseline", type=int, default=20, help="naive letters to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        admin = None
        if args.postgres:
            url, admin, name = _scratch_postgres(args.postgres)
        else:
            url = f"sqlite:///{tmp / 'bench.sqlite'}"
            if args.workers != 1:
                raise SystemExit("SQLite runs one worker; use --postgres for more")
        try:
            _schema(url)
            app = app_for(url, tmp)
            batch_id, common = _queue_batch(app, args.letters)
            naive = naive_rate(common, args.baseline)
            elapsed = run_job(app, url, tmp, batch_id, args.workers)
            app.extensions["engine"].dispose()
        finally:
            if admin is not None:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        rate = args.letters / elapsed
        print(
            f"job: {args.letters} letters in {elapsed:.1f} s with {args.workers} worker(s) "
            f"({'PostgreSQL' if args.postgres else 'SQLite'})"
        )
        print(
            f"mail_merge_batch: letters={args.letters} workers={args.workers} "
            f"naive_per_s={naive:.2f} job_per_s={rate:.2f} ratio={rate / naive:.2f}"
        )


if __name__ == "__main__":
    main()
