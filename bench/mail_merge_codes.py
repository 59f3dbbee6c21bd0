"""What assigning identity-protection codes costs the mail merge (issue 23): the same batch
through the real job with and without a code pool, in this run.

    .venv/bin/python bench/mail_merge_codes.py --letters 300                       # SQLite
    .venv/bin/python bench/mail_merge_codes.py --letters 300 --workers 2 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres          # scratch DBs

Each round builds two scratch databases with the same roster and approved adult notice; one of
them also has a pool of codes imported (so its letters print the offer and a code, and every
chunk assigns codes: a locked SELECT of free codes, one UPDATE per person, a decryption per
code, the last four in the manifest). Both batches run through `--workers` worker processes
(bench/mail_merge_batch.py's run_job), alternating which goes first; the best of the rounds
counts. The renderer alone (letters.render_batch on the same approved context) is timed too:
the letter with the offer has an extra section, so the job's share of the renderer's speed,
with and without codes, is what the assignment itself costs. Last line:
mail_merge_codes: letters=<n> workers=<w> without_per_s=<a> with_per_s=<b> with_vs_without=<b/a>
render_with_vs_without=<r> job_share_of_render_without=<s> job_share_of_render_with=<t>
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.mail_merge_batch import _schema  # noqa: E402
from bench.mail_merge_batch import _scratch_postgres  # noqa: E402
from bench.mail_merge_batch import app_for  # noqa: E402
from bench.mail_merge_batch import render_rate  # noqa: E402
from bench.mail_merge_batch import run_job  # noqa: E402
from incident_app import letters  # noqa: E402
from incident_app.db import get_session  # noqa: E402
from incident_app.models.enrolment import EnrolmentCode  # noqa: E402
from incident_app.services.letters.approved import approved_letter  # noqa: E402


def _queue(app, count: int, pool: bool) -> tuple[int, dict]:  # noqa: ANN001
    from tests.support.enrolment_helpers import fresh_codes
    from tests.support.enrolment_helpers import import_codes
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
        if pool:
            import_codes(session, people.officer, incident, fresh_codes(count))
        approve(session, people, incident)
        batch_id = start(session, people, incident, chunk_size=100).id
        common = approved_letter(
            session, incident_id=incident.id, kind="individual_notice"
        ).common_context
        return batch_id, common


def one_run(args: argparse.Namespace, pool: bool) -> tuple[float, float, int]:
    """Letters per second of the renderer alone and of one batch through the job, on a fresh
    scratch database, and the letter's page count."""
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        admin = name = None
        if args.postgres:
            url, admin, name = _scratch_postgres(args.postgres)
        else:
            url = f"sqlite:///{tmp / 'bench.sqlite'}"
        try:
            _schema(url)
            app = app_for(url, tmp)
            batch_id, common = _queue(app, args.letters, pool)
            render = render_rate(common, args.letters, args.workers)
            pages = letters.batch_page_count("individual_adult.html", common)
            elapsed = run_job(app, url, tmp, batch_id, args.workers, "")
            with app.app_context():
                given = get_session().scalar(
                    sa.select(sa.func.count())
                    .select_from(EnrolmentCode)
                    .where(EnrolmentCode.assigned_at.is_not(None))
                )
            if given != (args.letters if pool else 0):
                raise SystemExit(f"{given} codes assigned, expected {args.letters if pool else 0}")
            app.extensions["engine"].dispose()
        finally:
            if admin is not None:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return render, args.letters / elapsed, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres", default="", help="server URL; scratch DBs are made on it")
    args = parser.parse_args()
    if args.workers != 1 and not args.postgres:
        raise SystemExit("SQLite runs one worker; use --postgres for more")
    runs: dict[bool, list[tuple[float, float, int]]] = {False: [], True: []}
    for index in range(args.rounds):
        order = (False, True) if index % 2 == 0 else (True, False)
        for pool in order:
            render, job, pages = one_run(args, pool)
            runs[pool].append((render, job, pages))
            print(
                f"round {index + 1}: {'with' if pool else 'without'} pool: renderer "
                f"{render:.2f} letters/s, job {job:.2f} letters/s, {pages} pages a letter"
            )
    render_a, job_a = max(r[0] for r in runs[False]), max(r[1] for r in runs[False])
    render_b, job_b = max(r[0] for r in runs[True]), max(r[1] for r in runs[True])
    # The job's share of the renderer's speed, with and without codes: what assignment itself
    # costs, apart from the longer letter (the offer's section) both pay.
    share_a, share_b = job_a / render_a, job_b / render_b
    print(
        f"mail_merge_codes: letters={args.letters} workers={args.workers} "
        f"without_per_s={job_a:.2f} with_per_s={job_b:.2f} with_vs_without={job_b / job_a:.2f} "
        f"render_with_vs_without={render_b / render_a:.2f} "
        f"job_share_of_render_without={share_a:.2f} job_share_of_render_with={share_b:.2f}"
    )


if __name__ == "__main__":
    main()
