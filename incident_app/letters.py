"""Render letter templates to PDF. The only module that imports WeasyPrint.

Jinja2 with autoescape and StrictUndefined (a legal letter never prints a blank), WeasyPrint
with a fetcher that reads only files under letter_templates/ and data: URIs, shipped fonts
only, one FontConfiguration per process. The context each template needs is described by the
TypedDicts below; `render_batch` is the mail-merge path (see its docstring).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import mimetypes
import re
import threading
import unicodedata
import urllib.request
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from typing import NotRequired
from typing import TypedDict
from urllib.parse import unquote
from urllib.parse import urlsplit

import jinja2
import jinja2.meta
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import ArrayObject
from pypdf.generic import DictionaryObject
from pypdf.generic import IndirectObject
from pypdf.generic import NameObject
from pypdf.generic import PdfObject
from pypdf.generic import StreamObject
from weasyprint import HTML
from weasyprint.text import ffi as weasy_ffi
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError
from weasyprint.urls import URLFetcher
from weasyprint.urls import URLFetcherResponse

from incident_app.errors import DomainError
from incident_app.errors import ValidationFailed

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "letter_templates"
FONT_DIR = TEMPLATE_DIR / "fonts"
ARCHIVAL_VARIANT = "pdf/a-3b"
REPLACEMENT_CHARACTER = "\ufffd"

# Window-envelope limits: what fits the 3.75in x 1in address window (see letters.css).
MAX_NAME_LENGTH = 120
MAX_ADDRESS_LINES = 3
MAX_ADDRESS_LINE_LENGTH = 60
LETTER_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{0,39}")
LOGO_DATA_URI = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+")

# The templates a mail merge may use: their body does not depend on the recipient.
MERGE_TEMPLATES = frozenset(
    {
        "individual_adult.html",
        "individual_minor.html",
        "individual_deceased.html",
        "individual_es.html",
    }
)


# ---- context schemas ------------------------------------------------------------------------


class OrganisationContext(TypedDict):
    """Letterhead and signature, from the organisation settings."""

    name: str
    address_lines: list[str]  # e.g. ["100 Main Street", "Springfield, IL 62701"]
    toll_free_number: str
    email: str
    website: str
    logo_data_uri: str | None  # logo_data_uri(bytes, mime) or None
    signatory_name: str
    signatory_title: str


class RecipientContext(TypedDict):
    """Who a mailed letter goes to. Only `name` and `address_lines` appear in the window."""

    letter_id: str  # [A-Z0-9-], 1-40 characters; printed in the footer of every page
    name: str  # adult: the person; minor: the child; deceased: next of kin / representative
    address_lines: list[str]  # at most 3 lines of at most 60 characters
    subject_name: NotRequired[str]  # deceased letters: the person who died


class BreachContext(TypedDict):
    """The 164.404(c)(1) facts, written for the reader (types of PHI, never PHI values)."""

    what_happened: str  # (A) plain-language narrative
    breach_start: date | None  # (A) None when unknown
    breach_end: date | None  # None or equal to breach_start for a single day
    discovered_on: date  # (A)
    phi_types: list[str]  # (B) e.g. ["Full name", "Date of birth", "Diagnosis"]
    steps_for_individuals: list[str]  # (C)
    what_we_are_doing: list[str]  # (D) investigate, mitigate, protect
    # (E) comes from OrganisationContext: toll-free number, email, website, postal address


class IndividualNoticeContext(TypedDict):
    """individual_adult.html, individual_minor.html, individual_deceased.html,
    individual_es.html (Spanish texts in `breach`)."""

    organisation: OrganisationContext
    letter_date: date
    breach: BreachContext
    recipient: RecipientContext


class SubstituteNoticeContext(TypedDict):
    """substitute_web.html (home-page posting) and substitute_media.html, 164.404(d)(2)(ii)."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    breach: BreachContext
    posting_start: date
    posting_end: date  # at least posting_start + 90 days
    toll_free_active_until: date  # at least 90 days of service
    areas: list[str]  # substitute_media: where the affected individuals likely live


