"""The mail house's print file: many standalone letter PDFs as one PDF, common objects once.

Measured against the libraries (`.venv/bin/python bench/pdf_libraries.py --letters 300`, run
twice; CPU ms per letter, MB per 1,000 letters): combine 2.06 / 2.05 ms, 1.70 MB; pikepdf
Pdf.new + pages.extend + save 2.09 / 2.01 ms but 30.91 MB (qpdf merges no identical objects
across files); pikepdf plus a content-hash dedupe pass on its public API and object streams
6.29 / 5.42 ms, 1.03 MB; pypdf append + compress_identical_objects 13.60 / 12.69 ms, 8.90 MB.
The only library within the 5 MB goal is 3.05x / 2.64x slower, so this module stays; size
decided it, since plain pikepdf is as fast (1.01x / 0.98x) at 18 times the size.

Every letter of a mailing carries the same body fonts, colour profile and body content stream,
and the letters rendered in one overlay pass share that pass's font subsets. Embedding them once
per letter made a print file of 1,000 one-page letters ~32 MB. Here every object is interned by
its content: an object's key is its serialised bytes with each reference replaced by the output
number of the object it points to (so identical subtrees collapse bottom-up, a Merkle tree), and
an object already written is referenced instead of written again. The per-person PDFs are not
touched (they stay stored and hashed as they are); only the combined file shares objects.

A letter just rendered is added from the templates it was written from (`add_parts`): no
parsing at all. A letter read back from the store (a chunk resumed after another worker
stopped) is parsed, each distinct stored object once per print file.

Objects on a reference cycle (a page and an annotation pointing back at it) are written once per
letter, never shared: sharing them would need a fixed point and they are small. Pages are always
the letter's own, re-parented under one page tree.

Measured on the same 100 two-page batch letters (2 shared cores, other jobs running): pypdf's
PdfWriter.append (the previous combine) 32.2 MB per 1,000 letters and ~30 ms a letter; the same
plus compress_identical_objects() (pypdf's public API for this) 9.2 MB and ~34 ms, as it merges
identical leaf objects only, in one pass, after deep-copying everything; this module 1.9 MB and
~2 ms, because repeated objects are recognised by their stored bytes before pypdf parses them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from io import BytesIO
from typing import Protocol
from typing import cast

from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from pypdf.generic import IndirectObject

from incident_app.letters.pdf import LetterParts
from incident_app.letters.pdf_objects import PARENT
from incident_app.letters.pdf_objects import Template
from incident_app.letters.pdf_objects import assemble
from incident_app.letters.pdf_objects import template

_PAGES = 2  # object 1 is the catalogue, 2 the page tree; letters' objects follow


class PrintFileError(ValueError):
    """A letter PDF could not be read into the print file."""


class _Source(Protocol):
    """Where a letter's objects come from: its PDF bytes, or the parts it was written from."""

    def template(self, number: int, *, page: bool) -> Template: ...


