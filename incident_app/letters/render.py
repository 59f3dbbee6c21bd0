"""Render letter templates to PDF. The only module that imports WeasyPrint.

Jinja2 with autoescape and StrictUndefined (templates.py; a legal letter never prints a blank),
WeasyPrint with a fetcher that reads only files under letter_templates/ and data: URIs, shipped
fonts only (glyphs.py), one FontConfiguration per process. The context each template needs is
described by the TypedDicts in contexts.py; batch.py is the mail-merge path.

With a TemplateSnapshot (snapshot.py; a mail merge's approved template version) the templates
come from the snapshot's Jinja environment and the fetcher serves the snapshot's files, never
the disk's, under the same URLs: an edit to letter_templates/ does not reach the letter.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import threading
import urllib.request
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

import jinja2
from weasyprint import CSS
from weasyprint import HTML
from weasyprint.text import ffi as weasy_ffi
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError
from weasyprint.urls import URLFetcher
from weasyprint.urls import URLFetcherResponse

from incident_app.errors import DomainError
from incident_app.errors import ValidationFailed
from incident_app.letters import budget
from incident_app.letters.glyphs import printable_context
from incident_app.letters.snapshot import TemplateSnapshot
from incident_app.letters.snapshot import environment as snapshot_environment
from incident_app.letters.templates import TEMPLATE_DIR
from incident_app.letters.templates import env
from incident_app.letters.validation import validate_context

log = logging.getLogger(__name__)

# PDF/A-3a: archival AND tagged (structure tree, /Lang from <html lang>, reading order), so
# screen readers read the letters people download; pdf/a-3b was untagged.
ARCHIVAL_VARIANT = "pdf/a-3a"
# One letter lays out in well under a second; past this it is stopped (gunicorn kills a worker
# after 30 s). Module-level so a process (or a test) can set it once.
RENDER_BUDGET_SECONDS = 20.0


# A tabletop exercise's documents (issue 23): the context says so under this key and every page
# gets this header. It is a stylesheet of its own, added after the template's and !important,
# so no template and no wording can leave it out; the mail merge's overlay pages carry only the
# recipient boxes and are stamped onto a base page that has it.
EXERCISE_KEY = "exercise"
EXERCISE_TEXT = "EXERCISE \u2014 tabletop drill, not a real breach notice \u2014 EXERCISE"
EXERCISE_CSS = (
    '@font-face { font-family: "BD Exercise"; font-weight: 700; '
    "src: url(fonts/NotoSans-Bold.ttf); }\n"
    "@page { @top-center { "
    f'content: "{EXERCISE_TEXT}" !important; '
    'width: 100% !important; font-family: "BD Exercise" !important; font-weight: 700; '
    "font-size: 11pt !important; color: #9a3412 !important; letter-spacing: 0.08em; "
    "text-align: center !important; vertical-align: middle !important; "
    "border-bottom: 2pt solid #9a3412 !important; "
    "visibility: visible !important; display: block !important; } }\n"
)


def exercise_mark(exercise: bool) -> dict[str, bool]:
    """What a service adds to the context of an exercise's document ({} for a real one, so a
    real letter's context, and so its fingerprint, is unchanged)."""
    return {EXERCISE_KEY: True} if exercise else {}


def is_exercise(context: Mapping[str, Any]) -> bool:
    """Whether the context is a tabletop exercise's (its documents say EXERCISE on every page)."""
    return context.get(EXERCISE_KEY) is True


# ---- errors ---------------------------------------------------------------------------------


class MissingLetterField(ValidationFailed):
    """The context lacks a value the template prints (StrictUndefined)."""


class LetterRenderError(DomainError):
    """WeasyPrint refused or failed; the message names what it tried to fetch."""

    status_code = 500


class LetterRenderTimeout(LetterRenderError):
    """One render ran past RENDER_BUDGET_SECONDS and was stopped; nothing was stored."""

    status_code = 422


class URLRefused(ValueError):
    """Raised by the fetcher for any URL outside letter_templates/ and data:."""


# ---- the fetcher ----------------------------------------------------------------------------


