"""PDF bytes after layout: text extraction, and the minimal assembler the mail merge stamps with.

Measured against the libraries (`.venv/bin/python bench/pdf_libraries.py --letters 300`, run
twice, CPU ms per letter on the same 300 letters): stamp_letter 0.57 / 0.67; pikepdf 10.18
(qpdf 12.4) Page.add_overlay 1.67 / 1.71, or 1.46 / 1.29 drawing the Form XObject without
coalescing the body's content; pypdf merge_page 14.71 / 16.06. This code is 2.56x / 1.93x
faster than the best library, above issue #20's 1.5x bar, so it stays; all outputs carry the
same text and pass qpdf --check. pikepdf's letters are smaller (28.3 KB, ours 39.2 KB) because
qpdf keeps WeasyPrint's object streams, which _assemble does not write.

pypdf's PdfWriter.merge_page re-parses the body's content stream and deep-copies every
object for every letter (~8 ms). Here each object is serialised once per chunk (as a template,
pdf_objects.py); a letter is the base objects + its own overlay objects + new page dictionaries
that draw the overlay page as a Form XObject on top of the untouched body stream. Only objects
reachable from that recipient's overlay pages are written, so no letter carries another
recipient's text. Each letter also comes with its `LetterParts` (the templates it was written
from), so the print file adds it without parsing it again (print_file.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from functools import cache
from io import BytesIO
from typing import Any
from typing import NamedTuple
from typing import TypedDict
from typing import cast

from pypdf import PdfReader
from pypdf.generic import ArrayObject
from pypdf.generic import DictionaryObject
from pypdf.generic import IndirectObject
from pypdf.generic import NameObject
from pypdf.generic import PdfObject
from pypdf.generic import StreamObject

from incident_app.letters.pdf_objects import PARENT
from incident_app.letters.pdf_objects import Template
from incident_app.letters.pdf_objects import assemble
from incident_app.letters.pdf_objects import constant
from incident_app.letters.pdf_objects import stream_template
from incident_app.letters.pdf_objects import template


def pdf_text(pdf_bytes: bytes) -> str:
    """All text of a PDF, page after page, as pypdf extracts it."""
    reader = PdfReader(BytesIO(pdf_bytes))
    return "\n".join(page.extract_text() for page in reader.pages)


_OVERLAY_NAME = "/BDRecipientOverlay"
_PREFIX_STREAM = b"<</Length 2>>\nstream\nq\n\nendstream"
_SUFFIX_BODY = b"Q\nq " + _OVERLAY_NAME.encode() + b" Do Q\n"
_SUFFIX_STREAM = b"<</Length %d>>\nstream\n%b\nendstream" % (len(_SUFFIX_BODY), _SUFFIX_BODY)


def _references(obj: PdfObject) -> Iterator[int]:
    if isinstance(obj, IndirectObject):
        yield obj.idnum
    elif isinstance(obj, DictionaryObject):
        for value in obj.values():
            yield from _references(value)
    elif isinstance(obj, ArrayObject):
        for item in obj:
            yield from _references(item)


class SerialisedPdf:
    """The objects of one PDF, serialised on first use and renumbered by `offset`."""

    def __init__(self, pdf: bytes, *, offset: int = 0) -> None:
        self.reader = PdfReader(BytesIO(pdf))
        self.offset = offset
        self.size = int(cast(int, self.reader.trailer["/Size"]))
        self.templates: dict[int, Template] = {}  # by original number, refs renumbered
        self.bodies: dict[int, bytes] = {}  # the same, written
        self._refs: dict[int, frozenset[int]] = {}  # original numbers

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
            if obj is None:
                raise ValueError(f"PDF object {number} is referenced but missing")
            own = template(obj)
            self._refs[number] = frozenset(own.refs)
            self.templates[number] = own.shifted(self.offset)
            self.bodies[number] = self.templates[number].write()
        return self._refs[number]


class LetterParts(NamedTuple):
    """One stamped letter as the templates it was written from, in its own numbering: enough
    to add it to a print file without parsing it (print_file.PrintFile.add_parts)."""

    shared: Mapping[int, Template]  # the body's objects: one mapping for every letter
    own: dict[int, Template]  # its overlay objects, form XObjects and pages (PARENT holes)
    pages: tuple[int, ...]

    def template(self, number: int) -> Template | None:
        found = self.own.get(number)
        return found if found is not None else self.shared.get(number)


class BaseParts(TypedDict):
    """The shared body PDF, serialised once: every letter of a batch starts from these."""

    pdf: SerialisedPdf
    size: int
    objects: dict[int, bytes]
    templates: dict[int, Template]
    pages: list[tuple[int, DictionaryObject]]
    parent: dict[int, int]  # page number -> its page tree's
    root: int
    info: int | None


@cache
def _base_parts_cached(base_pdf: bytes) -> BaseParts:
    pdf = SerialisedPdf(base_pdf)
    trailer = pdf.reader.trailer
    numbers = pdf.closure(ArrayObject([trailer.raw_get("/Root"), trailer.get("/Info")]))
    info = trailer.raw_get("/Info") if "/Info" in trailer else None
    streams = {pdf.size: _PREFIX_STREAM, pdf.size + 1: _SUFFIX_STREAM}
    # Pages read from a file always carry their own reference.
    pages: list[tuple[int, DictionaryObject]] = [
        (cast(IndirectObject, page.indirect_reference).idnum, page) for page in pdf.reader.pages
    ]
    return {
        "pdf": pdf,
        "size": pdf.size + 2,  # two shared streams follow the base objects
        "objects": {number: pdf.bodies[number] for number in numbers} | streams,
        "templates": {number: pdf.templates[number] for number in numbers}
        | {number: constant(body) for number, body in streams.items()},
        "pages": pages,
        "parent": {number: page.raw_get("/Parent").idnum for number, page in pages},
        "root": trailer.raw_get("/Root").idnum,
        "info": info.idnum if info is not None else None,
    }


def base_parts(base_pdf: bytes) -> BaseParts:
    """The parts of `base_pdf` (cached for the last few bodies: a batch reuses one)."""
    if _base_parts_cached.cache_info().currsize > 4:
        _base_parts_cached.cache_clear()
    return _base_parts_cached(base_pdf)


def stamp_letter(base: BaseParts, overlay: SerialisedPdf, *, first_page: int) -> bytes:
    """One standalone PDF: the body pages with overlay pages from `first_page` drawn on top."""
    return stamp_letter_parts(base, overlay, first_page=first_page)[0]


def stamp_letter_parts(
    base: BaseParts, overlay: SerialisedPdf, *, first_page: int
) -> tuple[bytes, LetterParts]:
    """stamp_letter, with the parts the letter was written from."""
    objects = dict(base["objects"])
    own: dict[int, Template] = {}
    number = overlay.offset + overlay.size
    for index, (page_number, page) in enumerate(base["pages"]):
        stamp = overlay.reader.pages[first_page + index]
        for original in overlay.closure(stamp.raw_get("/Resources")):
            own[original + overlay.offset] = overlay.templates[original]
            objects[original + overlay.offset] = overlay.bodies[original]
        own[number] = _form_xobject(stamp, overlay.offset)
        objects[number] = own[number].write()
        own[page_number] = _stamped_page(base, page, number)
        objects[page_number] = _in_tree(own[page_number], base["parent"][page_number])
        number += 1
    pdf = assemble(objects, root=base["root"], info=base["info"])
    return pdf, LetterParts(base["templates"], own, tuple(n for n, _ in base["pages"]))


def _in_tree(page: Template, parent: int) -> bytes:
    return page.write(lambda ref: parent if ref == PARENT else ref)


def _form_xobject(page: Any, offset: int) -> Template:
    contents = page.raw_get("/Contents").get_object()
    if isinstance(contents, StreamObject):
        data = contents._data  # the stored (still encoded) bytes, as pdf_objects does
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
    return stream_template(head.items(), data).shifted(offset)


def _stamped_page(base: BaseParts, page: DictionaryObject, form_number: int) -> Template:
    prefix, suffix = base["pdf"].size, base["pdf"].size + 1
    contents = page.raw_get("/Contents")
    refs = list(contents) if isinstance(contents, ArrayObject) else [contents]
    resources = cast(DictionaryObject, page["/Resources"])
    xobjects = DictionaryObject(
        cast(DictionaryObject, resources["/XObject"]) if "/XObject" in resources else {}
    )
    xobjects[NameObject(_OVERLAY_NAME)] = _ref(form_number)
    stamped = DictionaryObject(
        {key: value for key, value in page.items() if key not in ("/Contents", "/Resources")}
    )
    stamped[NameObject("/Contents")] = ArrayObject([_ref(prefix), *refs, _ref(suffix)])
    stamped[NameObject("/Resources")] = DictionaryObject(
        {key: value for key, value in resources.items() if key != "/XObject"}
    )
    cast(DictionaryObject, stamped["/Resources"])[NameObject("/XObject")] = xobjects
    return template(stamped, page=True)


def _ref(number: int) -> IndirectObject:
    return IndirectObject(number, 0, None)  # written only, never resolved: no reader needed
