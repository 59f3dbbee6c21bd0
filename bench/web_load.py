"""Web load: gunicorn (2 workers) on a seeded PostgreSQL, driven by a bounded load generator.

    .venv/bin/python bench/web_load.py                       # 10,000 incidents, 1,000,000 roster
    .venv/bin/python bench/web_load.py --incidents 2000 --roster 20000 --seconds 15

Creates a throwaway database on the server of BENCH_DATABASE_URL or TEST_DATABASE_URL (or
reuses --database-url: seeded only when it holds no incidents), migrates it and fills it with
`flask demo seed`, starts gunicorn with deploy/gunicorn.conf.py (APP_ENV=production, fresh
secrets and keys) on a free loopback port, then a second process signs in through the real
login form (CSRF token and all) with a few concurrent sessions and requests the dashboard, the
incident list (random pages), incident pages and their deadlines (obligations) tabs for a
fixed time. The baseline, measured in the same run against the same server, is `/healthz`
(no database, no session). Everything it started is stopped and the throwaway database is
dropped at the end. The last line is machine-readable:

    web_load: incidents=<N> requests=<n> p50_ms=<a> p95_ms=<b> p99_ms=<c> errors=<e>
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from incident_app.crypto import generate_key_line  # noqa: E402

FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
DEMO_USER = "demo-privacy-officer-1@example.org"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGES = ("dashboard", "incident list", "incident", "deadlines")


# --- the database ------------------------------------------------------------------------


@contextmanager
def throwaway_database(given: str | None) -> Iterator[str]:
    """The URL to use: --database-url as is, or a new database dropped afterwards."""
    if given:
        yield given
        return
    server = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not server:
        raise SystemExit(
            "Set BENCH_DATABASE_URL or TEST_DATABASE_URL (a PostgreSQL server to "
            "create a throwaway database on), or pass --database-url."
        )
    url = sa.engine.make_url(server)
    name = f"bd_webload_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def incident_ids(url: str) -> tuple[list[int], int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        ids = list(connection.scalars(sa.text("SELECT id FROM incident ORDER BY id")))
    engine.dispose()
    return ids, len(ids)


def environment(url: str, work: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "APP_ENV": "production",
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "BREACHDESK_DATA_KEYS": generate_key_line("bench1"),
            "BREACHDESK_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "BREACHDESK_AUDIT_KEYS": generate_key_line("audit1"),
            "INSTANCE_DIR": str(work / "instance"),
            "FILE_STORE_DIR": str(work / "files"),
            "BIND": f"127.0.0.1:{port}",
            "WEB_WORKERS": "2",
            "LOG_LEVEL": "WARNING",
            "FLASK_APP": "wsgi",
        }
    )
    return env


def prepare(url: str, env: dict[str, str], args: argparse.Namespace, password: str) -> None:
    """Migrate, and seed when the database has no incidents (timed, output shown)."""
    run([*FLASK, "db", "upgrade"], env)
    try:
        _, existing = incident_ids(url)
    except sa.exc.ProgrammingError:
        existing = 0
    if existing:
        print(f"reusing {existing:,} incidents already in the database", flush=True)
        return
    started = time.perf_counter()
    run(
        [
            *FLASK,
            "demo",
            "seed",
            "--incidents",
            str(args.incidents),
            "--roster",
            str(args.roster),
            "--seed",
            str(args.seed),
            "--password",
            password,
        ],
        env,
        show=True,
    )
    print(f"seed: {time.perf_counter() - started:.1f} s", flush=True)


def run(command: list[str], env: dict[str, str], *, show: bool = False) -> None:
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if show:
        for line in result.stdout.splitlines():
            if not line.startswith(("Demo users", "  demo-")):
                print(f"  | {line}", flush=True)
    if result.returncode:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"{' '.join(command[3:])} failed (exit {result.returncode})")


# --- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], work: Path, port: int) -> Iterator[None]:
    log = (work / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [GUNICORN, "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                sys.stderr.write((work / "gunicorn.log").read_text()[-3000:])
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


# --- the load generator (runs in its own process) ----------------------------------------


class Browser:
    """One signed-in session over a keep-alive connection; cookies kept by hand (the
    production cookie is Secure, which a loopback http client may still send)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                self.cookies[cookie_name] = rest.split(";", 1)[0]
        return response.status, response.read().decode("utf-8", "replace")

    def login(self, email: str, password: str) -> None:
        status, page = self.request("GET", "/login")
        token = CSRF.search(page)
        if status != 200 or token is None:
            raise RuntimeError(f"login page: HTTP {status}, no CSRF token")
        status, _ = self.request(
            "POST",
            "/login",
            urlencode({"email": email, "password": password, "csrf_token": token.group(1)}),
        )
        if status != 302:
            raise RuntimeError(f"login refused (HTTP {status})")


def _pick(rng: random.Random, ids: list[int], pages: int) -> tuple[str, str]:
    kind = rng.choice(PAGES)
    if kind == "dashboard":
        return kind, "/"
    if kind == "incident list":
        return kind, f"/incidents/?page={rng.randint(1, pages)}"
    incident = rng.choice(ids)
    return kind, (
        f"/incidents/{incident}" if kind == "incident" else f"/incidents/{incident}/deadlines"
    )


