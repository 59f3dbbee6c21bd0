"""Template versions: a SHA-256 over everything a template's layout depends on.

A letter version records the template version it was rendered with; any change to the
template, what it extends/includes/imports, its stylesheets or their fonts gives a new version
and voids an approval. `template_files` gives those files' exact bytes: a mail merge stores
them as the batch's template snapshot (snapshot.py) and renders from them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

import jinja2.meta

from incident_app.letters.templates import TEMPLATE_DIR
from incident_app.letters.templates import env

_STYLESHEET_LINK = re.compile(r"""href=["']([^"']+\.css)["']""")
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


def template_version(template_name: str) -> str:
    """SHA-256 over the template, every template it extends, includes or imports, the
    stylesheets they link and the fonts those load: any change gives a new version."""
    return files_version(template_files(template_name))


def template_files(template_name: str) -> dict[str, bytes]:
    """{path under letter_templates/ (posix): exact bytes} of every file the template's
    version covers, each read once (so the bytes and the version agree). Raises ValueError
    for a file outside letter_templates/ or a template chosen at run time."""
    return {
        path.relative_to(TEMPLATE_DIR).as_posix(): data
        for path, data in _template_files(template_name).items()
    }


def files_version(files: Mapping[str, bytes]) -> str:
    """The template version of these files ({relative posix path: bytes})."""
    return digests_version({name: hashlib.sha256(data).hexdigest() for name, data in files.items()})


def digests_version(digests: Mapping[str, str]) -> str:
    """The template version from each file's SHA-256 ({relative posix path: hex digest}): a
    snapshot's manifest gives its version without reading a file."""
    digest = hashlib.sha256()
    # Ordered as the paths themselves compare (part by part), as versions always were.
    for name in sorted(digests, key=lambda name: name.split("/")):
        digest.update(name.encode() + b"\0")
        digest.update(bytes.fromhex(digests[name]))
    return digest.hexdigest()


def _template_files(template_name: str) -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    pending = [template_name]
    while pending:
        name = pending.pop()
        path = _inside_templates(name)
        if path in files:
            continue
        data = files[path] = path.read_bytes()
        source = data.decode("utf-8")
        references = jinja2.meta.find_referenced_templates(env.parse(source))
        for reference in references:
            if reference is None:
                raise ValueError(f"{name} includes a template chosen at run time")
            pending.append(reference)
        for stylesheet in _STYLESHEET_LINK.findall(source):
            _add_stylesheet(files, stylesheet)
    return files


def _add_stylesheet(files: dict[Path, bytes], name: str) -> None:
    path = _inside_templates(name)
    css = files[path] = path.read_bytes()
    for url in _CSS_URL.findall(css.decode("utf-8")):
        if not url.startswith("data:"):
            font = _inside_templates(url)
            files[font] = font.read_bytes()


def _inside_templates(name: str) -> Path:
    path = (TEMPLATE_DIR / name).resolve(strict=True)
    if not path.is_relative_to(TEMPLATE_DIR):
        raise ValueError(f"{name} is outside letter_templates/")
    return path