class TemplateFilesOnly(URLFetcher):  # WeasyPrint ships no types: URLFetcher is Any
    """Serve files under `root` (after resolving symlinks and `..`) and data: URIs; refuse all
    else. `fail_on_errors` turns a refusal into FatalURLFetchingError, so a letter never goes
    out silently missing a resource, and nothing ever reaches the network.

    With a `snapshot`, a file URL under `root` is served from the snapshot's bytes (nothing
    is read from disk) and refused when the snapshot holds no such file."""

    def __init__(self, root: Path = TEMPLATE_DIR, snapshot: TemplateSnapshot | None = None) -> None:
        super().__init__(
            timeout=1,
            allowed_protocols=("file", "data"),
            allow_redirects=False,
            fail_on_errors=True,
        )
        self.root = root.resolve()
        self.snapshot = snapshot
        # URLs name files under the root as written (base_url), or resolved.
        self.roots = (self.root, Path(os.path.abspath(root)))

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return _data_response(url)
        if scheme == "file":
            return self._file_response(url)
        raise URLRefused(f"refused to fetch {url[:200]!r}: only letter template files are allowed")

    def _file_response(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise URLRefused(f"refused to fetch {url[:200]!r}: remote file host")
        if self.snapshot is not None:
            return self._snapshot_response(url, self.snapshot)
        try:
            path = Path(urllib.request.url2pathname(unquote(parts.path))).resolve(strict=True)
        except (OSError, RuntimeError) as error:
            raise URLRefused(f"refused to fetch {url[:200]!r}: {error}") from error
        if not path.is_relative_to(self.root) or not path.is_file():
            raise URLRefused(f"refused to fetch {url[:200]!r}: outside letter_templates/")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})

    def _snapshot_response(self, url: str, snapshot: TemplateSnapshot) -> URLFetcherResponse:
        # Only names a file of the snapshot: `..` is folded lexically, no symlink is followed
        # because nothing on disk is opened.
        path = Path(os.path.normpath(urllib.request.url2pathname(unquote(urlsplit(url).path))))
        root = next((r for r in self.roots if path.is_relative_to(r)), None)
        if root is None:
            raise URLRefused(f"refused to fetch {url[:200]!r}: outside letter_templates/")
        data = snapshot.read(path.relative_to(root).as_posix())
        if data is None:
            raise URLRefused(
                f"refused to fetch {url[:200]!r}: not a file of the approved template version"
            )
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), data, {"Content-Type": content_type})


def _data_response(url: str) -> URLFetcherResponse:
    with urllib.request.DataHandler().data_open(urllib.request.Request(url)) as response:
        return URLFetcherResponse(url, response.read(), dict(response.headers))


# ---- rendering --------------------------------------------------------------------------------


def render_html(
    template_name: str, context: Mapping[str, Any], *, snapshot: TemplateSnapshot | None = None
) -> str:
    """The letter as HTML (from the snapshot's templates when given, else the disk's). Raises
    MissingLetterField when the context lacks a printed value, ValidationFailed when a
    recipient or logo would break the layout."""
    return render_mode(template_name, context, mode="full", snapshot=snapshot)


def render_mode(
    template_name: str,
    context: Mapping[str, Any],
    *,
    mode: str,
    snapshot: TemplateSnapshot | None = None,
    **extra: Any,
) -> str:
    """The template as HTML in `mode`: "full" (a letter), or the mail merge's "base" (empty
    recipient boxes) and "overlay" (the boxes alone; see batch.py)."""
    validate_context(context)
    data = printable_context({**context, **extra})
    data["mode"] = mode
    templates = env if snapshot is None else snapshot_environment(snapshot)
    try:
        return templates.get_template(template_name).render(data)
    except jinja2.TemplateNotFound as error:
        if snapshot is None:
            raise
        raise LetterRenderError(
            f"{template_name} needs {error.name}, which is not a file of the approved "
            "template version."
        ) from error
    except jinja2.UndefinedError as error:
        raise MissingLetterField(
            f"{template_name} needs a value the letter data does not have: {error.message}"
        ) from error


def font_config(snapshot: TemplateSnapshot | None = None) -> FontConfiguration:
    """One FontConfiguration per process: shipped fonts are registered once (TRAPS.md). A
    snapshot gets one of its own (once per batch and process): WeasyPrint keeps a font by its
    @font-face rule, so a config shared with the disk's files could print the other bytes."""
    if snapshot is None:
        return _process_font_config()
    found = _snapshot_fonts.get(snapshot.version)
    if found is None:
        if len(_snapshot_fonts) >= _SNAPSHOTS_KEPT:
            _snapshot_fonts.clear()
        found = _snapshot_fonts[snapshot.version] = FontConfiguration()
    return found


@cache
def _process_font_config() -> FontConfiguration:
    _warn_without_harfbuzz_subset()
    return FontConfiguration()


