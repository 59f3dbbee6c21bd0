"""Browser tests: a real server on a free loopback port, driven by Debian's Chromium.

Playwright's own browser download is never used (`playwright install` cannot run here):
the launch points at /usr/bin/chromium. Without it these tests are skipped with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from werkzeug.serving import make_server

from config import TestConfig
from incident_app import create_app
from incident_app.cli.database import alembic_config

CHROMIUM = Path("/usr/bin/chromium")

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests skipped: /usr/bin/chromium not found (apt-get install chromium)",
        allow_module_level=True,
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_app(tmp_path: Path) -> Flask:
    """An app on a migrated SQLite file (the real schema path, not create_all)."""
    url = f"sqlite:///{tmp_path / 'browser.sqlite'}"
    command.upgrade(alembic_config(url), "head")
    config = type(
        "BrowserConfig",
        (TestConfig,),
        {
            "DATABASE_URL": url,
            "INSTANCE_DIR": tmp_path / "instance",
            "FILE_STORE_DIR": tmp_path / "files",
            "WTF_CSRF_ENABLED": True,
        },
    )
    return create_app(config)


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(live_app).start()
    yield server
    server.stop()
