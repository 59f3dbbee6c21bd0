"""The layer rule of ARCHITECTURE.md, enforced by walking imports with `ast`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "incident_app"
RULES = APP / "rules"
CLOCK_READS = {"now", "today", "utcnow"}


def imported_modules(path: Path) -> list[str]:
    """Absolute module names imported by `path`; a relative import of level ≥ 2 is '..'."""
    modules: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level >= 2:
                modules.append("..")
            elif node.level == 1:
                modules.append(f"incident_app.rules.{node.module or ''}")
            else:
                modules.append(node.module or "")
    return modules


def _python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_rules_package_imports_only_the_standard_library() -> None:
    offenders = []
    for path in _python_files(RULES):
        for module in imported_modules(path):
            top = module.split(".")[0]
            allowed = module.startswith("incident_app.rules") or top in sys.stdlib_module_names
            if module == ".." or not allowed:
                offenders.append((path.name, module))
    assert offenders == []


def test_rules_package_never_reads_the_clock() -> None:
    calls = [
        (path.name, node.lineno)
        for path in _python_files(RULES)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_READS
    ]
    assert calls == []


def test_blueprints_never_commit() -> None:
    commits = [
        (str(path.relative_to(APP)), node.lineno)
        for path in _python_files(APP / "blueprints")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]
    assert commits == []


def test_only_letters_render_module_imports_weasyprint() -> None:
    importers = [
        path.relative_to(ROOT).as_posix()
        for path in _python_files(APP)
        if any(m.split(".")[0] == "weasyprint" for m in imported_modules(path))
    ]
    assert importers == ["incident_app/letters/render.py"]


def test_services_and_models_do_not_touch_request_globals() -> None:
    forbidden = {"flask", "flask_login", "flask_wtf"}
    offenders = [
        (str(path.relative_to(APP)), module)
        for folder in ("services", "models")
        for path in _python_files(APP / folder)
        for module in imported_modules(path)
        if module.split(".")[0] in forbidden
    ]
    assert offenders == []


def test_the_layer_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import flask\nfrom .. import models\nfrom sqlalchemy import select\n")
    assert imported_modules(bad) == ["flask", "..", "sqlalchemy"]