_SNAPSHOTS_KEPT = 2
_snapshot_fonts: dict[str, FontConfiguration] = {}
# WeasyPrint caches images by URL; a snapshot's files share the disk's URLs, so each version
# (None: the disk) has a cache of its own.
_image_caches: dict[str | None, dict[str, Any]] = {}


def _image_cache_bounded(snapshot: TemplateSnapshot | None = None) -> dict[str, Any]:
    key = None if snapshot is None else snapshot.version
    if key not in _image_caches and len(_image_caches) > _SNAPSHOTS_KEPT:
        _image_caches.clear()
    images = _image_caches.setdefault(key, {})
    if len(images) > 32:
        images.clear()
    return images


def pdf_from_html(html: str, *, archival: bool = False, exercise: bool = False) -> bytes:
    """Lay out letter HTML with the locked-down fetcher (only letter_templates/ files and data:
    URIs). Raises LetterRenderError naming a refused URL. Prefer render_pdf: this skips the
    template's escaping, so only pass HTML the code itself produced."""
    return write_pdf(html, archival=archival, exercise=exercise)[0]


# Pango's font map inside the shared FontConfiguration is not safe to use from two threads at
# once (a threaded dev server previewing two letters); processes each get their own.
_render_lock = threading.Lock()


def write_pdf(
    html: str,
    *,
    archival: bool = False,
    exercise: bool = False,
    snapshot: TemplateSnapshot | None = None,
) -> tuple[bytes, int]:
    """(PDF bytes, page count) of `html`, laid out with the locked-down fetcher (serving the
    snapshot's files when given); `exercise` heads every page with EXERCISE_TEXT."""
    with _render_lock:
        try:
            return budget.within(
                RENDER_BUDGET_SECONDS,
                lambda: _write_pdf_unlocked(
                    html, archival=archival, exercise=exercise, snapshot=snapshot
                ),
            )
        except budget.BudgetExceeded as error:
            _image_caches.clear()  # a half-filled entry must not serve the next letter
            raise LetterRenderTimeout(
                f"Laying out this letter {error} and was stopped, so the server stays "
                "responsive. Shorten the longest free-text fields (what happened, steps for "
                "individuals, what we are doing) or the logo, then generate it again. Nothing "
                "was stored."
            ) from error


def _write_pdf_unlocked(
    html: str, *, archival: bool, exercise: bool, snapshot: TemplateSnapshot | None
) -> tuple[bytes, int]:
    options: dict[str, Any] = {
        "presentational_hints": False,
        "cache": _image_cache_bounded(snapshot),
    }
    if archival:
        options["pdf_variant"] = ARCHIVAL_VARIANT
    base_url = TEMPLATE_DIR.as_uri() + "/"
    fetcher = TemplateFilesOnly(snapshot=snapshot)
    fonts = font_config(snapshot)
    try:
        stylesheets = [_exercise_stylesheet(base_url, fetcher, fonts)] if exercise else None
        document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
            font_config=fonts, stylesheets=stylesheets, **options
        )
        return document.write_pdf(**options), len(document.pages)
    except FatalURLFetchingError as error:  # a BaseException: name it or nothing catches it
        reason = error.__cause__ or error
        raise LetterRenderError(f"Letter rendering stopped: {reason}") from error


def _exercise_stylesheet(
    base_url: str, fetcher: TemplateFilesOnly, fonts: FontConfiguration
) -> CSS:
    # Every CSS() gets the allow-list fetcher too (TRAPS.md: it falls back to an open one).
    return CSS(string=EXERCISE_CSS, base_url=base_url, url_fetcher=fetcher, font_config=fonts)


def render_pdf(template_name: str, context: Mapping[str, Any], *, archival: bool = False) -> bytes:
    """The letter as PDF bytes (tagged PDF/A-3a when `archival`); an exercise's context
    (EXERCISE_KEY) gives every page the EXERCISE header."""
    html = render_html(template_name, context)
    return pdf_from_html(html, archival=archival, exercise=is_exercise(context))


def harfbuzz_subset_available() -> bool:
    """Whether Debian's libharfbuzz-subset0 is loaded (fontTools fallback is 2x slower)."""
    return weasy_ffi.harfbuzz_subset is not None


@cache
def _warn_without_harfbuzz_subset() -> None:
    if not harfbuzz_subset_available():
        log.warning(
            "libharfbuzz-subset0 is missing: WeasyPrint subsets fonts with fontTools, "
            "about 2x slower per letter. Install it (apt-get install libharfbuzz-subset0)."
        )
