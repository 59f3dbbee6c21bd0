"""The security suites' shared world (module-scoped) and their one-line summaries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.security.world import TALLY
from tests.security.world import World
from tests.security.world import build_world


@pytest.fixture(scope="module")
def world(engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(engine, tmp_path_factory.mktemp("security"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in TALLY.lines():
        terminalreporter.write_line(line)
