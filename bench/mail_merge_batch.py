"""Batch throughput: N roster people through the real mail-merge job, against its renderer.

    .venv/bin/python bench/mail_merge_batch.py --letters 300                      # SQLite, 1 worker
    .venv/bin/python bench/mail_merge_batch.py --letters 300 --workers 2 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres         # scratch DB

Builds a scratch database (schema from the models, as the tests do), a breach case with an
approved adult notice and a roster of N people imported through the real import, starts the
batch through the service, then runs `--workers` worker processes (incident_app.jobs.mail_merge
run_worker, until idle) and times them from launch until the batch is completed: letters
stored, rows written, print files and manifests made. The yardstick is the batch renderer
alone (letters.render_batch, same template, same approved context, same number of letters
and processes) in this run, before the job. `--render-sample N` times the renderer on the
first N letters only (a 100,000-letter run). `--profile DIR` writes one cProfile file per
worker process (read with `python -m pstats`). `--baseline N` also times N naive letters.

Last line: mail_merge_batch: letters=<n> workers=<w> render_per_s=<r> job_per_s=<j>
job_vs_render=<j/r> print_mb_per_1000=<m>   (print files' bytes per 1,000 letters)
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
from incident_app import app_store  # noqa: E402
from incident_app import create_app  # noqa: E402
from incident_app import letters  # noqa: E402
from incident_app.db import Base  # noqa: E402
from incident_app.db import get_session  # noqa: E402
from incident_app.db import make_engine  # noqa: E402
from incident_app.models.audit import GENESIS_HASH  # noqa: E402
from incident_app.models.audit import AuditChainHead  # noqa: E402
from incident_app.models.mail_batch import BatchStatus  # noqa: E402
from incident_app.models.mail_batch import MailBatch  # noqa: E402
from incident_app.models.mail_batch import MailChunk  # noqa: E402
from incident_app.services.mail_merge.pdfs import GROUP  # noqa: E402

WORKER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from bench.mail_merge_batch import app_for
from incident_app.jobs.mail_merge import run_worker
app = app_for(sys.argv[1], Path(sys.argv[2]))
if len(sys.argv) > 3:
    import cProfile, os
    cProfile.run("run_worker(app, until_idle=True)", f"{{sys.argv[3]}}/worker-{{os.getpid()}}.prof")
else:
    run_worker(app, until_idle=True)
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
        from incident_app.services.letters.approved import approved_letter

        common = approved_letter(
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


def render_rate(common: dict, count: int, workers: int) -> float:
    """The batch renderer alone on `count` letters like the job's, in groups like the job's."""
    recipients = [
        {
            "letter_id": f"RCH-{n}",
            "name": f"Person{n} Family{n}",
            "address_lines": ["12 Elm St", "Albany, NY 12207"],
            # An approved letter offering identity protection prints a code (issue 23).
            **({"enrollment_code": f"BENCH{n:05d}"} if "identity_protection" in common else {}),
        }
        for n in range(count)
    ]
    started = time.perf_counter()
    for _ in letters.render_batch(
        "individual_adult.html", common, recipients, workers=workers, chunk_size=GROUP
    ):
        pass
    return count / (time.perf_counter() - started)


def print_bytes(app, batch_id: int) -> int:  # noqa: ANN001
    """The bytes of the batch's print files (decrypted, as the mail house gets them)."""
    with app.app_context():
        session = get_session()
        chunks = session.scalars(sa.select(MailChunk).where(MailChunk.batch_id == batch_id))
        return sum(len(app_store.read_verified(c.print_sha256)) for c in chunks if c.print_sha256)


def run_job(app, url: str, tmp: Path, batch_id: int, workers: int, profile: str) -> float:  # noqa: ANN001
    script = WORKER.format(root=str(ROOT))
    extra = [profile] if profile else []
    started = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-c", script, url, str(tmp), *extra], cwd=ROOT)
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
    parser.add_argument("--baseline", type=int, default=0, help="naive letters to time too")
    parser.add_argument("--profile", default="", help="directory for the workers' cProfile files")
    parser.add_argument(
        "--render-sample",
        type=int,
        default=0,
        help="time the renderer on this many letters only (default: all; for 100,000 letters "
        "10,000 gives the same rate in a tenth of the time)",
    )
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
            naive = naive_rate(common, args.baseline) if args.baseline else 0.0
            sample = min(args.render_sample or args.letters, args.letters)
            render = render_rate(common, sample, args.workers)
            elapsed = run_job(app, url, tmp, batch_id, args.workers, args.profile)
            printed = print_bytes(app, batch_id)
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
        if sample != args.letters:
            print(f"render: {render:.2f} letters/s, timed on {sample} of the letters")
        if naive:
            print(f"naive: {naive:.2f} letters/s (a fresh WeasyPrint render per letter)")
        print(
            f"mail_merge_batch: letters={args.letters} workers={args.workers} "
            f"render_per_s={render:.2f} job_per_s={rate:.2f} job_vs_render={rate / render:.2f} "
            f"print_mb_per_1000={printed / args.letters * 1000 / 1e6:.2f}"
        )


if __name__ == "__main__":
    main()