class MediaNoticeContext(TypedDict):
    """media_release.html — press release for one state over 500 residents, 164.406."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    breach: BreachContext
    state_name: str
    residents_affected: int
    total_affected: int
    media_contact: str  # "Name, phone, email" of the press contact


class BusinessAssociateFields(TypedDict):
    name: str
    street_1: str
    street_2: str
    city: str
    state: str
    zip: str
    contact_name: str
    contact_email: str
    contact_phone: str


class HhsReport(TypedDict):
    """The answers of the OCR breach portal (REGULATORY.md §2.1); option values as the portal
    spells them."""

    report_type: str  # "Initial Breach Report" | "Addendum to Previous Report"
    previous_tracking_number: str | None
    filer_role: str
    covered_entity_name: str
    street_1: str
    street_2: str
    city: str
    state: str
    zip: str
    contact_first_name: str
    contact_last_name: str
    contact_email: str
    contact_phone: str
    covered_entity_type: str  # "Health Plan" | "Healthcare Clearinghouse" | "Healthcare Provider"
    business_associate: BusinessAssociateFields | None
    breach_start: date
    breach_end: date
    discovery_start: date
    discovery_end: date
    individuals_affected: int
    breach_types: list[str]
    locations: list[str]
    phi_types: list[str]
    description: str
    safeguards: list[str]
    individual_notice_start: date | None
    individual_notice_end: date | None
    substitute_notice_required: bool
    media_notice_required: bool
    actions_taken: list[str]
    other_actions: str


class HhsPacketContext(TypedDict):
    """hhs_packet.html; hhs_packet_json(report) gives the same answers as JSON."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    report: HhsReport


class BusinessAssociateNoticeContext(TypedDict):
    """ba_to_ce.html — business associate to covered entity, 164.410(c)."""

    organisation: OrganisationContext  # the business associate writing
    letter_date: date
    recipient: RecipientContext  # the covered entity's privacy officer
    covered_entity_name: str
    breach: BreachContext
    ba_discovered_on: date
    individuals: list[AffectedIndividual]  # 164.410(c)(1): identification of each individual
    individuals_total: int
    more_information_expected: bool  # 164.410(c)(2): more facts will follow


class AffectedIndividual(TypedDict):
    name: str
    identifier: str  # the covered entity's own record number, as the BA knows it


class StateAgNoticeContext(TypedDict):
    """state_ag.html — generic attorney-general notice; state specifics come from the overlay."""

    organisation: OrganisationContext
    letter_date: date
    recipient: RecipientContext  # the AG office
    breach: BreachContext
    state_name: str
    statute: str  # e.g. "N.Y. Gen. Bus. Law § 899-aa"
    residents_affected: int
    total_affected: int
    residents_notified_on: date | None
    state_requirements: list[str]  # sentences from the state overlay data
    enclosures: list[str]


class RiskAssessmentContext(TypedDict):
    """risk_assessment.html — documentation kept under 164.414(b) / 164.530(j)."""

    organisation: OrganisationContext
    document_id: str
    letter_date: date
    incident_reference: str
    incident_title: str
    breach: BreachContext
    secured_status: str  # what protected the PHI (encryption, destruction) or "Unsecured"
    exception_claimed: str | None  # which 164.402(1) exception, or None
    factors: list[RiskFactor]  # the four 164.402(2) factors, in order
    conclusion: str
    low_probability_of_compromise: bool
    assessed_by: str
    approved_by: str | None
    approved_on: date | None
    retention_until: date


class RiskFactor(TypedDict):
    title: str  # e.g. "(i) Nature and extent of the PHI involved"
    finding: str
    rationale: str


# ---- errors ---------------------------------------------------------------------------------


class MissingLetterField(ValidationFailed):
    """The context lacks a value the template prints (StrictUndefined)."""


class LetterRenderError(DomainError):
    """WeasyPrint refused or failed; the message names what it tried to fetch."""

    status_code = 500