class PrintFile:
    """Letters added one after another; `bytes()` is the combined PDF."""

    def __init__(self, title: str = "") -> None:
        self.title = title
        self.bodies: dict[int, bytes] = {}
        self.by_key: dict[bytes, int] = {}
        self.pages: list[int] = []
        self.next_number = _PAGES + 1
        # An object already written: (its template's segments, the numbers its holes get here)
        # -> its number here. Parsing a letter read back is most of that path's cost, and most
        # objects recur byte for byte in every letter: stored bytes -> template.
        self.memo: dict[tuple[tuple[bytes, ...], tuple[int, ...]], int] = {}
        self.parsed: dict[tuple[bytes, bool], Template] = {}

    def add(self, pdf: bytes) -> int:
        """Append the pages of one letter PDF (read back, e.g. from the store); returns how
        many it had."""
        try:
            reader = PdfReader(BytesIO(pdf))
            pages = [cast(IndirectObject, page.indirect_reference).idnum for page in reader.pages]
        except Exception as error:  # pypdf raises many types for a damaged file
            raise PrintFileError(f"A letter PDF could not be read: {error}") from error
        return self._add(_Parsed(self, reader, pdf), pages)

    def add_parts(self, parts: LetterParts) -> int:
        """Append one letter from the parts it was just written from (no parsing)."""
        return self._add(_Written(parts), parts.pages)

    def _add(self, source: _Source, pages: Iterable[int]) -> int:
        letter = _Letter(self, source)
        added = [letter.ref(number, page=True) for number in pages]
        self.pages.extend(added)
        return len(added)

    def allocate(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number

    def intern(self, body: bytes) -> int:
        key = hashlib.blake2b(body, digest_size=20).digest()
        number = self.by_key.get(key)
        if number is None:
            number = self.by_key[key] = self.allocate()
            self.bodies[number] = body
        return number

    def bytes(self) -> bytes:
        kids = b" ".join(b"%d 0 R" % number for number in self.pages)
        objects = {
            1: b"<</Type /Catalog /Pages %d 0 R>>" % _PAGES,
            _PAGES: b"<</Type /Pages /Count %d /Kids [%b]>>" % (len(self.pages), kids),
            **self.bodies,
        }
        info = None
        if self.title:  # a UTF-16BE text string: PDF 1.7 section 7.9.2.2
            info = self.allocate()
            objects[info] = b"<</Title <%b>>>" % ("\ufeff" + self.title).encode(
                "utf-16-be"
            ).hex().encode("ascii")
        return assemble(objects, root=1, info=info, size=self.next_number)


class _Written:
    """A letter's objects from the parts stamp_letter_parts wrote it from."""

    def __init__(self, parts: LetterParts) -> None:
        self.parts = parts

    def template(self, number: int, *, page: bool) -> Template:
        found = self.parts.template(number)
        if found is None:
            raise PrintFileError(f"PDF object {number} is referenced but missing")
        return found


class _Parsed:
    """A letter's objects parsed from its PDF bytes, each distinct stored object once per
    print file (templates are cached by the object's stored bytes)."""

    def __init__(self, out: PrintFile, reader: PdfReader, pdf: bytes) -> None:
        self.out, self.reader, self.pdf = out, reader, pdf
        self.offsets: dict[int, int] = reader.xref.get(0, {})
        # Each object's bytes run to where the next one starts (a stream may hold "endobj").
        starts = sorted(self.offsets.values())
        self.ends = dict(zip(starts, [*starts[1:], len(pdf)], strict=True))

    def template(self, number: int, *, page: bool) -> Template:
        raw = self.raw(number)
        found = self.out.parsed.get((raw, page)) if raw else None
        if found is None:
            obj = self.reader.get_object(number)
            if obj is None:
                raise PrintFileError(f"PDF object {number} is referenced but missing")
            if page and not isinstance(obj, DictionaryObject):
                raise PrintFileError(f"PDF page {number} is not a dictionary")
            found = template(obj, page=page)
            if raw:
                self.out.parsed[(raw, page)] = found
        return found

    def raw(self, number: int) -> bytes:
        """The object's stored bytes after "N G obj" (empty when not found plainly)."""
        offset = self.offsets.get(number)
        if offset is None:
            return b""
        start = self.pdf.find(b"obj", offset, offset + 40)
        return self.pdf[start + 3 : self.ends[offset]] if start >= 0 else b""


class _Letter:
    """One letter's objects being interned into the print file."""

    def __init__(self, out: PrintFile, source: _Source) -> None:
        self.out, self.source = out, source
        self.done: dict[int, int] = {}  # the letter's object number -> the print file's
        self.open: dict[int, int | None] = {}  # being written; a number once on a cycle

    def ref(self, number: int, *, page: bool = False) -> int:
        """The print file's number for the letter's object `number`, written if new."""
        if number in self.done:
            return self.done[number]
        if number in self.open:  # a cycle: this object gets a number of its own now
            cycle = self.open[number]
            if cycle is None:
                cycle = self.open[number] = self.out.allocate()
            return cycle
        self.open[number] = None
        found = self.source.template(number, page=page)
        numbers = tuple(_PAGES if ref == PARENT else self.ref(ref) for ref in found.refs)
        key = (found.segments, numbers)
        own = self.open.pop(number)
        known = self.out.memo.get(key) if own is None and not page else None
        if known is None:
            body = found.fill(numbers)
            if own is None and page:
                own = self.out.allocate()
            if own is not None:  # a page, or on a cycle: never shared
                self.out.bodies[own] = body
                known = own
            else:
                known = self.out.memo[key] = self.out.intern(body)
        self.done[number] = known
        return known


def combine(pdfs: Iterable[bytes | LetterParts], *, title: str = "") -> tuple[bytes, int]:
    """One PDF of all `pdfs` in order (the mail house's print file) and its page count; `title`
    is its document title (what pdfinfo and a reader's title bar show). A letter is its PDF
    bytes or, just rendered, the parts it was written from. Raises PrintFileError for a letter
    that cannot be read."""
    out = PrintFile(title)
    pages = sum(
        out.add_parts(pdf) if isinstance(pdf, LetterParts) else out.add(pdf) for pdf in pdfs
    )
    return out.bytes(), pages
