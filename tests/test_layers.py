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


# What services, models and rules must never reach, directly or through another module of the
# app: Flask's request/app globals and the module that builds the app's file store and key ring.
APP_BOUND = ("flask", "flask_login", "flask_wtf", "incident_app.app_store")
PURE_LAYERS = ("services", "models", "rules")

# db.py holds both the declarative Base (for models) and the app-bound session (`get_session`,
# `init_app`, which read flask.g / current_app). Importing these names from it does not reach
# Flask; any other import of incident_app.db is followed into db.py, where Flask is.
DB_SHARED_NAMES = frozenset(
    {
        "Base",
        "NAMING_CONVENTION",
        "UTCDateTime",
        "is_postgresql",
        "make_engine",
        "str_enum",
        "writing",
    }
)

MOVED_TO_APP_STORE = {
    "current_keyring",
    "current_store",
    "put_bytes",
    "put_stream",
    "open_verified",
    "read_verified",
    "exists",
    "delete",
}


def module_index(root: Path, package: str) -> dict[str, Path]:
    """Every module of `package` (whose folder is `root`) by dotted name."""
    index = {}
    for path in _python_files(root):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        index[".".join(parts)] = path
    return index


def import_edges(name: str, index: dict[str, Path]) -> list[str]:
    """What importing module `name` imports: modules of the app (with the packages they run on
    the way, except the root package: its __init__ is the factory) and outside top-level names.
    Function-level imports count: they run too."""
    path = index[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    root = name.split(".")[0]
    targets: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                if f"{base}.{alias.name}" in index:
                    targets.append(f"{base}.{alias.name}")
                elif not (base == f"{root}.db" and alias.name in DB_SHARED_NAMES):
                    targets.append(base)
    edges: list[str] = []
    for target in targets:
        if target.split(".")[0] != root:
            edges.append(target.split(".")[0])
            continue
        parts = target.split(".")
        prefixes = (".".join(parts[:n]) for n in range(2, len(parts) + 1))
        edges.extend(prefix for prefix in prefixes if prefix in index)
    return list(dict.fromkeys(edges))


def import_graph(index: dict[str, Path]) -> dict[str, list[str]]:
    return {name: import_edges(name, index) for name in index}


def paths_to(start: str, forbidden: tuple[str, ...], graph: dict[str, list[str]]) -> list[str]:
    """Each import chain from `start` to a forbidden module (one per forbidden module reached)."""
    came_from: dict[str, str | None] = {start: None}
    queue = [start]
    chains = []
    while queue:
        current = queue.pop(0)
        if current in forbidden:
            chain = [current]
            while (previous := came_from[chain[-1]]) is not None:
                chain.append(previous)
            chains.append(" -> ".join(reversed(chain)))
            continue
        for edge in graph.get(current, ()):  # a module outside the app has no edges
            if edge not in came_from:
                came_from[edge] = current
                queue.append(edge)
    return chains


def test_services_models_and_rules_cannot_reach_flask_even_indirectly() -> None:
    graph = import_graph(module_index(APP, "incident_app"))
    offenders = [
        chain
        for name in sorted(graph)
        if name.split(".")[1:2] and name.split(".")[1] in PURE_LAYERS
        for chain in paths_to(name, APP_BOUND, graph)
    ]
    assert offenders == []


def test_the_app_store_helpers_are_not_reached_through_storage() -> None:
    uses = [
        (str(path.relative_to(APP)), node.lineno)
        for path in _python_files(APP)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "storage"
        and node.attr in MOVED_TO_APP_STORE
    ]
    assert uses == []


def test_the_transitive_checker_follows_a_helper_module(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "services").mkdir(parents=True)
    (pkg / "__init__.py").write_text("import flask\n")  # the factory: not followed
    (pkg / "services" / "__init__.py").write_text("")
    (pkg / "services" / "clean.py").write_text("from pkg.db import Base\nimport json\n")
    (pkg / "services" / "sneaky.py").write_text("from . import clean\nfrom pkg import helper\n")
    (pkg / "helper.py").write_text("def f():\n    from flask import current_app\n")
    (pkg / "db.py").write_text("from flask import g\n")
    graph = import_graph(module_index(pkg, "pkg"))

    assert paths_to("pkg.services.clean", APP_BOUND, graph) == []
    assert paths_to("pkg.services.sneaky", APP_BOUND, graph) == [
        "pkg.services.sneaky -> pkg.helper -> flask"
    ]


def test_the_layer_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import flask\nfrom .. import models\nfrom sqlalchemy import select\n")
    assert imported_modules(bad) == ["flask", "..", "sqlalchemy"]
