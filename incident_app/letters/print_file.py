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
from collections.abc import Mapping
from io import BytesIO
from typing import cast

from pypdf import PdfReader
from pypdf.generic import ArrayObject
from pypdf.generic import DictionaryObject
from pypdf.generic import IndirectObject
from pypdf.generic import NameObject
from pypdf.generic import PdfObject
from pypdf.generic import StreamObject

_PAGES = 2  # object 1 is the catalogue, 2 the page tree; letters' objects follow


class PrintFileError(ValueError):
    """A letter PDF could not be read into the print file."""


class PrintFile:
    """Letters added one after another; `bytes()` is the combined PDF."""

    def __init__(self, title: str = "") -> None:
        self.title = title
        self.bodies: dict[int, bytes] = {}
        self.by_key: dict[bytes, int] = {}
        self.pages: list[int] = []
        self.next_number = _PAGES + 1
        # Parsing is most of the cost, and most objects recur byte for byte in every letter:
        # an object's stored bytes -> (parsed, the numbers it refers to), and
        # (stored bytes, the print file's numbers for those references) -> its number here.
        self.parsed: dict[bytes, tuple[PdfObject, tuple[int, ...]]] = {}
        self.memo: dict[tuple[bytes, tuple[int, ...]], int] = {}

    def add(self, pdf: bytes) -> int:
        """Append the pages of one letter; returns how many it had."""
        try:
            reader = PdfReader(BytesIO(pdf))
            pages = [cast(IndirectObject, page.indirect_reference).idnum for page in reader.pages]
        except Exception as error:  # pypdf raises many types for a damaged file
            raise PrintFileError(f"A letter PDF could not be read: {error}") from error
        _Letter(self, reader, pdf).add_pages(pages)
        return len(pages)

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
        return _assemble(objects, size=self.next_number, info=info)


class _Letter:
    """One letter's objects being interned into the print file."""

    def __init__(self, out: PrintFile, reader: PdfReader, pdf: bytes) -> None:
        self.out, self.reader, self.pdf = out, reader, pdf
        self.offsets: dict[int, int] = reader.xref.get(0, {})
        # Each object's bytes run to where the next one starts (a stream may hold "endobj").
        starts = sorted(self.offsets.values())
        self.ends = dict(zip(starts, [*starts[1:], len(pdf)], strict=True))
        self.done: dict[int, int] = {}  # the letter's object number -> the print file's
        self.open: dict[int, int | None] = {}  # being written; a number once on a cycle

    def add_pages(self, pages: list[int]) -> None:
        for number in pages:
            self.out.pages.append(self.ref(number, page=True))

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
        raw = self.raw(number)
        obj, refs = self.parse(number, raw, page=page)
        key = (raw, tuple(self.ref(child) for child in refs))
        known = self.out.memo.get(key) if raw and not page else None
        if known is not None and self.open[number] is None:
            del self.open[number]
        else:
            known = self.write(number, obj, key, page=page)
        self.done[number] = known
        return known

    def parse(self, number: int, raw: bytes, *, page: bool) -> tuple[PdfObject, tuple[int, ...]]:
        cache_key = raw + b"%page" if page else raw
        found = self.out.parsed.get(cache_key) if raw else None
        if found is None:
            obj = self.reader.get_object(number)
            if obj is None:
                raise PrintFileError(f"PDF object {number} is referenced but missing")
            parent = ("/Parent",) if page else ()  # a page is re-parented, not followed up
            found = (obj, tuple(_references(obj, skip=parent)))
            if raw:
                self.out.parsed[cache_key] = found
        return found

    def write(
        self, number: int, obj: PdfObject, key: tuple[bytes, tuple[int, ...]], *, page: bool
    ) -> int:
        if page:
            if not isinstance(obj, DictionaryObject):
                raise PrintFileError(f"PDF page {number} is not a dictionary")
            body = self.dictionary(
                {k: v for k, v in obj.items() if k != "/Parent"},
                extra=b"/Parent %d 0 R" % _PAGES,
            )
        else:
            body = self.serialise(obj)
        own = self.open.pop(number)
        if own is None and page:
            own = self.out.allocate()
        if own is not None:  # a page, or on a cycle: never shared
            self.out.bodies[own] = body
            return own
        result = self.out.intern(body)
        if key[0]:
            self.out.memo[key] = result
        return result

    def raw(self, number: int) -> bytes:
        """The object's stored bytes after "N G obj" (empty when not found plainly)."""
        offset = self.offsets.get(number)
        if offset is None:
            return b""
        start = self.pdf.find(b"obj", offset, offset + 40)
        return self.pdf[start + 3 : self.ends[offset]] if start >= 0 else b""

    def serialise(self, obj: PdfObject) -> bytes:
        if isinstance(obj, IndirectObject):
            return b"%d 0 R" % self.ref(obj.idnum)
        if isinstance(obj, StreamObject):
            data = obj._data  # the stored (still encoded) bytes; pypdf has no public accessor
            head = self.dictionary({k: v for k, v in obj.items() if k != "/Length"})
            return head[:-2] + b"/Length %d>>\nstream\n%b\nendstream" % (len(data), data)
        if isinstance(obj, DictionaryObject):
            return self.dictionary(obj)
        if isinstance(obj, ArrayObject):
            return b"[" + b" ".join(self.serialise(item) for item in obj) + b"]"
        buffer = BytesIO()
        obj.write_to_stream(buffer)
        return buffer.getvalue()

    def dictionary(self, items: Mapping[str, PdfObject], extra: bytes = b"") -> bytes:
        body = b"".join(
            self.serialise(NameObject(key)) + b" " + self.serialise(value) + b"\n"
            for key, value in items.items()
        )
        return b"<<" + body + extra + b">>"


def _references(obj: PdfObject, skip: tuple[str, ...] = ()) -> list[int]:
    if isinstance(obj, IndirectObject):
        return [obj.idnum]
    if isinstance(obj, DictionaryObject):
        return [n for k, value in obj.items() if k not in skip for n in _references(value)]
    if isinstance(obj, ArrayObject):
        return [n for item in obj for n in _references(item)]
    return []


def combine(pdfs: Iterable[bytes], *, title: str = "") -> tuple[bytes, int]:
    """One PDF of all `pdfs` in order (the mail house's print file) and its page count; `title`
    is its document title (what pdfinfo and a reader's title bar show). Raises PrintFileError
    for a letter that cannot be read."""
    out = PrintFile(title)
    pages = sum(out.add(pdf) for pdf in pdfs)
    return out.bytes(), pages


def _assemble(objects: Mapping[int, bytes], *, size: int, info: int | None = None) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%b\nendobj\n" % (number, objects[number])
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        offset = offsets.get(number)
        out += b"%010d 00000 n \n" % offset if offset is not None else b"0000000000 65535 f \n"
    info_ref = b" /Info %d 0 R" % info if info is not None else b""
    out += b"trailer\n<</Size %d /Root 1 0 R%b>>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        info_ref,
        xref_at,
    )
    return bytes(out)
