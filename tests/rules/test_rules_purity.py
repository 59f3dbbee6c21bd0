"""The rules package imports only the standard library and never reads the clock."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import incident_app.rules

RULES_DIR = Path(incident_app.rules.__file__).parent
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic", "perf_counter"}


def imported_modules(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


def is_allowed(module: str, level: int) -> bool:
    if level >= 2:  # "from .. import x" would escape the package
        return False
    if level == 1 or module == "incident_app.rules" or module.startswith("incident_app.rules."):
        return True
    return module.partition(".")[0] in sys.stdlib_module_names


def test_rules_package_imports_only_the_standard_library_and_itself():
    offenders = [
        (path.name, module)
        for path in sorted(RULES_DIR.glob("*.py"))
        for module, level in imported_modules(path)
        if not is_allowed(module, level)
    ]

    assert offenders == []


def test_the_import_check_would_catch_offenders():
    assert not is_allowed("holidays", 0)
    assert not is_allowed("flask", 0)
    assert not is_allowed("incident_app.models", 0)
    assert not is_allowed("models", 2)
    assert is_allowed("datetime", 0)


def test_rules_package_never_reads_the_clock():
    calls = [
        (path.name, node.func.attr)
        for path in sorted(RULES_DIR.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_CALLS
    ]

    assert calls == []


def test_state_table_ships_beside_the_code():
    assert sorted((RULES_DIR / "states").glob("*.toml"))
