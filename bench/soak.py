"""Soak: `make run`'s shape (gunicorn, 2 workers, + the scheduler) under everything at once.

    .venv/bin/python bench/soak.py                                 # SQLite, 300 s
    .venv/bin/python bench/soak.py --seconds 40 --letters 200 --roster-rows 20000   # CI size
    .venv/bin/python bench/soak.py --database-url postgresql+psycopg://postgres@127.0.0.1/bd_soak

Migrates a fresh database (a SQLite file in a temporary folder; or the PostgreSQL database of
--database-url, created here and dropped at the end when it does not exist yet) and seeds
it: a breach case with an approved notice, a roster of --letters people and a mail merge of
them queued, a second case for a roster import, a few more cases. Then gunicorn (2 workers,
127.0.0.1 only) and the scheduler start, and for --seconds, at once: the scheduler renders
the mailing; a --roster-rows roster is uploaded and imported; the roster and the mail-house
manifest are exported (streamed) every --export-every seconds; signed-in users request
--rate pages a second across the dashboard, lists, incident tabs and the mailing progress
poll; /readyz is asked every second; and a task due today is added every --reminder-every
seconds, so reminders come due during the run. After the load, the scheduler gets up to
--drain seconds to send the reminders still due, commit the roster import and render the
rest of the mailing (--check fails if it does not). Everything started here is stopped.

Last line (`locked` counts "database is locked"/"database busy" in every process's log;
`max_lock_ms` is the longest SQLite write-lock hold the app logged, or on PostgreSQL the
longest open transaction that had written, sampled every 0.2 s; `duplicates` counts repeated
reminder points and repeated mail-merge letters):

    soak: seconds=<s> requests=<n> errors_5xx=<e> locked=<l> readyz_fail=<r> reminders_due=<d> reminders_sent=<s> duplicates=<u> max_lock_ms=<m>
"""  # noqa: E501

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench._soak_load import TASK_TITLE  # noqa: E402
from bench._soak_load import Client  # noqa: E402
from bench._soak_load import Load  # noqa: E402
from bench._soak_load import Tally  # noqa: E402
from incident_app.crypto import generate_key_line  # noqa: E402

FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
LOCKED = re.compile(r"database is locked|database table is locked|database busy")
LOCK_HELD = re.compile(r"write lock held (\d+) ms(?: \(first: ([^)]{0,60}))?")


# --- the database and the processes ------------------------------------------------------------


@contextmanager
def database(given: str | None, work: Path) -> Iterator[str]:
    if not given:
        yield f"sqlite:///{work / 'soak.sqlite'}"
        return
    url = sa.engine.make_url(given)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": url.database}
        ).first()
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        if not exists:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        admin.dispose()


