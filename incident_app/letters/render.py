"""Render letter templates to PDF. The only module that imports WeasyPrint.

Jinja2 with autoescape and StrictUndefined (templates.py; a legal letter never prints a blank),
WeasyPrint with a fetcher that reads only files under letter_templates/ and data: URIs, shipped
fonts only (glyphs.py), one FontConfiguration per process. The context each template needs is
described by the TypedDicts in contexts.py; batch.py is the mail-merge path.
"""

from __future__ import annotations

import logging
import mimetypes
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
    out silently missing a resource, and nothing ever reaches the network."""

    def __init__(self, root: Path = TEMPLATE_DIR) -> None:
        super().__init__(
            timeout=1,
            allowed_protocols=("file", "data"),
            allow_redirects=False,
            fail_on_errors=True,
        )
        self.root = root.resolve()

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
        try:
            path = Path(urllib.request.url2pathname(unquote(parts.path))).resolve(strict=True)
        except (OSError, RuntimeError) as error:
            raise URLRefused(f"refused to fetch {url[:200]!r}: {error}") from error
        if not path.is_relative_to(self.root) or not path.is_file():
            raise URLRefused(f"refused to fetch {url[:200]!r}: outside letter_templates/")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})


def _data_response(url: str) -> URLFetcherResponse:
    with urllib.request.DataHandler().data_open(urllib.request.Request(url)) as response:
        return URLFetcherResponse(url, response.read(), dict(response.headers))


# ---- rendering --------------------------------------------------------------------------------


def render_html(template_name: str, context: Mapping[str, Any]) -> str:
    """The letter as HTML. Raises MissingLetterField when the context lacks a printed value,
    ValidationFailed when a recipient or logo would break the layout."""
    return render_mode(template_name, context, mode="full")


def render_mode(template_name: str, context: Mapping[str, Any], *, mode: str, **extra: Any) -> str:
    """The template as HTML in `mode`: "full" (a letter), or the mail merge's "base" (empty
    recipient boxes) and "overlay" (the boxes alone; see batch.py)."""
    validate_context(context)
    data = printable_context({**context, **extra})
    data["mode"] = mode
    try:
        return env.get_template(template_name).render(data)
    except jinja2.UndefinedError as error:
        raise MissingLetterField(
            f"{template_name} needs a value the letter data does not have: {error.message}"
        ) from error


@cache
def font_config() -> FontConfiguration:
    """One FontConfiguration per process: shipped fonts are registered once (TRAPS.md)."""
    _warn_without_harfbuzz_subset()
    return FontConfiguration()


_image_cache: dict[str, Any] = {}


def _image_cache_bounded() -> dict[str, Any]:
    if len(_image_cache) > 32:
        _image_cache.clear()
    return _image_cache


def pdf_from_html(html: str, *, archival: bool = False, exercise: bool = False) -> bytes:
    """Lay out letter HTML with the locked-down fetcher (only letter_templates/ files and data:
    URIs). Raises LetterRenderError naming a refused URL. Prefer render_pdf: this skips the
    template's escaping, so only pass HTML the code itself produced."""
    return write_pdf(html, archival=archival, exercise=exercise)[0]


# Pango's font map inside the shared FontConfiguration is not safe to use from two threads at
# once (a threaded dev server previewing two letters); processes each get their own.
_render_lock = threading.Lock()


def write_pdf(html: str, *, archival: bool = False, exercise: bool = False) -> tuple[bytes, int]:
    """(PDF bytes, page count) of `html`, laid out with the locked-down fetcher; `exercise`
    heads every page with EXERCISE_TEXT."""
    with _render_lock:
        try:
            return budget.within(
                RENDER_BUDGET_SECONDS,
                lambda: _write_pdf_unlocked(html, archival=archival, exercise=exercise),
            )
        except budget.BudgetExceeded as error:
            _image_cache.clear()  # a half-filled entry must not serve the next letter
            raise LetterRenderTimeout(
                f"Laying out this letter {error} and was stopped, so the server stays "
                "responsive. Shorten the longest free-text fields (what happened, steps for "
                "individuals, what we are doing) or the logo, then generate it again. Nothing "
                "was stored."
            ) from error


def _write_pdf_unlocked(html: str, *, archival: bool, exercise: bool) -> tuple[bytes, int]:
    options: dict[str, Any] = {"presentational_hints": False, "cache": _image_cache_bounded()}
    if archival:
        options["pdf_variant"] = ARCHIVAL_VARIANT
    base_url = TEMPLATE_DIR.as_uri() + "/"
    try:
        stylesheets = [_exercise_stylesheet(base_url)] if exercise else None
        document = HTML(string=html, base_url=base_url, url_fetcher=TemplateFilesOnly()).render(
            font_config=font_config(), stylesheets=stylesheets, **options
        )
        return document.write_pdf(**options), len(document.pages)
    except FatalURLFetchingError as error:  # a BaseException: name it or nothing catches it
        reason = error.__cause__ or error
        raise LetterRenderError(f"Letter rendering stopped: {reason}") from error


def _exercise_stylesheet(base_url: str) -> CSS:
    # Every CSS() gets the allow-list fetcher too (TRAPS.md: it falls back to an open one).
    return CSS(
        string=EXERCISE_CSS,
        base_url=base_url,
        url_fetcher=TemplateFilesOnly(),
        font_config=font_config(),
    )


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
