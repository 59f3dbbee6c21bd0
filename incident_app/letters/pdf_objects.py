"""PDF objects as byte templates: an object serialised once, its references left as holes.

The mail merge writes the same objects again and again under different numbers: the shared
body in every letter, an overlay's font subsets in each of its letters, and all of them once
more in the print file, renumbered. A `Template` is an object's bytes cut at each reference
(`segments`, one more than `refs`), so writing it under any numbering is a join, not a new
serialisation, and two objects are the same exactly when their segments and the numbers
their holes get are the same (how the print file shares them, print_file.py).

Streams keep their stored (still encoded) bytes: pypdf has no public accessor for them, so
`_data` is read here and nowhere else. `assemble` writes numbered objects as one PDF file.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from io import BytesIO
from typing import NamedTuple

from pypdf.generic import ArrayObject
from pypdf.generic import DictionaryObject
from pypdf.generic import IndirectObject
from pypdf.generic import NameObject
from pypdf.generic import PdfObject
from pypdf.generic import StreamObject

PARENT = -1  # the hole a page's /Parent leaves: its page tree, the letter's or the print file's


class Template(NamedTuple):
    """An object's bytes with a hole at every reference: segments[0] ref[0] segments[1] …"""

    segments: tuple[bytes, ...]
    refs: tuple[int, ...]

    def fill(self, numbers: Sequence[int]) -> bytes:
        """The object with the holes filled by `numbers`, one per ref, in order."""
        if not self.refs:
            return self.segments[0]
        out = bytearray(self.segments[0])
        for number, segment in zip(numbers, self.segments[1:], strict=True):
            out += b"%d 0 R" % number
            out += segment
        return bytes(out)

    def write(self, number: Callable[[int], int] | None = None) -> bytes:
        """The object with each ref replaced by number(ref) (as it is when `number` is None)."""
        return self.fill(self.refs if number is None else [number(ref) for ref in self.refs])

    def shifted(self, offset: int) -> Template:
        """The same object in a numbering `offset` higher (the PARENT hole stays)."""
        if not offset or not self.refs:
            return self
        return Template(self.segments, tuple(r if r == PARENT else r + offset for r in self.refs))


def constant(body: bytes) -> Template:
    """A template without references."""
    return Template((body,), ())


def template(obj: PdfObject, *, page: bool = False) -> Template:
    """`obj` serialised with a hole per reference; for a `page`, its /Parent is the PARENT hole
    (a page is re-parented wherever it goes)."""
    writer = _Writer()
    if page and isinstance(obj, DictionaryObject):
        writer.dictionary(obj.items(), page=True)
    else:
        writer.value(obj)
    return writer.done()


def stream_template(items: Iterable[tuple[str, PdfObject]], data: bytes) -> Template:
    """A stream object of dictionary `items` (any /Length is replaced) and stored `data`."""
    writer = _Writer()
    writer.stream(items, data)
    return writer.done()


_NAMES: dict[str, bytes] = {}


class _Writer:
    def __init__(self) -> None:
        self.segments: list[bytes] = []
        self.refs: list[int] = []
        self.buffer = bytearray()

    def done(self) -> Template:
        return Template((*self.segments, bytes(self.buffer)), tuple(self.refs))

    def hole(self, number: int) -> None:
        self.segments.append(bytes(self.buffer))
        self.buffer.clear()
        self.refs.append(number)

    def value(self, obj: PdfObject) -> None:
        if isinstance(obj, IndirectObject):
            self.hole(obj.idnum)
        elif isinstance(obj, StreamObject):
            self.stream(obj.items(), obj._data)
        elif isinstance(obj, DictionaryObject):
            self.dictionary(obj.items())
        elif isinstance(obj, ArrayObject):
            self.buffer += b"["
            for index, item in enumerate(obj):
                if index:
                    self.buffer += b" "
                self.value(item)
            self.buffer += b"]"
        else:
            out = BytesIO()
            obj.write_to_stream(out)
            self.buffer += out.getvalue()

    def dictionary(
        self, items: Iterable[tuple[str, PdfObject]], *, page: bool = False, extra: bytes = b""
    ) -> None:
        self.buffer += b"<<"
        for key, value in items:
            self.buffer += _name(key) + b" "
            if page and key == "/Parent":
                self.hole(PARENT)
            else:
                self.value(value)
            self.buffer += b"\n"
        self.buffer += extra + b">>"

    def stream(self, items: Iterable[tuple[str, PdfObject]], data: bytes) -> None:
        self.dictionary(
            ((k, v) for k, v in items if k != "/Length"), extra=b"/Length %d" % len(data)
        )
        self.buffer += b"\nstream\n" + data + b"\nendstream"


def _name(key: str) -> bytes:
    found = _NAMES.get(key)
    if found is None:
        out = BytesIO()
        NameObject(key).write_to_stream(out)
        found = _NAMES[key] = out.getvalue()
    return found


def assemble(
    objects: Mapping[int, bytes], *, root: int, info: int | None = None, size: int | None = None
) -> bytes:
    """One PDF file of numbered object bodies (a classic cross-reference table; numbers not
    given are free entries). `size` is one past the highest number (by default from `objects`)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%b\nendobj\n" % (number, objects[number])
    size = size if size is not None else max(objects) + 1
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        offset = offsets.get(number)
        out += b"%010d 00000 n \n" % offset if offset is not None else b"0000000000 65535 f \n"
    info_entry = b" /Info %d 0 R" % info if info is not None else b""
    out += b"trailer\n<</Size %d /Root %d 0 R%b>>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root,
        info_entry,
        xref_at,
    )
    return bytes(out)