class URLRefused(ValueError):
    """Raised by the fetcher for any URL outside letter_templates/ and data:."""


# ---- the fetcher ----------------------------------------------------------------------------


class TemplateFilesOnly(URLFetcher):
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


# ---- Jinja ----------------------------------------------------------------------------------

MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTHS_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def long_date(value: date) -> str:
    """March 4, 2025 — spelled out, so no reader confuses day and month."""
    return f"{MONTHS_EN[value.month - 1]} {value.day}, {value.year}"


def fecha_larga(value: date) -> str:
    """4 de marzo de 2025."""
    return f"{value.day} de {MONTHS_ES[value.month - 1]} de {value.year}"


def _portal_date(value: date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else "Not yet"


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _business_associate_rows(ba: BusinessAssociateFields | None) -> list[tuple[str, str]]:
    if ba is None:
        return [("Business Associate involved", "No")]
    return [
        ("Name of Business Associate", ba["name"]),
        ("Street Address Line 1", ba["street_1"]),
        ("Street Address Line 2", ba["street_2"]),
        ("City", ba["city"]),
        ("State", ba["state"]),
        ("ZIP", ba["zip"]),
        ("Contact Name", ba["contact_name"]),
        ("Contact Email", ba["contact_email"]),
        ("Contact Phone Number", ba["contact_phone"]),
    ]


def ocr_sections(report: HhsReport) -> list[tuple[str, list[tuple[str, str]]]]:
    """The portal's sections and labels, in the portal's order, with printable answers."""
    count = report["individuals_affected"]
    return [
        (
            "General",
            [
                (
                    "Breach Affecting",
                    "500 or More Individuals" if count >= 500 else "Fewer Than 500 Individuals",
                ),
                ("Report Type", report["report_type"]),
                ("Breach Tracking Number", report["previous_tracking_number"] or "Not applicable"),
                ("Filer Role", report["filer_role"]),
            ],
        ),
        (
            "Section 1 – Covered Entity",
            [
                ("Name of Covered Entity", report["covered_entity_name"]),
                ("Street Address Line 1", report["street_1"]),
                ("Street Address Line 2", report["street_2"]),
                ("City", report["city"]),
                ("State", report["state"]),
                ("ZIP", report["zip"]),
                ("First Name", report["contact_first_name"]),
                ("Last Name", report["contact_last_name"]),
                ("Email", report["contact_email"]),
                ("Phone Number", report["contact_phone"]),
                ("Type of Covered Entity", report["covered_entity_type"]),
            ],
        ),
        ("Section 2 – Business Associate", _business_associate_rows(report["business_associate"])),
        (
            "Section 3 – Breach",
            [
                ("Breach Start Date", _portal_date(report["breach_start"])),
                ("Breach End Date", _portal_date(report["breach_end"])),
                ("Discovery Start Date", _portal_date(report["discovery_start"])),
                ("Discovery End Date", _portal_date(report["discovery_end"])),
                ("Approximate Number of Individuals Affected by the Breach", f"{count}"),
                ("Type of Breach", ", ".join(report["breach_types"])),
                ("Location of Breached Information", ", ".join(report["locations"])),
                (
                    "Type of Protected Health Information Involved in Breach",
                    ", ".join(report["phi_types"]),
                ),
                ("Brief Description of the Breach", report["description"]),
                ("Safeguards in Place Prior to Breach", ", ".join(report["safeguards"])),
            ],
        ),
        (
            "Section 4 – Notice of Breach and Actions Taken",
            [
                (
                    "Individual Notice Provided Start Date",
                    _portal_date(report["individual_notice_start"]),
                ),
                (
                    "Individual Notice Provided End Date",
                    _portal_date(report["individual_notice_end"]),
                ),
                ("Was Substitute Notice Required?", _yes_no(report["substitute_notice_required"])),
                ("Was Media Notice Required?", _yes_no(report["media_notice_required"])),
                ("Actions Taken in Response to Breach", ", ".join(report["actions_taken"])),
                ("Describe Other Actions Taken", report["other_actions"] or "None"),
            ],
        ),
    ]


def hhs_packet_json(report: HhsReport) -> str:
    """The portal answers as JSON: {section: {label: answer}}, the same text as the packet."""
    return json.dumps(
        {section: dict(rows) for section, rows in ocr_sections(report)},
        ensure_ascii=False,
        indent=2,
    )


def _make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=True,
    )
    env.filters["long_date"] = long_date
    env.filters["fecha_larga"] = fecha_larga
    env.filters["ocr_sections"] = ocr_sections
    return env


