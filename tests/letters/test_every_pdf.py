"""Every PDF the app serves opens cleanly in the tools a reader's office uses.

The PDFs come from `app.url_map`: every GET route of the security suites' world
(tests/security/world.py: one of every object) that answers application/pdf to the privacy
officer — letters, proofs, the HHS packet and log, the risk assessment, the review. Each must pass
`qpdf --check`, have a title, a page count pdfinfo reads, and embed every font (pdffonts), so it
prints the same on any machine. A new PDF route is checked without anyone listing it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.security.test_access_matrix import RULES
from tests.security.test_access_matrix import build_url
from tests.security.world import World
from tests.security.world import build_world

PERSONA = "privacy_officer"
# Served as the user uploaded them (evidence, the BAA on file): not ours to check.
UPLOADED = {"clients.baa"}
TOOLS = ("qpdf", "pdfinfo", "pdffonts")


@pytest.fixture(scope="module")
def world(engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not found (apt-get install qpdf poppler-utils)")
    if engine.dialect.name != "sqlite":
        pytest.skip("checked once, on SQLite: the PDFs do not depend on the database")
    yield from build_world(engine, tmp_path_factory.mktemp("pdfs"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def _problems(path: Path) -> list[str]:
    problems = []
    check = _run("qpdf", "--check", str(path))
    if check.returncode != 0:  # 0 = clean; 3 = warnings; 2 = errors
        problems.append(f"qpdf --check exit {check.returncode}: {check.stdout[-400:]}")
    info = _run("pdfinfo", str(path))
    fields = dict(line.split(":", 1) for line in info.stdout.splitlines() if ":" in line)
    if info.returncode != 0 or int(fields.get("Pages", "0").strip() or 0) < 1:
        problems.append(f"pdfinfo cannot read it: {info.stderr[-200:]}")
    if not fields.get("Title", "").strip():
        problems.append("no document title (screen readers and file lists show it)")
    fonts = _run("pdffonts", str(path)).stdout.splitlines()[2:]
    # pdffonts columns: name type encoding emb sub uni object ID; "emb" is the 4th from the end.
    unembedded = [line.split()[0] for line in fonts if line.split()[-5] != "yes"]
    if unembedded:
        problems.append(f"fonts not embedded: {unembedded}")
    return problems


def test_every_pdf_route_serves_a_clean_pdf(world: World, tmp_path: Path) -> None:
    checked: list[str] = []
    failures: list[str] = []
    for rule in RULES:
        if "GET" not in (rule.methods or set()) or rule.endpoint.startswith("api."):
            continue
        if rule.endpoint in UPLOADED:
            continue
        url = build_url(world, rule, PERSONA)
        response = world.request(PERSONA, "GET", url)
        if response.status_code != 200 or response.mimetype != "application/pdf":
            continue
        path = tmp_path / f"{rule.endpoint}.pdf"
        path.write_bytes(response.get_data())
        checked.append(rule.endpoint)
        failures += [f"{url} ({rule.endpoint}): {problem}" for problem in _problems(path)]

    assert len(checked) >= 5, f"only {checked} served a PDF: the world lost its documents"
    assert not failures, "\n".join(failures)
