"""Page images of a stored PDF, so a reviewer reads the exact bytes in the page.

Rasterised by poppler's `pdftoppm` (Debian's poppler-utils, installed by .ci/run and the
README's set-up): the PDF goes in on stdin and the PNG comes out on stdout, so no decrypted
letter (PHI) is ever written to disk. Poppler is a separate renderer from WeasyPrint, so the
image shows what any PDF reader would show, not what our own layout believes it drew.
"""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO

from pypdf import PdfReader
from pypdf.errors import PdfReadError

PDFTOPPM = "pdftoppm"
DPI = 110  # a US Letter page becomes 935 × 1210 px: readable, ~60–120 KB per page
TIMEOUT_SECONDS = 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PreviewUnavailable(Exception):
    """The page image could not be made (no pdftoppm, a broken PDF, a page out of range)."""


def rasteriser_available() -> bool:
    return shutil.which(PDFTOPPM) is not None


def page_count(pdf: bytes) -> int:
    try:
        return len(PdfReader(BytesIO(pdf)).pages)
    except PdfReadError as error:
        raise PreviewUnavailable(f"The PDF cannot be read: {error}") from error


def page_png(pdf: bytes, page: int, *, dpi: int = DPI) -> bytes:
    """Page `page` (1-based) of `pdf` as PNG bytes. Raises PreviewUnavailable."""
    if not 1 <= page <= page_count(pdf):
        raise PreviewUnavailable(f"The letter has no page {page}.")
    executable = shutil.which(PDFTOPPM)
    if executable is None:
        raise PreviewUnavailable("pdftoppm (poppler-utils) is not installed on the server.")
    command = [executable, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page)]
    try:
        done = subprocess.run(
            [*command, "-singlefile", "-"],  # "-": the PDF on stdin; no output root: stdout
            input=pdf,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise PreviewUnavailable("Rasterising the page took too long.") from error
    if done.returncode != 0 or not done.stdout.startswith(PNG_SIGNATURE):
        message = done.stderr.decode("utf-8", "replace").strip()[:200]
        raise PreviewUnavailable(f"pdftoppm failed ({done.returncode}): {message}")
    return done.stdout