_env = _make_environment()


# ---- printable text: shipped fonts only -------------------------------------------------------


@cache
def shipped_codepoints() -> frozenset[int]:
    """Every code point some shipped font has a glyph for."""
    points: set[int] = set()
    for path in sorted(FONT_DIR.glob("*.ttf")):
        points.update(TTFont(path, lazy=True).getBestCmap())
    return frozenset(points)


_KEEP = frozenset("\n\r\t")
# Joiners and variation selectors only make sense next to the character they modify.
_CLUSTER_MARKS = frozenset({0x200D, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)})


def printable(text: str) -> str:
    """`text` with every run of characters the shipped fonts cannot draw (emoji, rare
    symbols, control characters) replaced by one U+FFFD.

    The policy keeps output the same on every machine (no fontconfig fallback to whatever
    fonts a host has) and avoids fontconfig's slow fallback searches (TRAPS.md).
    """
    text = unicodedata.normalize("NFC", text)
    known = shipped_codepoints()
    out: list[str] = []
    for char in text:
        point = ord(char)
        unsupported = point not in known and char not in _KEEP
        if unsupported or (point in _CLUSTER_MARKS and out and out[-1] == REPLACEMENT_CHARACTER):
            if not out or out[-1] != REPLACEMENT_CHARACTER:
                out.append(REPLACEMENT_CHARACTER)
        else:
            out.append(char)
    return "".join(out)


def unprintable_characters(value: object) -> list[str]:
    """The distinct characters in `value` (recursively) that `printable` would replace."""
    known = shipped_codepoints()
    found: dict[str, None] = {}
    for text in _strings(value):
        for char in unicodedata.normalize("NFC", text):
            if ord(char) not in known and char not in _KEEP:
                found[char] = None
    return list(found)


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _printable_context(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, Mapping):
        return {key: _printable_context(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_printable_context(item) for item in value]
    return value


# ---- validation -------------------------------------------------------------------------------


def _validate_recipient(recipient: Mapping[str, Any]) -> None:
    """What must hold for the address block to stay inside the envelope window."""
    letter_id = recipient.get("letter_id", "")
    if not isinstance(letter_id, str) or not LETTER_ID.fullmatch(letter_id):
        raise ValidationFailed(
            f"Letter id {letter_id!r} must be 1-40 capital letters, digits or dashes.",
            field="letter_id",
        )
    name = recipient.get("name", "")
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            f"Recipient name must have 1-{MAX_NAME_LENGTH} characters (got {len(name)}).",
            field="name",
        )
    lines = recipient.get("address_lines", [])
    if not 1 <= len(lines) <= MAX_ADDRESS_LINES or any(
        not line.strip() or len(line) > MAX_ADDRESS_LINE_LENGTH for line in lines
    ):
        raise ValidationFailed(
            f"Recipient address must have 1-{MAX_ADDRESS_LINES} non-empty lines of at most "
            f"{MAX_ADDRESS_LINE_LENGTH} characters.",
            field="address_lines",
        )


def _validate(context: Mapping[str, Any]) -> None:
    organisation = context.get("organisation")
    if isinstance(organisation, Mapping):
        logo = organisation.get("logo_data_uri")
        if logo and not LOGO_DATA_URI.fullmatch(logo):
            raise ValidationFailed(
                "The organisation logo must be a PNG or JPEG data: URI (use logo_data_uri()).",
                field="logo",
            )
    recipient = context.get("recipient")
    if isinstance(recipient, Mapping):
        _validate_recipient(recipient)


