"""Letters as PDF: templates in, locked-down PDF bytes out.

The package owns turning a letter template and its context into PDF bytes: `render.py` (the
only module that imports WeasyPrint: `render_pdf`, the URL fetcher that allows nothing outside
letter_templates/), `templates.py` (where templates live, the Jinja environment),
`contexts.py` (what each template prints, as TypedDicts), `validation.py` (envelope-window
limits, letter ids, the logo), `glyphs.py` (only characters the shipped fonts can draw),
`versions.py` (template hashing and the files it covers), `snapshot.py` (a mail merge's
approved template files, rendered from memory), `ocr_portal.py` (the OCR breach portal's
section layout), `batch.py` (the mail merge) and `pdf.py` (text extraction and the object
serialiser the mail merge stamps with). It knows nothing about cases, the database or Flask.

This `__init__` re-exports the API other layers use (`from incident_app import letters;
letters.render_pdf(...)`); modules inside the package import each other directly.
"""

from __future__ import annotations

from incident_app.letters.batch import Merged
from incident_app.letters.batch import batch_page_count
from incident_app.letters.batch import merge_letters
from incident_app.letters.batch import render_batch
from incident_app.letters.contexts import BreachContext
from incident_app.letters.contexts import HhsReport
from incident_app.letters.contexts import IndividualNoticeContext
from incident_app.letters.contexts import OrganisationContext
from incident_app.letters.contexts import RecipientContext
from incident_app.letters.contexts import RiskAssessmentContext
from incident_app.letters.contexts import RiskFactor
from incident_app.letters.glyphs import printable
from incident_app.letters.glyphs import unprintable_characters
from incident_app.letters.ocr_portal import hhs_packet_json
from incident_app.letters.pdf import LetterParts
from incident_app.letters.pdf import pdf_text
from incident_app.letters.print_file import PrintFileError
from incident_app.letters.print_file import combine as combine_print_file
from incident_app.letters.render import EXERCISE_KEY
from incident_app.letters.render import EXERCISE_TEXT
from incident_app.letters.render import LetterRenderError
from incident_app.letters.render import LetterRenderTimeout
from incident_app.letters.render import MissingLetterField
from incident_app.letters.render import TemplateFilesOnly
from incident_app.letters.render import URLRefused
from incident_app.letters.render import exercise_mark
from incident_app.letters.render import harfbuzz_subset_available
from incident_app.letters.render import pdf_from_html
from incident_app.letters.render import render_html
from incident_app.letters.render import render_pdf
from incident_app.letters.snapshot import SnapshotError
from incident_app.letters.snapshot import TemplateSnapshot
from incident_app.letters.templates import MERGE_TEMPLATES
from incident_app.letters.templates import TEMPLATE_DIR
from incident_app.letters.templates import known_templates
from incident_app.letters.validation import ENROLLMENT_CODE
from incident_app.letters.validation import MAX_ADDRESS_LINE_LENGTH
from incident_app.letters.validation import MAX_ADDRESS_LINES
from incident_app.letters.validation import MAX_NAME_LENGTH
from incident_app.letters.validation import SAMPLE_ENROLLMENT_CODE
from incident_app.letters.validation import logo_data_uri
from incident_app.letters.versions import digests_version
from incident_app.letters.versions import template_files
from incident_app.letters.versions import template_version

__all__ = [
    "ENROLLMENT_CODE",
    "SAMPLE_ENROLLMENT_CODE",
    "EXERCISE_KEY",
    "EXERCISE_TEXT",
    "MAX_ADDRESS_LINES",
    "MAX_ADDRESS_LINE_LENGTH",
    "MAX_NAME_LENGTH",
    "MERGE_TEMPLATES",
    "PrintFileError",
    "SnapshotError",
    "TEMPLATE_DIR",
    "BreachContext",
    "HhsReport",
    "IndividualNoticeContext",
    "LetterParts",
    "LetterRenderError",
    "LetterRenderTimeout",
    "Merged",
    "MissingLetterField",
    "OrganisationContext",
    "RecipientContext",
    "RiskAssessmentContext",
    "RiskFactor",
    "TemplateFilesOnly",
    "TemplateSnapshot",
    "URLRefused",
    "exercise_mark",
    "harfbuzz_subset_available",
    "hhs_packet_json",
    "known_templates",
    "logo_data_uri",
    "merge_letters",
    "pdf_from_html",
    "batch_page_count",
    "combine_print_file",
    "digests_version",
    "pdf_text",
    "printable",
    "render_batch",
    "render_html",
    "render_pdf",
    "template_files",
    "template_version",
    "unprintable_characters",
]
