"""Template versions: a SHA-256 over everything a template's layout depends on.

A letter version records the template version it was rendered with; any change to the
template, what it extends/includes/imports, its stylesheets or their fonts gives a new version
and voids an approval.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import jinja2.meta

from incident_app.letters.templates import TEMPLATE_DIR
from incident_app.letters.templates import env

_STYLESHEET_LINK = re.compile(r"""href=["']([^"']+\.css)["']""")
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


def template_version(template_name: str) -> str:
    """SHA-256 over the template, every template it extends, includes or imports, the
    stylesheets they link and the fonts those load: any change gives a new version."""
    digest = hashlib.sha256()
    for path in sorted(_template_files(template_name)):
        digest.update(path.relative_to(TEMPLATE_DIR).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _template_files(template_name: str) -> set[Path]:
    files: set[Path] = set()
    pending = [template_name]
    while pending:
        name = pending.pop()
        path = _inside_templates(name)
        if path in files:
            continue
        files.add(path)
        source = path.read_text(encoding="utf-8")
        references = jinja2.meta.find_referenced_templates(env.parse(source))
        for reference in references:
            if reference is None:
                raise ValueError(f"{name} includes a template chosen at run time")
            pending.append(reference)
        for stylesheet in _STYLESHEET_LINK.findall(source):
            files |= _stylesheet_files(stylesheet)
    return files


def _stylesheet_files(name: str) -> set[Path]:
    path = _inside_templates(name)
    css = path.read_text(encoding="utf-8")
    return {path} | {
        _inside_templates(url) for url in _CSS_URL.findall(css) if not url.startswith("data:")
    }


def _inside_templates(name: str) -> Path:
    path = (TEMPLATE_DIR / name).resolve(strict=True)
    if not path.is_relative_to(TEMPLATE_DIR):
        raise ValueError(f"{name} is outside letter_templates/")
    return path