def environment(url: str, work: Path) -> dict[str, str]:
    return {
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BREACHDESK_DATA_KEYS": generate_key_line("soak1"),
        "BREACHDESK_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "INSTANCE_DIR": str(work / "instance"),
        "FILE_STORE_DIR": str(work / "files"),
        "FLASK_APP": "wsgi",
        "LOG_LEVEL": "WARNING",
        "MAIL_MERGE_POLL_SECONDS": "2",
        "ROSTER_POLL_SECONDS": "2",
        "SCHEDULER_HEARTBEAT_SECONDS": "5",
        "REMINDER_SWEEP_MINUTES": "0.25",
        "BREACHDESK_LOCK_LOG_MS": "0",  # every write-lock hold is logged (SQLite)
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def processes(work: Path, port: int) -> Iterator[list[Path]]:
    """gunicorn (2 workers, loopback) and the scheduler, as deploy/run-dev.sh starts them."""
    commands = {
        "gunicorn": [GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        "scheduler": [*FLASK, "scheduler"],
    }
    logs = [work / f"{name}.log" for name in commands]
    started: list[subprocess.Popen[bytes]] = []
    try:
        for (_name, command), log in zip(commands.items(), logs, strict=True):
            with log.open("wb") as out:
                started.append(
                    subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
                )
        deadline = time.monotonic() + 90
        while not Client(port).ready():  # the pages answer and the scheduler has reported
            if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                text = "\n".join(log.read_text()[-3000:] for log in logs)
                raise SystemExit(f"BreachDesk did not become ready:\n{text}")
            time.sleep(0.5)
        yield logs
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- the seed ---------------------------------------------------------------------------------


@dataclass
class Seed:
    officer_email: str
    officer_id: int
    password: str
    mail_incident: int
    batch_id: int
    import_incident: int
    incidents: list[int]


def seed_in_subprocess(letters: int, work: Path) -> Seed:
    """The seed runs in a child with the servers' environment (config is read at import)."""
    out = work / "seed.json"
    command = [sys.executable, __file__, "--seed-into", str(out), "--letters", str(letters)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit("seed failed:\n" + result.stdout[-2000:] + result.stderr[-4000:])
    return Seed(**json.loads(out.read_text()))


def seed(letters: int) -> Seed:
    """With the servers' environment: the cases, the roster and the queued mailing."""
    from incident_app import create_app
    from incident_app.db import get_session
    from incident_app.services.organisation import get_organisation
    from tests.support.factories import PASSWORD
    from tests.support.factories import make_incident
    from tests.support.mail_merge_helpers import adult
    from tests.support.mail_merge_helpers import approve
    from tests.support.mail_merge_helpers import case_with_roster
    from tests.support.mail_merge_helpers import start
    from tests.support.mail_merge_helpers import team

    app = create_app()
    with app.app_context():
        session = get_session()
        get_organisation(session)
        session.commit()
        people = team(session)
        incident = case_with_roster(
            session, people, *(adult(f"Persona{n}", f"García{n}") for n in range(letters))
        )
        approve(session, people, incident)
        batch = start(session, people, incident, chunk_size=100)
        others = [make_incident(session, created_by=people.officer).id for _ in range(6)]
        result = Seed(
            people.officer.email,
            people.officer.id,
            PASSWORD,
            incident.id,
            batch.id,
            others[0],
            [incident.id, *others],
        )
    app.extensions["engine"].dispose()
    return result


# --- measuring ----------------------------------------------------------------------------------


def pg_lock_sampler(url: str, stop: threading.Event, result: list[float]) -> None:
    """PostgreSQL: the longest-open transaction that has written (has an xid), sampled."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    query = sa.text(
        "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) * 1000 "
        "FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL "
        "AND pid <> pg_backend_pid()"
    )
    with engine.connect() as connection:
        while not stop.wait(0.2):
            result.append(float(connection.execute(query).scalar_one()))
    engine.dispose()


def outcome(url: str, batch_id: int) -> dict[str, Any]:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        due = (
            c.execute(sa.text("SELECT id FROM task WHERE title LIKE :t"), {"t": f"{TASK_TITLE} %"})
            .scalars()
            .all()
        )
        sent = c.execute(
            sa.text(
                "SELECT count(DISTINCT subject_id) FROM reminder_sent "
                "WHERE subject_type = 'task' AND subject_id IN (SELECT id FROM task "
                "WHERE title LIKE :t)"
            ),
            {"t": f"{TASK_TITLE} %"},
        ).scalar_one()
        repeated = (
            c.execute(
                sa.text(
                    "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM reminder_sent "
                    "GROUP BY subject_type, subject_id, due_on, days_before) AS r WHERE n > 1"
                )
            ).scalar_one()
            + c.execute(
                sa.text(
                    "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM mail_letter "
                    "GROUP BY batch_id, person_id) AS m WHERE n > 1"
                )
            ).scalar_one()
        )
        letters = c.execute(
            sa.text("SELECT count(*) FROM mail_letter WHERE batch_id = :b AND state = 'done'"),
            {"b": batch_id},
        ).scalar_one()
        imports = c.execute(
            sa.text("SELECT status, rows_accepted FROM roster_import ORDER BY id DESC LIMIT 1")
        ).first()
    engine.dispose()
    return {
        "due": len(due),
        "sent": int(sent),
        "duplicates": int(repeated),
        "letters": int(letters),
        "import": tuple(imports) if imports else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--database-url", help="PostgreSQL (created and dropped if missing)")
    parser.add_argument("--letters", type=int, default=5000)
    parser.add_argument("--roster-rows", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=10, help="page requests per second")
    parser.add_argument("--export-every", type=float, default=5)
    parser.add_argument("--reminder-every", type=float, default=10)
    parser.add_argument("--drain", type=float, default=60, help="max wait for what is left after")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless errors_5xx=0 locked=0 readyz_fail=0, every reminder sent, the "
        "roster import committed, every letter rendered, no duplicates and every export with "
        "a BOM and one charset (CI)",
    )
    parser.add_argument("--seed-into", help=argparse.SUPPRESS)  # the seeding child
    args = parser.parse_args()
    if args.seed_into:
        Path(args.seed_into).write_text(json.dumps(dataclasses.asdict(seed(args.letters))))
        return
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        args.work = Path(folder)
        with database(args.database_url, args.work) as url:
            run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    os.environ.update(environment(url, args.work))
    started = time.perf_counter()
    subprocess.run([*FLASK, "db", "upgrade"], cwd=ROOT, check=True, capture_output=True)
    s = seed_in_subprocess(args.letters, args.work)
    from incident_app.demo.roster_files import write_roster

    write_roster(args.work / "big-roster.csv", args.roster_rows, 18, flawed=False)
    print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
    port, tally, stop, lock_samples = free_port(), Tally(), threading.Event(), [0.0]
    with processes(args.work, port) as logs:
        threads = Load(port, s, args, tally, stop).threads()
        if not url.startswith("sqlite"):
            threads.append(threading.Thread(target=pg_lock_sampler, args=(url, stop, lock_samples)))
        begun = time.monotonic()
        for thread in threads:
            thread.start()
        stop.wait(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(180)
        seconds = time.monotonic() - begun
        drain_until = time.monotonic() + args.drain
        while time.monotonic() < drain_until:
            if finished(outcome(url, s.batch_id), args):
                break
            time.sleep(2)
    report(args, tally, outcome(url, s.batch_id), logs, lock_samples, seconds)


def finished(result: dict[str, Any], args: argparse.Namespace) -> bool:
    """Every reminder due sent, the roster import committed, every letter rendered."""
    imported = result["import"] is not None and result["import"][0] == "committed"
    return bool(result["sent"] >= result["due"] and imported and result["letters"] >= args.letters)


def report(
    args: argparse.Namespace,
    tally: Tally,
    result: dict[str, Any],
    logs: list[Path],
    lock_samples: list[float],
    seconds: float,
) -> None:
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    locked = len(LOCKED.findall(text))
    holds = sorted(((int(ms), first) for ms, first in LOCK_HELD.findall(text)), reverse=True)
    held = [ms for ms, _ in holds] + [int(x) for x in lock_samples]
    for ms, first in holds[:3]:
        print(f"  longest write-lock holds: {ms} ms, first statement: {first}")
    print(
        f"letters rendered {result['letters']}/{args.letters}; roster import {result['import']}; "
        f"exports {tally.exports} ({tally.bad_exports} without BOM/charset); "
        f"slowest request {tally.slowest_ms:.0f} ms; {len(held) - 1} lock holds/samples"
    )
    for error in tally.first_errors:
        print(f"  error: {error}")
    for line in text.splitlines():
        if LOCKED.search(line):
            print(f"  log: {line[:200]}")
            break
    print(
        f"soak: seconds={seconds:.0f} requests={tally.requests} errors_5xx={tally.errors_5xx} "
        f"locked={locked} readyz_fail={tally.readyz_fail} reminders_due={result['due']} "
        f"reminders_sent={result['sent']} duplicates={result['duplicates']} "
        f"max_lock_ms={max(held):.0f}",
        flush=True,
    )
    failed = (
        tally.errors_5xx
        or locked
        or tally.readyz_fail
        or result["sent"] != result["due"]
        or result["duplicates"]
        or tally.bad_exports
        or not tally.exports
        or not finished(result, args)
    )
    if args.check and failed:
        raise SystemExit("soak: the goal was not met")


if __name__ == "__main__":
    main()