def logo_data_uri(data: bytes, mime: str) -> str:
    """The organisation's stored logo as a data: URI the letterhead can show."""
    if mime not in ("image/png", "image/jpeg"):
        raise ValidationFailed("The logo must be a PNG or JPEG image.", field="logo")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# ---- rendering --------------------------------------------------------------------------------


def render_html(template_name: str, context: Mapping[str, Any]) -> str:
    """The letter as HTML. Raises MissingLetterField when the context lacks a printed value,
    ValidationFailed when a recipient or logo would break the layout."""
    return _render(template_name, context, mode="full")


def _render(template_name: str, context: Mapping[str, Any], *, mode: str, **extra: Any) -> str:
    _validate(context)
    data = _printable_context({**context, **extra})
    data["mode"] = mode
    try:
        return _env.get_template(template_name).render(data)
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


def pdf_from_html(html: str, *, archival: bool = False) -> bytes:
    """Lay out letter HTML with the locked-down fetcher (only letter_templates/ files and data:
    URIs). Raises LetterRenderError naming a refused URL. Prefer render_pdf: this skips the
    template's escaping, so only pass HTML the code itself produced."""
    return _write_pdf(html, archival=archival)[0]


# Pango's font map inside the shared FontConfiguration is not safe to use from two threads at
# once (a threaded dev server previewing two letters); processes each get their own.
_render_lock = threading.Lock()


def _write_pdf(html: str, *, archival: bool = False) -> tuple[bytes, int]:
    with _render_lock:
        return _write_pdf_unlocked(html, archival=archival)


def _write_pdf_unlocked(html: str, *, archival: bool) -> tuple[bytes, int]:
    options: dict[str, Any] = {"presentational_hints": False, "cache": _image_cache_bounded()}
    if archival:
        options["pdf_variant"] = ARCHIVAL_VARIANT
    try:
        document = HTML(
            string=html, base_url=TEMPLATE_DIR.as_uri() + "/", url_fetcher=TemplateFilesOnly()
        ).render(font_config=font_config(), **options)
        return document.write_pdf(**options), len(document.pages)
    except FatalURLFetchingError as error:  # a BaseException: name it or nothing catches it
        reason = error.__cause__ or error
        raise LetterRenderError(f"Letter rendering stopped: {reason}") from error


def render_pdf(template_name: str, context: Mapping[str, Any], *, archival: bool = False) -> bytes:
    """The letter as PDF bytes (PDF/A-3b when `archival`)."""
    return pdf_from_html(render_html(template_name, context), archival=archival)


def pdf_text(pdf_bytes: bytes) -> str:
    """All text of a PDF, page after page, as pypdf extracts it."""
    reader = PdfReader(BytesIO(pdf_bytes))
    return "\n".join(page.extract_text() for page in reader.pages)


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


# ---- versions ---------------------------------------------------------------------------------

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
        references = jinja2.meta.find_referenced_templates(_env.parse(source))
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


def known_templates() -> list[str]:
    """The letter templates a caller may render (files not starting with `_`)."""
    return sorted(p.name for p in TEMPLATE_DIR.glob("*.html") if not p.name.startswith("_"))


# ---- mail merge -------------------------------------------------------------------------------
#
# A variable-data printer's trick. In a mail-merge letter only four fixed-size boxes depend on
# the recipient (address window, reference line, salutation, footer letter id); the body —
# 95% of the layout work — is the same for everyone. So the batch lays the body out ONCE
# (mode "base": empty boxes), renders all recipients' boxes of a chunk in ONE cheap WeasyPrint
# pass (mode "overlay": the boxes alone, at the same places, one section per recipient with the
# same page count), and stamps overlay pages onto copies of the shared pages with pypdf. Every
# recipient still gets a standalone PDF. Chunks run in a process pool, one FontConfiguration
# per worker.

