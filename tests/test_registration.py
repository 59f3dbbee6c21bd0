"""Registration is explicit: blueprints, command groups, scheduler jobs and model modules are
listed in tables of contents you can grep. These tests fail for a module that was added but not
listed, instead of the app silently missing a page, a command, a job or a table."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import click

from incident_app import models
from incident_app import scheduler
from incident_app import web

APP = Path(__file__).resolve().parents[1] / "incident_app"


def _public_modules(folder: Path) -> list[str]:
    """Modules and packages directly in `folder`, without `_private` ones."""
    names = [path.stem for path in folder.glob("*.py")]
    names += [path.parent.name for path in folder.glob("*/__init__.py")]
    return sorted(name for name in names if not name.startswith("_"))


def test_every_blueprint_package_is_listed() -> None:
    expected = {
        f"incident_app.blueprints.{name}.views" for name in _public_modules(APP / "blueprints")
    }

    assert {module.__name__ for module in web.BLUEPRINTS} == expected


def test_every_cli_module_has_its_command_group_listed() -> None:
    unlisted = []
    for name in _public_modules(APP / "cli"):
        module = importlib.import_module(f"incident_app.cli.{name}")
        commands = [value for value in vars(module).values() if isinstance(value, click.Command)]
        if not any(command in web.COMMAND_GROUPS for command in commands):
            unlisted.append(name)

    assert unlisted == []


def test_command_group_names_are_unique() -> None:
    names = [command.name for command in web.COMMAND_GROUPS]

    assert len(names) == len(set(names))


def test_every_job_module_has_its_job_listed() -> None:
    expected = {f"incident_app.jobs.{name}" for name in _public_modules(APP / "jobs")}

    assert {job.func.__module__ for job in scheduler.JOBS} == expected
    assert len({job.id for job in scheduler.JOBS}) == len(scheduler.JOBS)


def test_every_model_module_is_imported_by_the_models_package() -> None:
    expected = {f"incident_app.models.{name}" for name in _public_modules(APP / "models")}

    assert {module.__name__ for module in models.AGGREGATES} == expected


def _scans_imports(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "pkgutil" for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] == "pkgutil"
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in {"import_module", "__import__", "iter_modules", "walk_packages"}
    return False


def test_nothing_is_found_by_scanning_imports() -> None:
    offenders = [
        (str(path.relative_to(APP)), node.lineno)
        for path in sorted(APP.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if _scans_imports(node)
    ]

    assert offenders == []
