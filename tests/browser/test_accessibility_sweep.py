"""Every HTML page, in Chromium, through axe-core: no WCAG violation anywhere.

The pages come from `app.url_map` (a new page is swept without anyone listing it), filled with
the security suites' world (tests/security/world.py: one of every object), and seen by the
personas that see the most: the privacy officer (every incident page), the admin (settings,
users, audit) and anyone signed out (sign-in pages). Chromium loads them from a made-up origin
that Playwright routes to the app's test client, so the world's rolled-back transaction is what
the pages read, with the real CSS, scripts and images. SQLite only: the markup does not depend
on the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page
from playwright.sync_api import Route
from werkzeug.routing import Rule

from tests.security.test_access_matrix import RULES
from tests.security.test_access_matrix import build_url
from tests.security.world import World
from tests.security.world import build_world

ORIGIN = "http://breachdesk.test"
PERSONAS = ("privacy_officer", "admin", "anonymous")
# Not pages: sign-out changes the session; the API answers JSON.
SKIP_ENDPOINTS = {"auth.logout", "static"}


@pytest.fixture(scope="module")
def world(engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if engine.dialect.name != "sqlite":
        pytest.skip("the sweep runs once, on SQLite: the markup does not depend on the database")
    yield from build_world(engine, tmp_path_factory.mktemp("axe"))


def _page_rules() -> list[Rule]:
    return [
        rule
        for rule in RULES
        if "GET" in (rule.methods or set())
        and rule.endpoint not in SKIP_ENDPOINTS
        and not rule.endpoint.startswith("api.")
    ]


def _route_to_app(page: Page, world: World, persona: str) -> None:
    def handle(route: Route) -> None:
        path = route.request.url[len(ORIGIN) :] or "/"
        response = world.request(persona, route.request.method, path)
        headers = {
            key: value
            for key, value in response.headers.items()
            if key.lower() not in ("content-length", "transfer-encoding")
        }
        route.fulfill(status=response.status_code, headers=headers, body=response.get_data())

    page.route(f"{ORIGIN}/**", handle)


def test_every_page_passes_axe(world: World, page: Page, tmp_path: Path) -> None:
    axe_module = pytest.importorskip(
        "axe_playwright_python.sync_playwright",
        reason="axe-playwright-python (requirements-dev.txt) is not installed",
    )
    axe = axe_module.Axe()
    failures: list[str] = []
    swept: set[str] = set()
    for persona in PERSONAS:
        _route_to_app(page, world, persona)
        for rule in _page_rules():
            url = build_url(world, rule, persona)
            probe = world.request(persona, "GET", url)
            if probe.status_code != 200 or probe.mimetype != "text/html":
                continue  # downloads, redirects and pages this persona may not see
            page.goto(ORIGIN + url)
            results = axe.run(page)
            swept.add(rule.endpoint)
            if results.violations_count:
                failures.append(f"{persona} {url} ({rule.endpoint}):\n{results.generate_report()}")
        page.unroute(f"{ORIGIN}/**")

    (tmp_path / "axe-sweep.txt").write_text("\n\n".join(failures))  # not a shared /tmp name
    assert len(swept) >= 55, f"only {len(swept)} pages were swept: {sorted(swept)}"
    assert not failures, f"{len(failures)} page(s) fail axe:\n\n" + "\n\n".join(failures)