DEFAULT_CHUNK = 100
_OVERLAY_HEAD = (
    '<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
    '<link rel="stylesheet" href="letters.css">'
    "<style>@page {{ @bottom-right {{ content: none; }} }}</style></head><body>"
)


class SharedLayout(TypedDict):
    template_name: str
    common: dict[str, Any]
    base_pdf: bytes
    page_count: int
    lang: str


def render_batch(
    template_name: str,
    common_context: Mapping[str, Any],
    recipients: Sequence[RecipientContext],
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[tuple[str, bytes]]:
    """Yield (letter_id, pdf_bytes) per recipient, in order; each PDF carries the same text
    as render_pdf(template_name, {**common_context, "recipient": recipient}).

    `workers` None or 1 renders in this process; more uses a process pool (fork), each worker
    with its own FontConfiguration. Output is plain PDF 1.7, not PDF/A: archive copies come
    from render_pdf(..., archival=True). Raises
    ValidationFailed for a bad recipient (before any rendering) and ValueError for a template
    that is not a mail-merge template.
    """
    if template_name not in MERGE_TEMPLATES:
        raise ValueError(f"{template_name} is not a mail-merge template")
    for recipient in recipients:
        _validate_recipient(recipient)
    layout = shared_layout(template_name, common_context)
    chunks = [list(recipients[i : i + chunk_size]) for i in range(0, len(recipients), chunk_size)]
    if not workers or workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield from _merge_chunk(layout, chunk)
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(layout,)
    ) as pool:
        for results in pool.map(_merge_chunk_in_worker, chunks):
            yield from results


def shared_layout(template_name: str, common_context: Mapping[str, Any]) -> SharedLayout:
    """The body laid out once, with empty recipient boxes."""
    html = _render(template_name, common_context, mode="base")
    base_pdf, page_count = _write_pdf(html)
    lang_match = re.search(r'<html lang="([a-z-]+)"', html)
    return {
        "template_name": template_name,
        "common": dict(common_context),
        "base_pdf": base_pdf,
        "page_count": page_count,
        "lang": lang_match.group(1) if lang_match else "en",
    }


def _overlay_html(layout: SharedLayout, chunk: Sequence[RecipientContext]) -> str:
    sections = [
        _render(
            layout["template_name"],
            {**layout["common"], "recipient": recipient},
            mode="overlay",
            page_count=layout["page_count"],
        )
        for recipient in chunk
    ]
    return _OVERLAY_HEAD.format(lang=layout["lang"]) + "".join(sections) + "</body></html>"


def _merge_chunk(
    layout: SharedLayout, chunk: Sequence[RecipientContext]
) -> list[tuple[str, bytes]]:
    overlay_pdf, overlay_pages = _write_pdf(_overlay_html(layout, chunk))
    pages = layout["page_count"]
    if overlay_pages != pages * len(chunk):
        # A recipient box spilled onto an extra page: the stamps would no longer line up.
        raise LetterRenderError(
            f"Recipient overlay has {overlay_pages} pages, expected {pages * len(chunk)}."
        )
    base = _base_parts(layout["base_pdf"])
    overlay = _SerialisedPdf(overlay_pdf, offset=base["size"])
    return [
        (recipient["letter_id"], _stamp(base, overlay, first_page=index * pages))
        for index, recipient in enumerate(chunk)
    ]


# ---- a minimal PDF assembler for the stamping ------------------------------------------------
#
# pypdf's PdfWriter.merge_page re-parses the body's content stream and deep-copies every
# object for every letter (~8 ms). Here each object is serialised once per chunk; a letter is
# the base objects + its own overlay objects + new page dictionaries that draw the overlay page
# as a Form XObject on top of the untouched body stream. Only objects reachable from that
# recipient's overlay pages are written, so no letter carries another recipient's text.

