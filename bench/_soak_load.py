"""bench/soak.py's load: signed-in loopback browsers, paced, counting what they get back."""

from __future__ import annotations

import argparse
import http.client
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
BOM = b"\xef\xbb\xbf"
CSV_TYPE = "text/csv; charset=utf-8"
TASK_TITLE = "Soak reminder"


class Seed(Protocol):
    officer_email: str
    password: str
    mail_incident: int
    batch_id: int
    import_incident: int
    incidents: list[int]


class Client:
    """One signed-in browser over a keep-alive loopback connection (cookies kept by hand)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie, _, rest = value.partition("=")
                self.cookies[cookie] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def ready(self) -> bool:
        try:
            return self.request("GET", "/readyz")[0] == 200
        except (OSError, http.client.HTTPException):
            return False

    def token(self, path: str) -> str:
        status, _, page = self.request("GET", path)
        found = CSRF.search(page.decode("utf-8", "replace"))
        if found is None:
            raise RuntimeError(f"no CSRF token on {path} (HTTP {status})")
        return found.group(1)

    def post_form(self, path: str, form_page: str, fields: dict[str, str]) -> int:
        body = urlencode({**fields, "csrf_token": self.token(form_page)}).encode()
        return self.request("POST", path, body, "application/x-www-form-urlencoded")[0]

    def login(self, email: str, password: str) -> None:
        if self.post_form("/login", "/login", {"email": email, "password": password}) != 302:
            raise RuntimeError("login refused")


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    errors_5xx: int = 0
    readyz_fail: int = 0
    exports: int = 0
    bad_exports: int = 0
    slowest_ms: float = 0.0
    tasks: int = 0
    first_errors: list[str] = field(default_factory=list)

    def count(self, what: str, status: int | str, started: float) -> None:
        with self.lock:
            self.requests += 1
            self.slowest_ms = max(self.slowest_ms, (time.perf_counter() - started) * 1000)
            if not isinstance(status, int) or status >= 500:
                self.errors_5xx += 1
                if len(self.first_errors) < 5:
                    self.first_errors.append(f"{what} -> {status}")


def call(tally: Tally, what: str, fn: Callable[[], int]) -> int | str:
    started = time.perf_counter()
    try:
        status: int | str = fn()
    except (OSError, http.client.HTTPException, RuntimeError) as error:
        status = f"{type(error).__name__}: {error}"
    tally.count(what, status, started)
    return status


def paced(stop: threading.Event, interval: float, step: Callable[[], None]) -> None:
    next_at = time.monotonic()
    while not stop.is_set():
        step()
        next_at = max(next_at + interval, time.monotonic() - interval)
        stop.wait(max(0.0, next_at - time.monotonic()))


class Load:
    """The threads of the run, each with its own signed-in browser."""

    def __init__(
        self, port: int, s: Seed, args: argparse.Namespace, tally: Tally, stop: threading.Event
    ) -> None:
        self.port, self.s, self.args, self.tally, self.stop = port, s, args, tally, stop
        mail, batch = s.mail_incident, s.batch_id
        self.poll = f"/incidents/{mail}/mailing/{batch}/progress.json"
        self.pages = [
            "/",
            "/incidents/",
            self.poll,
            *(f"/incidents/{i}" for i in s.incidents),
            f"/incidents/{mail}/roster/",
            f"/incidents/{s.import_incident}/roster/",
            f"/incidents/{mail}/tasks",
            f"/incidents/{mail}/mailing/{batch}",
            self.poll,
        ]

    def threads(self) -> list[threading.Thread]:
        targets = [self.browse, self.browse, self.readyz, self.exports, self.upload, self.tasks]
        return [
            threading.Thread(target=target, args=(n,), daemon=True)
            for n, target in enumerate(targets)
        ]

    def browser(self) -> Client:
        client = Client(self.port)
        client.login(self.s.officer_email, self.s.password)
        return client

    def browse(self, offset: int) -> None:
        """Half of --rate: the pages in turn, this thread on every other one."""
        client, paths = self.browser(), self.pages[offset::2] or self.pages

        def step(n: list[int] = [0]) -> None:  # noqa: B006 (the thread's own counter)
            path = paths[n[0] % len(paths)]
            n[0] += 1
            call(self.tally, path, lambda: client.request("GET", path)[0])

        paced(self.stop, 2.0 / self.args.rate, step)

    def readyz(self, _n: int) -> None:
        client = Client(self.port)

        def step() -> None:
            status = call(self.tally, "/readyz", lambda: client.request("GET", "/readyz")[0])
            if status != 200:
                with self.tally.lock:
                    self.tally.readyz_fail += 1

        paced(self.stop, 1.0, step)

    def exports(self, _n: int) -> None:
        """The roster export (POST, streamed) and the mailing's manifest, in turn."""
        client, turn = self.browser(), [0]
        roster = f"/incidents/{self.s.mail_incident}/roster"
        manifest = f"/incidents/{self.s.mail_incident}/mailing/{self.s.batch_id}/manifest.csv"

        def export() -> int:
            turn[0] += 1
            if turn[0] % 2:
                body = urlencode({"csrf_token": client.token(f"{roster}/")}).encode()
                form = "application/x-www-form-urlencoded"
                status, headers, data = client.request("POST", f"{roster}/export", body, form)
            else:
                status, headers, data = client.request("GET", manifest)
            good = data.startswith(BOM) and headers.get("content-type") == CSV_TYPE
            with self.tally.lock:
                self.tally.exports += 1
                self.tally.bad_exports += status == 200 and not good
            return status

        paced(self.stop, self.args.export_every, lambda: call(self.tally, "export", export))

    def upload(self, _n: int) -> None:
        """The big roster, uploaded once through the roster page (the scheduler imports it)."""
        client = self.browser()
        roster = f"/incidents/{self.s.import_incident}/roster/"
        data = (self.args.work / "big-roster.csv").read_bytes()

        def send() -> int:
            boundary = secrets.token_hex(12)
            fields = (("csrf_token", client.token(roster)), ("mode", "replace"))
            head = "".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                for k, v in fields
            ) + (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                'filename="big-roster.csv"\r\nContent-Type: text/csv\r\n\r\n'
            )
            body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
            form = f"multipart/form-data; boundary={boundary}"
            return client.request("POST", f"{roster}imports", body, form)[0]

        call(self.tally, "roster upload", send)

    def tasks(self, _n: int) -> None:
        """A task due today every --reminder-every seconds: a reminder point due at once."""
        client = self.browser()
        page = f"/incidents/{self.s.mail_incident}/tasks"

        def step() -> None:
            today = datetime.now(ZoneInfo("America/New_York")).date().isoformat()
            fields = {
                "title": f"{TASK_TITLE} {self.tally.tasks + 1}",
                "assignee_id": "",  # the lead and, failing one, every privacy officer
                "due_on": today,
                "status": "open",
                "notes": "",
            }
            status = call(self.tally, "add task", lambda: client.post_form(page, page, fields))
            with self.tally.lock:
                if status == 302:
                    self.tally.tasks += 1
                elif len(self.tally.first_errors) < 5:
                    self.tally.first_errors.append(f"add task -> {status}")

        paced(self.stop, self.args.reminder_every, step)