def _session_loop(
    port: int,
    password: str,
    ids: list[int],
    seconds: float,
    seed: int,
    results: list[tuple[str, float, bool]],
) -> None:
    rng = random.Random(seed)
    browser = Browser(port)
    try:
        browser.login(DEMO_USER, password)
    except (RuntimeError, OSError, http.client.HTTPException) as error:
        print(f"session {seed}: {error}", file=sys.stderr, flush=True)
        results.append(("login", 0.0, False))
        return
    pages = max(1, len(ids) // 25)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        kind, path = _pick(rng, ids, pages)
        started = time.perf_counter()
        try:
            status, _ = browser.request("GET", path)
            ok = status == 200
        except (OSError, http.client.HTTPException) as error:
            ok, status = False, error
        if not ok and not any(not good for _, _, good in results):
            print(f"first error: GET {path} -> {status}", file=sys.stderr, flush=True)
        results.append((kind, (time.perf_counter() - started) * 1000, ok))


def load_process(
    port: int,
    password: str,
    ids: list[int],
    seconds: float,
    sessions: int,
    queue: multiprocessing.Queue,
) -> None:
    """`sessions` signed-in users, each a thread requesting pages back to back until the time
    is up; the timings go back through `queue`."""
    results: list[tuple[str, float, bool]] = []
    threads = [
        threading.Thread(
            target=_session_loop, args=(port, password, ids, seconds, n, results), daemon=True
        )
        for n in range(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    queue.put(results)


def drive(
    port: int, password: str, ids: list[int], seconds: float, sessions: int
) -> list[tuple[str, float, bool]]:
    queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(
        target=load_process, args=(port, password, ids, seconds, sessions, queue)
    )
    process.start()
    try:
        results = queue.get(timeout=seconds + 120)
    finally:
        process.join(10)
        if process.is_alive():
            process.terminate()
    return results


def baseline(port: int, count: int) -> list[float]:
    """/healthz latencies over one keep-alive connection (no database, no session)."""
    browser = Browser(port)
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        browser.request("GET", "/healthz")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def server_times(log: Path) -> list[float]:
    """Request durations gunicorn logged (JSON access lines) for the pages, in ms: the time
    inside the server, without the client's own share of the two CPUs."""
    times = []
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
            entry = json.loads(entry["msg"]) if "msg" in entry else entry
        except (ValueError, TypeError, KeyError):
            continue
        path = str(entry.get("path", ""))
        if path == "/" or path.startswith("/incidents"):
            times.append(float(entry.get("duration_ms", 0)))
    return times


def report(
    results: list[tuple[str, float, bool]],
    base: list[float],
    incidents: int,
    seconds: float,
    server: list[float],
) -> None:
    for kind in PAGES:
        times = [ms for k, ms, _ in results if k == kind]
        errors = sum(1 for k, _, ok in results if k == kind and not ok)
        print(
            f"{kind:>14}: {len(times):6,} requests  p50 {percentile(times, 0.5):6.1f} ms  "
            f"p95 {percentile(times, 0.95):6.1f} ms  p99 {percentile(times, 0.99):6.1f} ms  "
            f"errors {errors}"
        )
    times = [ms for _, ms, _ in results]
    errors = sum(1 for _, _, ok in results if not ok)
    base_p50 = statistics.median(base)
    print(
        f"baseline /healthz: p50 {base_p50:.1f} ms  p95 {percentile(base, 0.95):.1f} ms "
        f"({len(base)} requests, one connection, same server)"
    )
    if server:
        print(
            f"inside gunicorn (access log): p50 {percentile(server, 0.5):.1f} ms  "
            f"p95 {percentile(server, 0.95):.1f} ms over {len(server)} page requests"
        )
    print(
        f"pages: {len(times) / seconds:.1f} requests/s; p95 = "
        f"{percentile(times, 0.95) / base_p50:.0f}x the /healthz p50"
    )
    print(
        f"web_load: incidents={incidents} requests={len(times)} "
        f"p50_ms={percentile(times, 0.5):.1f} p95_ms={percentile(times, 0.95):.1f} "
        f"p99_ms={percentile(times, 0.99):.1f} errors={errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--roster", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--sessions", type=int, default=3, help="concurrent signed-in users")
    parser.add_argument(
        "--database-url",
        help="use this database (seeded if it has no "
        "incidents; then --password must be its demo users' password)",
    )
    parser.add_argument("--password", default=None, help="demo users' password")
    args = parser.parse_args()
    password = args.password or secrets.token_urlsafe(16)
    work = Path(tempfile.mkdtemp(prefix="web-load-"))
    try:
        with throwaway_database(args.database_url) as url:
            port = free_port()
            env = environment(url, work, port)
            prepare(url, env, args, password)
            ids, count = incident_ids(url)
            with gunicorn(env, work, port):
                base = baseline(port, 200)
                print(f"driving {args.sessions} sessions for {args.seconds:.0f} s…", flush=True)
                results = drive(port, password, ids, args.seconds, args.sessions)
            report(results, base, count, args.seconds, server_times(work / "gunicorn.log"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