_OVERLAY_NAME = b"/BDRecipientOverlay"
_PREFIX_STREAM = b"<</Length 2>>\nstream\nq\n\nendstream"
_SUFFIX_BODY = b"Q\nq " + _OVERLAY_NAME + b" Do Q\n"
_SUFFIX_STREAM = b"<</Length %d>>\nstream\n%b\nendstream" % (len(_SUFFIX_BODY), _SUFFIX_BODY)


def _pdf_bytes(obj: PdfObject, offset: int = 0) -> bytes:
    """`obj` serialised, with `offset` added to every object number it refers to."""
    if isinstance(obj, IndirectObject):
        return b"%d 0 R" % (obj.idnum + offset)
    if isinstance(obj, StreamObject):
        data = obj._data  # the stored (still encoded) bytes; pypdf has no public accessor
        items = {key: value for key, value in obj.items() if key != "/Length"}
        return (
            _dict_bytes(items, offset)[:-2]
            + b"/Length %d>>\nstream\n" % len(data)
            + data
            + b"\nendstream"
        )
    if isinstance(obj, DictionaryObject):
        return _dict_bytes(obj, offset)
    if isinstance(obj, ArrayObject):
        return b"[" + b" ".join(_pdf_bytes(item, offset) for item in obj) + b"]"
    buffer = BytesIO()
    obj.write_to_stream(buffer)
    return buffer.getvalue()


def _dict_bytes(items: Mapping[Any, PdfObject], offset: int) -> bytes:
    body = b"".join(
        _pdf_bytes(NameObject(key)) + b" " + _pdf_bytes(value, offset) + b"\n"
        for key, value in items.items()
    )
    return b"<<" + body + b">>"


def _references(obj: PdfObject) -> Iterator[int]:
    if isinstance(obj, IndirectObject):
        yield obj.idnum
    elif isinstance(obj, DictionaryObject):
        for value in obj.values():
            yield from _references(value)
    elif isinstance(obj, ArrayObject):
        for item in obj:
            yield from _references(item)


class _SerialisedPdf:
    """The objects of one PDF, serialised on first use and renumbered by `offset`."""

    def __init__(self, pdf: bytes, *, offset: int = 0) -> None:
        self.reader = PdfReader(BytesIO(pdf))
        self.offset = offset
        self.size = int(self.reader.trailer["/Size"])
        self.bodies: dict[int, bytes] = {}
        self._refs: dict[int, frozenset[int]] = {}

    def closure(self, start: PdfObject) -> set[int]:
        """Original numbers of every object reachable from `start`."""
        pending, seen = list(_references(start)), set()
        while pending:
            number = pending.pop()
            if number not in seen:
                seen.add(number)
                pending.extend(self._load(number))
        return seen

    def _load(self, number: int) -> frozenset[int]:
        if number not in self._refs:
            obj = self.reader.get_object(number)
            self.bodies[number] = _pdf_bytes(obj, self.offset)
            self._refs[number] = frozenset(_references(obj))
        return self._refs[number]


class _BaseParts(TypedDict):
    pdf: _SerialisedPdf
    size: int
    objects: dict[int, bytes]
    pages: list[tuple[int, DictionaryObject]]
    root: int
    info: int | None


@cache
def _base_parts_cached(base_pdf: bytes) -> _BaseParts:
    pdf = _SerialisedPdf(base_pdf)
    trailer = pdf.reader.trailer
    numbers = pdf.closure(ArrayObject([trailer.raw_get("/Root"), trailer.get("/Info")]))
    info = trailer.raw_get("/Info") if "/Info" in trailer else None
    return {
        "pdf": pdf,
        "size": pdf.size + 2,  # two shared streams follow the base objects
        "objects": {number: pdf.bodies[number] for number in numbers}
        | {pdf.size: _PREFIX_STREAM, pdf.size + 1: _SUFFIX_STREAM},
        "pages": [(page.indirect_reference.idnum, page) for page in pdf.reader.pages],
        "root": trailer.raw_get("/Root").idnum,
        "info": info.idnum if info is not None else None,
    }


