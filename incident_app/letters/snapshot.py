"""A template snapshot: the exact files of one approved template version, held in memory.

A mail merge renders every letter of a batch from the template version legal approved, even
when someone edits letter_templates/ while it runs (issue 20). The batch keeps the files
`versions.template_files` names (the template, what it extends/includes/imports, its
stylesheets and their fonts) in the file store; a worker loads them into a TemplateSnapshot,
whose Jinja environment serves its templates and whose files the URL fetcher serves
(render.py). Nothing of the snapshot is read from disk, and nothing outside it is served.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

import jinja2

from incident_app.letters.templates import make_environment
from incident_app.letters.versions import files_version

_ENVIRONMENTS_KEPT = 4


class SnapshotError(ValueError):
    """The snapshot's files are not a usable template set (the message says which)."""


@dataclass(frozen=True)
class TemplateSnapshot:
    """{path under letter_templates/ (posix): bytes} and the template version they hash to
    (computed here, so the two always agree). Raises SnapshotError for a path that is
    absolute or leaves letter_templates/."""

    files: Mapping[str, bytes]
    version: str = field(init=False)

    def __post_init__(self) -> None:
        for name in self.files:
            if not name or name.startswith("/") or posixpath.normpath(name) != name:
                raise SnapshotError(f"{name!r} is not a path inside letter_templates/")
            if name.split("/")[0] == "..":
                raise SnapshotError(f"{name!r} is outside letter_templates/")
        object.__setattr__(self, "files", dict(self.files))
        object.__setattr__(self, "version", files_version(self.files))

    def read(self, name: str) -> bytes | None:
        """The bytes of a file of the snapshot, or None when it holds no such file."""
        return self.files.get(name)


_environments: dict[str, jinja2.Environment] = {}


def environment(snapshot: TemplateSnapshot) -> jinja2.Environment:
    """The Jinja environment of the snapshot (one per version and process: templates are
    compiled once per batch, not per letter). Same settings as templates.env."""
    found = _environments.get(snapshot.version)
    if found is None:
        if len(_environments) >= _ENVIRONMENTS_KEPT:
            _environments.clear()
        found = _environments[snapshot.version] = make_environment(
            jinja2.FunctionLoader(lambda name: _source(snapshot, name))
        )
    return found


def _source(snapshot: TemplateSnapshot, name: str) -> str | None:
    data = snapshot.read(name)
    # None: Jinja reports TemplateNotFound, naming the template the snapshot lacks.
    return None if data is None else data.decode("utf-8")