def _base_parts(base_pdf: bytes) -> _BaseParts:
    if _base_parts_cached.cache_info().currsize > 4:
        _base_parts_cached.cache_clear()
    return _base_parts_cached(base_pdf)


def _stamp(base: _BaseParts, overlay: _SerialisedPdf, *, first_page: int) -> bytes:
    objects = dict(base["objects"])
    number = overlay.offset + overlay.size
    for index, (page_number, page) in enumerate(base["pages"]):
        stamp = overlay.reader.pages[first_page + index]
        for original in overlay.closure(stamp.raw_get("/Resources")):
            objects[original + overlay.offset] = overlay.bodies[original]
        objects[number] = _form_xobject(stamp, overlay.offset)
        objects[page_number] = _stamped_page(base, page, number)
        number += 1
    return _assemble(objects, root=base["root"], info=base["info"])


def _form_xobject(page: Any, offset: int) -> bytes:
    contents = page.raw_get("/Contents").get_object()
    if isinstance(contents, StreamObject):
        data = contents._data
        extra = {key: contents[key] for key in ("/Filter", "/DecodeParms") if key in contents}
    else:
        data = b"\n".join(part.get_object().get_data() for part in contents)
        extra = {}
    head = {
        "/Type": NameObject("/XObject"),
        "/Subtype": NameObject("/Form"),
        "/BBox": page.mediabox,
        "/Resources": page.raw_get("/Resources"),
        **extra,
    }
    return (
        _dict_bytes(head, offset)[:-2]
        + b"/Length %d>>\nstream\n" % len(data)
        + data
        + b"\nendstream"
    )


def _stamped_page(base: _BaseParts, page: DictionaryObject, form_number: int) -> bytes:
    prefix, suffix = base["pdf"].size, base["pdf"].size + 1
    contents = page.raw_get("/Contents")
    refs = list(contents) if isinstance(contents, ArrayObject) else [contents]
    resources = page["/Resources"]
    xobjects = dict(resources.get("/XObject", {}))
    items = {key: value for key, value in page.items() if key not in ("/Contents", "/Resources")}
    return (
        _dict_bytes(items, 0)[:-2]
        + b"/Contents [%d 0 R " % prefix
        + b" ".join(_pdf_bytes(ref) for ref in refs)
        + b" %d 0 R]\n/Resources " % suffix
        + _dict_bytes({key: value for key, value in resources.items() if key != "/XObject"}, 0)[:-2]
        + b"/XObject "
        + _dict_bytes(xobjects, 0)[:-2]
        + _OVERLAY_NAME
        + b" %d 0 R>>>>>>" % form_number
    )


def _assemble(objects: Mapping[int, bytes], *, root: int, info: int | None) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%b\nendobj\n" % (number, objects[number])
    size = max(objects) + 1
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        if number in offsets:
            out += b"%010d 00000 n \n" % offsets[number]
        else:
            out += b"0000000000 65535 f \n"
    info_entry = b"/Info %d 0 R" % info if info is not None else b""
    out += b"trailer\n<</Size %d /Root %d 0 R %b>>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root,
        info_entry,
        xref_at,
    )
    return bytes(out)


_worker_layout: SharedLayout | None = None


def _init_worker(layout: SharedLayout) -> None:
    global _worker_layout
    _worker_layout = layout
    font_config()


def _merge_chunk_in_worker(chunk: Sequence[RecipientContext]) -> list[tuple[str, bytes]]:
    assert _worker_layout is not None, "worker started without _init_worker"
    return _merge_chunk(_worker_layout, chunk)


__all__: Sequence[str] = (
    "MissingLetterField",
    "LetterRenderError",
    "TemplateFilesOnly",
    "URLRefused",
    "render_html",
    "render_pdf",
    "pdf_from_html",
    "pdf_text",
    "template_version",
    "harfbuzz_subset_available",
    "logo_data_uri",
    "render_batch",
    "printable",
    "hhs_packet_json",
    "unprintable_characters",
)
